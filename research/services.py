"""Every write to projects, memberships and participants.

Services are keyword-only, run in one transaction and raise `django.core.exceptions.ValidationError`
(with field names) for input that breaks a rule; the API turns that into a 400.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from research.models import Membership, Participant, Project, User
from research.roles import Role
from research.signals import send_analysis_data_changed
from research.validation import reject_unknown

PROJECT_FIELDS = ("name", "description", "language", "journey_stages", "retention_days")
PARTICIPANT_FIELDS = ("pseudonym", "customer_ref", "attributes", "consent")
DEFAULT_JOURNEY_STAGES = [
    "awareness",
    "purchase",
    "onboarding",
    "usage",
    "support",
    "renewal",
    "churn",
]


def _check_language(language: str) -> None:
    from django.conf import settings

    if language not in settings.VERBATIM_SPACY_MODELS:
        supported = ", ".join(sorted(settings.VERBATIM_SPACY_MODELS))
        raise ValidationError({"language": f"Unsupported language {language!r}; use {supported}."})


@transaction.atomic
def project_create(
    *,
    creator: User,
    slug: str,
    name: str,
    description: str = "",
    language: str = "en",
) -> Project:
    """Create a project with `creator` as its owner. The slug must be unused."""
    _check_language(language)
    if Project.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A project with slug {slug!r} already exists."})
    project = Project.objects.create(
        slug=slug,
        name=name,
        description=description,
        language=language,
        journey_stages=list(DEFAULT_JOURNEY_STAGES),
        created_by=creator,
    )
    Membership.objects.create(project=project, user=creator, role=Role.OWNER)
    return project


@transaction.atomic
def project_update(*, project: Project, **changes: Any) -> Project:
    """Change the editable fields of a project (not its slug, which URLs and scripts rely on)."""
    reject_unknown(changes, PROJECT_FIELDS)
    if "language" in changes:
        _check_language(changes["language"])
    for field, value in changes.items():
        setattr(project, field, value)
    project.full_clean(exclude=["slug"])
    project.save()
    return project


@transaction.atomic
def project_delete(*, project: Project) -> None:
    """Delete a project and everything in it (codes and excerpts restrict only outside deletes)."""
    project.delete()


def _owner_count(project: Project) -> int:
    return project.memberships.filter(role=Role.OWNER).count()


@transaction.atomic
def membership_create(*, project: Project, username: str, role: str) -> Membership:
    """Add an existing user to a project with `role`. A user has at most one membership."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": f"No user named {username!r}."})
    if project.memberships.filter(user=user).exists():
        raise ValidationError({"username": f"{username} is already a member of this project."})
    try:
        with transaction.atomic():
            return Membership.objects.create(project=project, user=user, role=role)
    except IntegrityError:  # a concurrent request added the same user
        raise ValidationError(
            {"username": f"{username} is already a member of this project."}
        ) from None


@transaction.atomic
def membership_update(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the project always keeps at least one owner."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and role != Role.OWNER and _owner_count(locked.project) <= 1:
        raise ValidationError({"role": "A project needs at least one owner."})
    locked.role = role
    locked.save(update_fields=["role"])
    return locked


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    """Remove a member; the last owner cannot be removed. Their excerpts and memos stay."""
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.OWNER and _owner_count(locked.project) <= 1:
        raise ValidationError({"role": "A project needs at least one owner."})
    locked.delete()


def _check_json_object(field: str, value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError({field: "Must be a JSON object."})


@transaction.atomic
def participant_create(
    *,
    project: Project,
    pseudonym: str,
    customer_ref: str = "",
    attributes: dict[str, Any] | None = None,
    consent: dict[str, Any] | None = None,
) -> Participant:
    """Create a participant; pseudonyms are unique within the project."""
    participant = Participant(
        project=project,
        pseudonym=pseudonym.strip(),
        customer_ref=customer_ref.strip(),
        attributes=attributes or {},
        consent=consent or {},
    )
    return _participant_save(participant)


@transaction.atomic
def participant_update(*, participant: Participant, **changes: Any) -> Participant:
    """Change a participant's pseudonym, customer ref, attributes or consent."""
    reject_unknown(changes, PARTICIPANT_FIELDS)
    for field, value in changes.items():
        setattr(participant, field, value.strip() if isinstance(value, str) else value)
    return _participant_save(participant)


def _participant_save(participant: Participant) -> Participant:
    _check_json_object("attributes", participant.attributes)
    _check_json_object("consent", participant.consent)
    if not participant.pseudonym:
        raise ValidationError({"pseudonym": "A participant needs a pseudonym."})
    clash = Participant.objects.filter(
        project_id=participant.project_id, pseudonym=participant.pseudonym
    ).exclude(pk=participant.pk)
    if clash.exists():
        raise ValidationError(
            {"pseudonym": f"Pseudonym {participant.pseudonym!r} is already used in this project."}
        )
    participant.full_clean(exclude=["project"], validate_unique=False)
    participant.save()
    send_analysis_data_changed(participant.project_id)
    return participant


@transaction.atomic
def participant_delete(*, participant: Participant) -> None:
    """Delete a participant. Their documents stay, unlinked (erasure is a separate service)."""
    send_analysis_data_changed(participant.project_id)
    participant.delete()
