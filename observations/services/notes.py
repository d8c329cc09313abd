"""Writes to field notes, keeping the session's field-notes document in step.

Design note — one codable document per session
-----------------------------------------------
A session's notes form one `Document` (kind "field_notes"), created with the first note. Each note
is one block, blocks separated by a blank line::

    10:42 · Quote · P03: It took me three tries to find the SIM slot.

    10:44 · Observation: She turns the box over twice before opening it.

A note's `document_start`/`document_end` cover only its words (after the "time · kind · who: "
prefix), the way a speaker turn covers what was said and not the speaker's name, so coding "the
whole note" never drags the prefix into an excerpt's quoted text.

The document is append-only in *arrival* order: a note whose `observed_at` is earlier than the last
note's (typed up later, or sent late from an offline phone) still goes at the end, with its own
time in the prefix. Inserting it in time order would move every later offset, and excerpts already
made on those notes would have to be re-anchored for a mere arrival; appending never moves an
existing offset. Editing or deleting a note does change text in the middle, so it goes through
`observations.services.editing.document_set_text`, which re-anchors excerpts, turns and note
ranges through a diff; the edited note's own range is then set explicitly.

Retries: a phone that lost the server's answer sends the same note again. Without a column to
store the client's id, `note_create` treats a note with the same session, author, `observed_at`
and text created in the last `DUPLICATE_WINDOW` as that retry and returns it.
"""

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from observations.models import Document, FieldNote, ObservationSession
from observations.services.documents import (
    document_create,
    document_queue_processing,
    save_document_text,
)
from observations.services.sessions import field_notes_title
from observations.text import normalise_text
from research.models import Participant, User
from research.validation import check_in_project, reject_unknown

NOTE_FIELDS = ("observed_at", "kind", "text", "participant")
BLOCK_SEPARATOR = "\n\n"
ALL_DELETED = "(Every note of this session was deleted.)"
# Long enough for a phone that retries from a queue for a while; short enough that writing the very
# same words at the very same second twice on purpose is not a real case.
DUPLICATE_WINDOW = timedelta(minutes=30)
KIND_LABELS: dict[str, str] = {
    FieldNote.Kind.OBSERVATION: "Observation",
    FieldNote.Kind.QUOTE: "Quote",
    FieldNote.Kind.INTERPRETATION: "Interpretation",
    FieldNote.Kind.QUESTION: "Question",
}


def note_prefix(note: FieldNote) -> str:
    """The text before a note's words in its block: "10:42 · Quote · P03: "."""
    parts = [
        timezone.localtime(note.observed_at).strftime("%H:%M"),
        KIND_LABELS.get(note.kind, note.kind),
    ]
    if note.participant is not None:
        parts.append(note.participant.pseudonym)
    return " · ".join(parts) + ": "


def _clean_text(text: str) -> str:
    cleaned = normalise_text(text).strip()
    if not cleaned:
        raise ValidationError({"text": "A field note needs some text."})
    return cleaned


def _find_retry(
    session: ObservationSession, author: User, observed_at: datetime, text: str
) -> FieldNote | None:
    return (
        session.notes.filter(
            author=author,
            observed_at=observed_at,
            text=text,
            created_at__gte=timezone.now() - DUPLICATE_WINDOW,
        )
        .order_by("id")
        .first()
    )


def _append(session: ObservationSession, note: FieldNote, author: User) -> None:
    """Append `note`'s block to the session's field-notes document and store its range."""
    document = (
        Document.objects.select_for_update()
        .filter(session=session, kind=Document.Kind.FIELD_NOTES)
        .first()
    )
    prefix = note_prefix(note)
    if document is None:
        document, _job = document_create(
            project=session.project,
            creator=author,
            title=field_notes_title(session),
            text=prefix + note.text,
            kind=Document.Kind.FIELD_NOTES,
            session=session,
            recorded_at=session.started_at,
        )
        note.document_start = len(prefix)
    else:
        head = document.text + BLOCK_SEPARATOR if document.text else ""
        note.document_start = len(head) + len(prefix)
        document.text = head + prefix + note.text
        document.char_count = len(document.text)
        document.text_version += 1
        document.status = Document.Status.PENDING
        save_document_text(
            document, update_fields=["text", "char_count", "text_version", "status", "updated_at"]
        )
        document_queue_processing(document=document, user=author)
    note.document_end = note.document_start + len(note.text)
    note.save(update_fields=["document_start", "document_end"])


