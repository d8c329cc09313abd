"""Writes to observation sessions."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from observations.models import Document, ObservationSession
from research.models import Participant, Project, User
from research.validation import check_in_project, reject_unknown

SESSION_FIELDS = (
    "title",
    "site",
    "channel",
    "journey_stage",
    "started_at",
    "ended_at",
    "observer",
    "participants",
    "context",
    "goals",
)


def field_notes_title(session: ObservationSession) -> str:
    """The title of a session's field-notes document."""
    return f"Field notes — {session.title}"[:255]


def check_member(project: Project, field: str, user: User | None) -> None:
    if user is not None and not project.memberships.filter(user_id=user.pk).exists():
        raise ValidationError({field: "Must be a member of this project."})


def _check_session(session: ObservationSession, *, check_stage: bool = True) -> None:
    if session.ended_at and session.ended_at < session.started_at:
        raise ValidationError({"ended_at": "A session cannot end before it starts."})
    stages = session.project.journey_stages
    if check_stage and session.journey_stage and stages and session.journey_stage not in stages:
        raise ValidationError(
            {"journey_stage": f"Unknown journey stage; this project uses: {', '.join(stages)}."}
        )
    session.full_clean(exclude=["project", "observer", "participants"])


@transaction.atomic
def session_create(
    *,
    project: Project,
    title: str,
    started_at: datetime,
    observer: User | None = None,
    participants: list[Participant] | None = None,
    **fields: Any,
) -> ObservationSession:
    """Plan or log an observation session in `project`."""
    reject_unknown(fields, SESSION_FIELDS)
    check_member(project, "observer", observer)
    for participant in participants or []:
        check_in_project(project, "participants", participant)
    session = ObservationSession(
        project=project, title=title, started_at=started_at, observer=observer, **fields
    )
    _check_session(session)
    session.save()
    session.participants.set(participants or [])
    return session


@transaction.atomic
def session_update(*, session: ObservationSession, **changes: Any) -> ObservationSession:
    """Change a session's fields; `participants` replaces the set of people present."""
    reject_unknown(changes, SESSION_FIELDS)
    participants = changes.pop("participants", None)
    if "observer" in changes:
        check_member(session.project, "observer", changes["observer"])
    # A stage since renamed or removed from the project's list stays valid on the sessions filed
    # under it; only a new choice must come from the list.
    new_stage = changes.get("journey_stage", session.journey_stage) != session.journey_stage
    old_notes_title = field_notes_title(session)
    for field, value in changes.items():
        setattr(session, field, value)
    _check_session(session, check_stage=new_stage)
    session.save()
    # The field-notes document follows a renamed session, unless someone retitled it by hand.
    session.documents.filter(kind=Document.Kind.FIELD_NOTES, title=old_notes_title).update(
        title=field_notes_title(session)
    )
    if participants is not None:
        for participant in participants:
            check_in_project(session.project, "participants", participant)
        session.participants.set(participants)
    return session


@transaction.atomic
def session_delete(*, session: ObservationSession) -> None:
    """Delete a session and its field notes; documents made from it stay, unlinked."""
    session.delete()
