"""Every write to observation sessions, field notes, documents and speaker turns."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from observations.models import Document, FieldNote, ObservationSession, SpeakerTurn
from observations.text import normalise_text
from research.jobs import job_create, job_enqueue
from research.models import Job, Participant, Project, User
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
NOTE_FIELDS = ("observed_at", "kind", "text", "participant")
DOCUMENT_FIELDS = ("title", "kind", "participant", "session", "recorded_at")


def _check_member(project: Project, field: str, user: User | None) -> None:
    if user is not None and not project.memberships.filter(user_id=user.pk).exists():
        raise ValidationError({field: "Must be a member of this project."})


def _check_session(session: ObservationSession) -> None:
    if session.ended_at and session.ended_at < session.started_at:
        raise ValidationError({"ended_at": "A session cannot end before it starts."})
    stages = session.project.journey_stages
    if session.journey_stage and stages and session.journey_stage not in stages:
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
    _check_member(project, "observer", observer)
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
        _check_member(session.project, "observer", changes["observer"])
    for field, value in changes.items():
        setattr(session, field, value)
    _check_session(session)
    session.save()
    if participants is not None:
        for participant in participants:
            check_in_project(session.project, "participants", participant)
        session.participants.set(participants)
    return session


@transaction.atomic
def session_delete(*, session: ObservationSession) -> None:
    """Delete a session and its field notes; documents made from it stay, unlinked."""
    session.delete()


@transaction.atomic
def note_create(
    *,
    session: ObservationSession,
    author: User,
    observed_at: datetime,
    text: str,
    kind: str = FieldNote.Kind.OBSERVATION,
    participant: Participant | None = None,
) -> FieldNote:
    """Add a field note to a session."""
    check_in_project(session.project, "participant", participant)
    note = FieldNote(
        session=session,
        author=author,
        observed_at=observed_at,
        text=normalise_text(text).strip(),
        kind=kind,
        participant=participant,
    )
    if not note.text:
        raise ValidationError({"text": "A field note needs some text."})
    note.full_clean(exclude=["session", "author", "participant"])
    note.save()
    return note


@transaction.atomic
def note_update(*, note: FieldNote, **changes: Any) -> FieldNote:
    """Change a field note's time, kind, text or participant."""
    reject_unknown(changes, NOTE_FIELDS)
    if "participant" in changes:
        check_in_project(note.session.project, "participant", changes["participant"])
    if "text" in changes:
        changes["text"] = normalise_text(changes["text"]).strip()
        if not changes["text"]:
            raise ValidationError({"text": "A field note needs some text."})
    for field, value in changes.items():
        setattr(note, field, value)
    note.full_clean(exclude=["session", "author", "participant"])
    note.save()
    return note


@transaction.atomic
def note_delete(*, note: FieldNote) -> None:
    """Delete a field note."""
    note.delete()


@dataclass(frozen=True)
class TurnInput:
    """A speaker turn as a caller gives it: offsets into the (already normalised) text."""

    start: int
    end: int
    speaker: str = ""
    participant: Participant | None = None
    interviewer: User | None = None
    started_at_ms: int | None = None
    ended_at_ms: int | None = None


def _check_turns(project: Project, text: str, turns: list[TurnInput]) -> None:
    previous_end = 0
    for index, turn in enumerate(turns):
        where = f"turns[{index}]"
        if not 0 <= turn.start < turn.end <= len(text):
            raise ValidationError(
                {where: f"Range [{turn.start}, {turn.end}) is outside the text (0..{len(text)})."}
            )
        if turn.start < previous_end:
            raise ValidationError({where: "Turns must be in order and must not overlap."})
        if turn.participant is not None and turn.interviewer is not None:
            raise ValidationError({where: "A turn is a participant's or an interviewer's."})
        check_in_project(project, where, turn.participant)
        _check_member(project, where, turn.interviewer)
        previous_end = turn.end


@transaction.atomic
def document_create(
    *,
    project: Project,
    creator: User | None,
    title: str,
    text: str,
    kind: str = Document.Kind.TRANSCRIPT,
    participant: Participant | None = None,
    session: ObservationSession | None = None,
    turns: list[TurnInput] | None = None,
    source_name: str = "",
    recorded_at: datetime | None = None,
) -> tuple[Document, Job]:
    """Create a document from text and queue its processing job.

    Text is normalised (NFC, `\\n`, no BOM). Turn offsets refer to the normalised text, so a caller
    that gives turns must send text that normalisation leaves unchanged.
    """
    normalised = normalise_text(text)
    if turns and normalised != text:
        raise ValidationError(
            {"text": "Send NFC text with \\n line endings when giving turn offsets."}
        )
    if not normalised.strip():
        raise ValidationError({"text": "The document has no text."})
    if len(normalised) > settings.VERBATIM_MAX_DOCUMENT_CHARS:
        raise ValidationError(
            {"text": f"Longer than the limit of {settings.VERBATIM_MAX_DOCUMENT_CHARS} characters."}
        )
    check_in_project(project, "participant", participant)
    check_in_project(project, "session", session)
    _check_turns(project, normalised, turns or [])
    document = Document(
        project=project,
        created_by=creator,
        title=title.strip(),
        text=normalised,
        char_count=len(normalised),
        kind=kind,
        participant=participant,
        session=session,
        source_name=source_name,
        recorded_at=recorded_at,
    )
    document.full_clean(exclude=["project", "created_by", "participant", "session"])
    document.save()
    SpeakerTurn.objects.bulk_create(
        SpeakerTurn(document=document, index=index, **turn.__dict__)
        for index, turn in enumerate(turns or [])
    )
    return document, document_queue_processing(document=document, user=creator)


def document_queue_processing(*, document: Document, user: User | None) -> Job:
    """Queue the processing job for a document (after commit)."""
    from observations.tasks import document_process

    job = job_create(
        kind="document_process",
        project=document.project,
        user=user,
        params={"document": document.pk},
    )
    return job_enqueue(job=job, task=document_process)


@transaction.atomic
def document_update(*, document: Document, **changes: Any) -> Document:
    """Change a document's metadata. Its text changes only through the re-anchoring service."""
    reject_unknown(changes, DOCUMENT_FIELDS)
    for field in ("participant", "session"):
        if field in changes:
            check_in_project(document.project, field, changes[field])
    for field, value in changes.items():
        setattr(document, field, value)
    document.full_clean(exclude=["project", "created_by", "participant", "session"])
    document.save()
    return document


@transaction.atomic
def document_delete(*, document: Document) -> None:
    """Delete a document with its turns, excerpts and memos about it."""
    document.delete()


def document_process(*, document: Document) -> dict[str, int]:
    """Check a document's turns against its text and mark it ready; returns its statistics.

    Idempotent: running it again on a ready document gives the same result.
    """
    from observations.text import word_count

    turns = list(document.turns.order_by("index"))
    document.status = Document.Status.PROCESSING
    document.save(update_fields=["status"])
    for turn in turns:
        if turn.end > len(document.text):
            document.status = Document.Status.FAILED
            document.save(update_fields=["status"])
            raise ValidationError(f"Turn {turn.index} ends beyond the text of {document.title!r}.")
    document.char_count = len(document.text)
    document.status = Document.Status.READY
    document.save(update_fields=["char_count", "status"])
    return {
        "document": document.pk,
        "characters": document.char_count,
        "words": word_count(document.text),
        "turns": len(turns),
    }
