"""Writes to field notes."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from observations.models import FieldNote, ObservationSession
from observations.text import normalise_text
from research.models import Participant, User
from research.validation import check_in_project, reject_unknown

NOTE_FIELDS = ("observed_at", "kind", "text", "participant")


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
