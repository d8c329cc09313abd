"""Writes to documents and their speaker turns."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, OperationalError, transaction

from observations.models import Document, ObservationSession, SpeakerTurn
from observations.services.sessions import check_member
from observations.text import normalise_text
from research.concurrency import version_claim
from research.jobs import job_create, job_enqueue
from research.models import Job, Participant, Project, User
from research.validation import check_in_project, reject_unknown

DOCUMENT_FIELDS = ("title", "kind", "participant", "session", "recorded_at")
TOO_MANY_WORDS = (
    "This text has too many different words for the search index (PostgreSQL keeps at most 1 MB "
    "of distinct words per document); split it into smaller documents."
)


def save_document_text(document: Document, *, update_fields: list[str] | None = None) -> None:
    """Save a document whose text is new or changed.

    On PostgreSQL the full-text index (migration 0004) refuses a text whose distinct words need
    more than 1 MB; that is bad input, so it becomes a `ValidationError` on `text`, not a 500.
    """
    try:
        with transaction.atomic():
            document.save(update_fields=update_fields)
    except (DataError, OperationalError) as exc:  # psycopg: ProgramLimitExceeded
        if "tsvector" in str(exc):
            raise ValidationError({"text": TOO_MANY_WORDS}) from None
        raise


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
        check_member(project, where, turn.interviewer)
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
    save_document_text(document)
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
def document_update(
    *, document: Document, expected_version: int | None = None, **changes: Any
) -> Document:
    """Change a document's metadata. Its text changes only through the re-anchoring service.
    A compare-and-swap on `version` (default: as loaded): `VersionConflict` when it changed."""
    reject_unknown(changes, DOCUMENT_FIELDS)
    for field in ("participant", "session"):
        if field in changes:
            check_in_project(document.project, field, changes[field])
    for field, value in changes.items():
        setattr(document, field, value)
    document.full_clean(exclude=["project", "created_by", "participant", "session"])
    version_claim(document, expected_version)  # after the checks: a refusal leaves it as loaded
    document.save()
    return document


@transaction.atomic
def document_delete(*, document: Document, expected_version: int | None = None) -> None:
    """Delete a document with its turns, excerpts and memos about it, if it is still at
    `expected_version` (default: as loaded); otherwise `VersionConflict` and nothing deleted."""
    version_claim(document, expected_version)
    document.delete()
