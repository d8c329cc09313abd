"""The access layer: the one place that decides whether a user may see or change project data.

Every project-scoped view calls `access_project` first and starts every query from the project it
returns. A project that does not exist and one the user is not a member of raise the same `Http404`;
a member whose role lacks the capability gets `PermissionDenied` (they can already see the project).
Objects inside a project are fetched with `access_object` from a query that starts at that
project, so an id from another project is a 404 exactly like a missing one.
"""

from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.http import Http404

from research.models import Job, Membership, Project
from research.roles import Capability, Role

M = TypeVar("M", bound=models.Model)

NOT_FOUND = "Not found."


@dataclass(frozen=True)
class ProjectAccess:
    """A project together with the caller's membership in it."""

    project: Project
    membership: Membership

    @property
    def role(self) -> Role:
        return Role(self.membership.role)

    def can(self, capability: Capability) -> bool:
        return self.role.can(capability)

    def require(self, capability: Capability) -> None:
        """Raise `PermissionDenied` unless the caller's role grants `capability`."""
        if not self.can(capability):
            raise PermissionDenied(
                f"Your role ({self.role.label.lower()}) cannot do this in this project."
            )


def access_project(
    user: AbstractBaseUser | AnonymousUser,
    slug: str,
    *,
    need: Capability = Capability.READ,
) -> ProjectAccess:
    """Return the project `slug` with the user's membership, or raise.

    Raises `Http404` when the project is missing or the user is not a member (indistinguishable),
    and `PermissionDenied` when the member's role does not grant `need`.
    """
    if not user.is_authenticated:
        raise Http404(NOT_FOUND)
    membership = (
        Membership.objects.select_related("project")
        .filter(project__slug=slug, user_id=user.pk)
        .first()
    )
    if membership is None:
        raise Http404(NOT_FOUND)
    access = ProjectAccess(project=membership.project, membership=membership)
    access.require(need)
    return access


def access_object(queryset: models.QuerySet[M] | models.Manager[M], pk: object) -> M:
    """Return object `pk` from a queryset that starts from an accessed project, or raise `Http404`.

    Pass a query built from `ProjectAccess.project` (e.g. `access.project.documents.all()`, or
    `FieldNote.objects.filter(session__project=access.project)`), never a model's global manager:
    an id from another project is then a 404 exactly like a missing one. Malformed ids are 404s too.
    """
    queryset = queryset.all()
    try:
        return queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(NOT_FOUND) from None


def access_job(user: AbstractBaseUser | AnonymousUser, job_id: object) -> Job:
    """Return a job the user may see: one of a project they belong to, or one they started."""
    if not user.is_authenticated:
        raise Http404(NOT_FOUND)
    visible = Job.objects.filter(
        models.Q(project__memberships__user_id=user.pk)
        | models.Q(project__isnull=True, created_by_id=user.pk)
    ).distinct()
    return access_object(visible, job_id)


def access_own_work(access: ProjectAccess, owner_id: object) -> None:
    """Allow changing a coder's own excerpt or memo; others' need EDIT_OTHERS_WORK."""
    if owner_id != access.membership.user_id:
        access.require(Capability.EDIT_OTHERS_WORK)