@transaction.atomic
def note_create(
    *,
    session: ObservationSession,
    author: User,
    observed_at: datetime,
    text: str,
    kind: str = FieldNote.Kind.OBSERVATION,
    participant: Participant | None = None,
    client_id: Any = None,
) -> FieldNote:
    """Add a field note to a session and append it to the session's field-notes document.

    Offsets of earlier notes and excerpts never move. `client_id` (a UUID the client made) marks
    a submission the client may retry: a note identical to one created in the last
    `DUPLICATE_WINDOW` is returned instead of being created twice.
    """
    check_in_project(session.project, "participant", participant)
    cleaned = _clean_text(text)
    # Lock the session so that notes posted at once append one after the other (and only one of
    # them creates the document); the document row itself is locked in `_append`.
    session = ObservationSession.objects.select_for_update().get(pk=session.pk)
    if client_id is not None:
        retry = _find_retry(session, author, observed_at, cleaned)
        if retry is not None:
            return retry
    note = FieldNote(
        session=session,
        author=author,
        observed_at=observed_at,
        text=cleaned,
        kind=kind,
        participant=participant,
    )
    note.full_clean(exclude=["session", "author", "participant"])
    note.save()
    _append(session, note, author)
    return note


def _locked_document(note: FieldNote) -> Document | None:
    if note.document_start is None or note.document_end is None:
        return None
    return (
        Document.objects.select_for_update()
        .filter(session_id=note.session_id, kind=Document.Kind.FIELD_NOTES)
        .first()
    )


def _block_start(text: str, note: FieldNote) -> int:
    # The prefix sits on the line where the note's words begin (pseudonyms hold no newline).
    assert note.document_start is not None
    return text.rfind("\n", 0, note.document_start) + 1


@transaction.atomic
def note_update(*, note: FieldNote, user: User | None = None, **changes: Any) -> FieldNote:
    """Change a field note's time, kind, text or participant; its block in the field-notes
    document is rewritten through `document_set_text`, so excerpts elsewhere stay anchored."""
    from observations.services.editing import document_set_text

    reject_unknown(changes, NOTE_FIELDS)
    if "participant" in changes:
        check_in_project(note.session.project, "participant", changes["participant"])
    if "text" in changes:
        changes["text"] = _clean_text(changes["text"])
    for field, value in changes.items():
        setattr(note, field, value)
    note.full_clean(exclude=["session", "author", "participant"])
    note.save()
    document = _locked_document(note)
    if document is None:
        return note
    assert note.document_end is not None
    start = _block_start(document.text, note)
    prefix = note_prefix(note)
    new_text = document.text[:start] + prefix + note.text + document.text[note.document_end :]
    document_set_text(document=document, text=new_text, user=user)
    # The diff cannot know which new characters are this note's words: set its range explicitly.
    FieldNote.objects.filter(pk=note.pk).update(
        document_start=start + len(prefix), document_end=start + len(prefix) + len(note.text)
    )
    note.refresh_from_db()
    return note


@transaction.atomic
def note_delete(*, note: FieldNote, user: User | None = None) -> None:
    """Delete a field note and remove its block from the field-notes document (through
    `document_set_text`, so excerpts on it are flagged for review, never silently dropped)."""
    from observations.services.editing import document_set_text

    document = _locked_document(note)
    note.delete()
    if document is None:
        return
    assert note.document_end is not None
    text = document.text
    start, end = _block_start(text, note), note.document_end
    if text.startswith(BLOCK_SEPARATOR, end):
        end += len(BLOCK_SEPARATOR)  # take the blank line after the block with it
    elif start >= len(BLOCK_SEPARATOR) and text[:start].endswith(BLOCK_SEPARATOR):
        start -= len(BLOCK_SEPARATOR)  # the last block: take the blank line before it
    new_text = text[:start] + text[end:]
    # A document cannot be empty: when the last note goes, say so in its text (excerpts on the
    # deleted words are flagged for review by `document_set_text` either way).
    document_set_text(
        document=document, text=new_text if new_text.strip() else ALL_DELETED, user=user
    )
