"""Reads of projects, members and participants. Query counts do not grow with rows."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, QuerySet

from research.models import Membership, Participant, Project


def project_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    """Projects the user is a member of, each annotated with `my_role`."""
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user_id=user.pk).annotate(
        my_role=F("memberships__role")
    )


def membership_list(*, project: Project) -> QuerySet[Membership]:
    """The project's members with their users, ordered by username."""
    return project.memberships.select_related("user").order_by("user__username")


def participant_list(*, project: Project) -> QuerySet[Participant]:
    """The project's participants, by pseudonym."""
    return project.participants.order_by("pseudonym", "id")
