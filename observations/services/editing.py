"""Changing a stored document's text: the one path, which keeps every offset pointing at the
same words. Semantics in observations/ANCHORING.md."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from observations.anchoring import OffsetMap, text_edit_hooks
from observations.models import Document, FieldNote, PiiCandidate, Sentence, SpeakerTurn
from observations.services.documents import document_queue_processing, save_document_text
from observations.text import normalise_text
from research.concurrency import version_claim, versions_bump
from research.models import Job, User

# Turn indexes are unique per document and Postgres checks that row by row inside one UPDATE, so
# renumbering goes through a range no real index reaches.
_RENUMBER_OFFSET = 1_000_000


@dataclass(frozen=True)
class TextEdit:
    """What an edit did: the offset map, excerpts moved unchanged, excerpts flagged for review,
    turns removed because all their words were deleted, and the processing job (None when the
    text did not change)."""

    offset_map: OffsetMap
    moved: int = 0
    flagged: int = 0
    turns_removed: int = 0
    job: Job | None = None


@transaction.atomic
def document_set_text(
    *,
    document: Document,
    text: str,
    user: User | None = None,
    expected_version: int | None = None,
) -> TextEdit:
    """Replace a document's text, re-anchoring everything that points into it.

    Guarantees, in one transaction: the text is normalised and saved with `char_count` and
    `text_version + 1`; speaker turns and field-note ranges follow the words they contain (a turn
    whose words were all deleted is removed, the rest renumbered); sentences and pending PII
    candidates are deleted and the processing job re-creates them after commit; every registered
    text-edit hook (excerpt re-anchoring) has run. Text equal to the stored text changes nothing.
    `document` is updated in place. When `expected_version` is given, the edit is a
    compare-and-swap on `version`: `VersionConflict` and nothing written if it changed since.
    """
    new_text = normalise_text(text)
    if not new_text.strip():
        raise ValidationError({"text": "The document has no text."})
    if len(new_text) > settings.VERBATIM_MAX_DOCUMENT_CHARS:
        raise ValidationError(
            {"text": f"Longer than the limit of {settings.VERBATIM_MAX_DOCUMENT_CHARS} characters."}
        )
    # Lock the row and diff against the stored text, not the caller's copy, so two concurrent
    # edits are applied one after the other instead of the second mapping through a stale diff.
    if expected_version is not None:
        version_claim(document, expected_version)
    stored = (
        Document.objects.select_for_update()
        .only("text", "text_version", "version")
        .get(pk=document.pk)
    )
    offset_map = OffsetMap.from_texts(stored.text, new_text)
    if offset_map.unchanged:
        document.text, document.text_version = stored.text, stored.text_version
        return TextEdit(offset_map=offset_map)
    if expected_version is None:
        # Internal callers (a field note's edit, a PII redaction) diff against the locked row,
        # so they cannot overwrite; they still raise the version so open editors see the change.
        versions_bump(Document.objects.filter(pk=document.pk))
        document.version = stored.version + 1

    document.text = new_text
    document.char_count = len(new_text)
    document.text_version = stored.text_version + 1
    document.status = Document.Status.PENDING
    save_document_text(
        document, update_fields=["text", "char_count", "text_version", "status", "updated_at"]
    )

    turns_removed = _remap_turns(document, offset_map)
    if document.kind == Document.Kind.FIELD_NOTES and document.session_id is not None:
        _remap_notes(document, stored.text, offset_map)
    Sentence.objects.filter(document=document).delete()
    PiiCandidate.objects.filter(document=document, status=PiiCandidate.Status.PENDING).delete()
    _carry_decided_candidates(document, stored.text_version, offset_map)

    moved = flagged = 0
    for hook in text_edit_hooks():
        result = hook(document, offset_map)
        moved += result.moved
        flagged += result.flagged
    job = document_queue_processing(document=document, user=user)
    return TextEdit(
        offset_map=offset_map, moved=moved, flagged=flagged, turns_removed=turns_removed, job=job
    )


def _carry_decided_candidates(document: Document, version: int, offset_map: OffsetMap) -> None:
    """Accepted and rejected PII candidates whose words survived move with them to the new text
    version, so an owner's decision is not asked for again. Others stay on the old version, where
    the PII service sees them as decided on a text that has changed."""
    decided = list(
        PiiCandidate.objects.filter(
            document=document,
            text_version=version,
            status__in=(PiiCandidate.Status.ACCEPTED, PiiCandidate.Status.REJECTED),
        )
    )
    carried = []
    for candidate in decided:
        span = offset_map.exact(candidate.start, candidate.end)
        if span.intact:
            candidate.start, candidate.end = span.start, span.end
            candidate.text_version = document.text_version
            carried.append(candidate)
    PiiCandidate.objects.bulk_update(carried, ["start", "end", "text_version"])


def _remap_turns(document: Document, offset_map: OffsetMap) -> int:
    turns = list(SpeakerTurn.objects.filter(document=document).order_by("index"))
    kept: list[SpeakerTurn] = []
    gone: list[int] = []
    for turn in turns:
        turn.start, turn.end = offset_map.contain(turn.start, turn.end)
        if turn.start < turn.end:
            kept.append(turn)
        else:
            gone.append(turn.pk)
    if gone:
        SpeakerTurn.objects.filter(pk__in=gone).delete()
        for turn in kept:
            turn.index += _RENUMBER_OFFSET
        SpeakerTurn.objects.bulk_update(kept, ["index"])
        for new_index, turn in enumerate(kept):
            turn.index = new_index
    SpeakerTurn.objects.bulk_update(kept, ["start", "end", "index"])
    return len(gone)


def _remap_notes(document: Document, old_text: str, offset_map: OffsetMap) -> None:
    notes = list(
        FieldNote.objects.filter(session_id=document.session_id, document_start__isnull=False)
    )
    for note in notes:
        if note.document_start is None or note.document_end is None:
            continue
        start, end = offset_map.contain(note.document_start, note.document_end)
        if start < end:
            # A note in step with the document keeps showing the words that are coded there. One
            # that is not (note_update saves the note's new text first) is left to its caller.
            if note.text == old_text[note.document_start : note.document_end]:
                note.text = document.text[start:end]
            note.document_start, note.document_end = start, end
        elif note.document_start == note.document_end:
            note.document_start = note.document_end = start
        else:
            # A note whose words were all deleted no longer stands anywhere in the document.
            note.document_start = note.document_end = None
    FieldNote.objects.bulk_update(notes, ["document_start", "document_end", "text"])
