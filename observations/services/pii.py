"""Writes for PII pseudonymisation: detection candidates, owners' decisions, the known-names
list, and applying replacements through the key table.

Real values are kept only in `PiiKeyEntry` (and the owner's `PiiKnownName` list): candidates
store offsets into a document version, never the text they point at. Design note in
observations/PII.md.
"""

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from observations import pii
from observations.models import (
    Document,
    FieldNote,
    PiiCandidate,
    PiiKeyEntry,
    PiiKind,
    PiiKnownName,
    SpeakerTurn,
)
from observations.services.editing import document_set_text
from research.models import Project, User

PSEUDONYM_LABELS = {
    PiiKind.PERSON: "Person",
    PiiKind.EMAIL: "Email",
    PiiKind.PHONE: "Phone",
    PiiKind.CARD: "Card",
}
DECIDABLE = (
    PiiCandidate.Status.PENDING,
    PiiCandidate.Status.ACCEPTED,
    PiiCandidate.Status.REJECTED,
)


def key_kind(kind: str) -> str:
    """The key-table kind of a candidate kind: every name, found by NER or listed, is a person,
    so the same person gets one pseudonym however they were found."""
    return PiiKind.PERSON if kind in pii.NAME_KINDS else kind


def _pseudonyms(project: Project) -> list[str]:
    keys = project.pii_keys.values_list("pseudonym", flat=True)
    chosen = project.pii_known_names.exclude(pseudonym="").values_list("pseudonym", flat=True)
    return [*keys, *chosen]


class _Spans:
    """Sorted spans (which may overlap each other) answering "does `[start, end)` touch one?"
    by bisection, so long documents with many decided candidates stay fast."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        self.spans = sorted(spans)
        self.starts = [s for s, _ in self.spans]
        self.longest = max((e - s for s, e in self.spans), default=0)

    def overlaps(self, start: int, end: int) -> bool:
        index = bisect_left(self.starts, end) - 1
        while index >= 0 and self.starts[index] > start - self.longest:
            if self.spans[index][1] > start:
                return True
            index -= 1
        return False


@transaction.atomic
def pii_detect(*, document: Document, person_spans: list[tuple[int, int]]) -> list[PiiCandidate]:
    """Replace the document's pending candidates for its current text version with fresh
    detections; decided candidates (accepted, rejected, applied) are kept, and nothing new is
    proposed where they stand or where a pseudonym already is.

    `person_spans` are the PERSON entities the NLP ingest found in `document.text`. Returns the
    new pending candidates, in text order.
    """
    version = document.text_version
    document.pii_candidates.filter(status=PiiCandidate.Status.PENDING).delete()
    decided = _Spans(
        document.pii_candidates.filter(text_version=version).values_list("start", "end")
    )
    project = document.project
    detections = pii.detect(
        document.text,
        person_spans=person_spans,
        known_names=list(project.pii_known_names.values_list("name", flat=True)),
        pseudonyms=_pseudonyms(project),
    )
    fresh = [
        PiiCandidate(
            document=document,
            text_version=version,
            kind=d.kind,
            start=d.start,
            end=d.end,
            source=d.source,
        )
        for d in detections
        if not decided.overlaps(d.start, d.end)
    ]
    return PiiCandidate.objects.bulk_create(fresh)


@transaction.atomic
def pii_refresh(*, project: Project, documents: Iterable[Document] | None = None) -> int:
    """Run detection again on the project's documents (after the known-names list changed),
    reusing the person spans NER proposed last time instead of running spaCy again.

    Returns the number of pending candidates afterwards.
    """
    targets = list(documents) if documents is not None else list(project.documents.all())
    total = 0
    for document in targets:
        spans = list(
            document.pii_candidates.filter(
                text_version=document.text_version,
                status=PiiCandidate.Status.PENDING,
                source=pii.SOURCE_NER,
            ).values_list("start", "end")
        )
        total += len(pii_detect(document=document, person_spans=spans))
    return total


@transaction.atomic
def pii_decide(*, candidate: PiiCandidate, status: str, user: User) -> PiiCandidate:
    """Record an owner's decision on a candidate: accepted (replace), rejected (keep) or back
    to pending. Applied candidates and candidates of an older text version cannot change."""
    if status not in DECIDABLE:
        raise ValidationError({"status": "Choose accepted, rejected or pending."})
    if candidate.status == PiiCandidate.Status.APPLIED:
        raise ValidationError({"status": "This value has already been replaced."})
    if candidate.text_version != candidate.document.text_version:
        raise ValidationError({"status": "The document changed since this was detected."})
    candidate.status = status
    candidate.decided_by = None if status == PiiCandidate.Status.PENDING else user
    candidate.save(update_fields=["status", "decided_by"])
    return candidate


@transaction.atomic
def pii_decide_kind(*, project: Project, kind: str, status: str, user: User) -> int:
    """Decide every pending candidate of `kind` in the project's current texts at once (the
    "accept all e-mails" shortcut). Returns how many changed."""
    if kind not in PiiKind.values:
        raise ValidationError({"kind": "Unknown kind."})
    if status not in (PiiCandidate.Status.ACCEPTED, PiiCandidate.Status.REJECTED):
        raise ValidationError({"status": "Choose accepted or rejected."})
    ids = list(
        PiiCandidate.objects.filter(
            document__project=project,
            kind=kind,
            status=PiiCandidate.Status.PENDING,
            text_version=F("document__text_version"),
        ).values_list("pk", flat=True)
    )
    return PiiCandidate.objects.filter(pk__in=ids).update(status=status, decided_by=user)


# --- known names ---------------------------------------------------------------------------


def _check_known_name(project: Project, name: str, pseudonym: str, exclude: int | None) -> None:
    errors: dict[str, str] = {}
    normalised = pii.normalise_name(name)
    others = project.pii_known_names.all()
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if not normalised:
        errors["name"] = "Enter the real name to look for."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    elif any(pii.normalise_name(n) == normalised for n in others.values_list("name", flat=True)):
        errors["name"] = "This name is already on the list."
    if len(pseudonym) > 100:
        errors["pseudonym"] = "At most 100 characters."
    elif pseudonym:
        if others.filter(pseudonym=pseudonym).exists():
            errors["pseudonym"] = "Another listed name already uses this pseudonym."
        elif (
            project.pii_keys.filter(kind=PiiKind.PERSON, pseudonym=pseudonym)
            .exclude(real_value=normalised)
            .exists()
        ):
            errors["pseudonym"] = "This pseudonym already stands for someone else."
        elif (
            project.pii_keys.filter(kind=PiiKind.PERSON, real_value=normalised)
            .exclude(pseudonym=pseudonym)
            .exists()
        ):
            errors["pseudonym"] = "This name was already replaced with another pseudonym."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def pii_known_name_create(*, project: Project, name: str, pseudonym: str = "") -> PiiKnownName:
    """Add a real name to the project's list (whitespace tidied) and look for it everywhere."""
    name, pseudonym = " ".join(name.split()), pseudonym.strip()
    _check_known_name(project, name, pseudonym, exclude=None)
    known = PiiKnownName.objects.create(project=project, name=name, pseudonym=pseudonym)
    pii_refresh(project=project)
    return known


@transaction.atomic
def pii_known_name_update(
    *, known_name: PiiKnownName, name: str | None = None, pseudonym: str | None = None
) -> PiiKnownName:
    """Change a listed name or its pseudonym, then look again everywhere."""
    new_name = " ".join((known_name.name if name is None else name).split())
    new_pseudonym = (known_name.pseudonym if pseudonym is None else pseudonym).strip()
    _check_known_name(known_name.project, new_name, new_pseudonym, exclude=known_name.pk)
    known_name.name, known_name.pseudonym = new_name, new_pseudonym
    known_name.save(update_fields=["name", "pseudonym"])
    pii_refresh(project=known_name.project)
    return known_name


@transaction.atomic
def pii_known_name_delete(*, known_name: PiiKnownName) -> None:
    """Remove a name from the list; replacements already made and their keys stay."""
    project = known_name.project
    known_name.delete()
    pii_refresh(project=project)


# --- applying ------------------------------------------------------------------------------


@dataclass
class ApplyResult:
    """What `pii_apply` did. `skipped` counts accepted candidates of an older text version."""

    documents: int = 0
    replaced: Counter[str] = field(default_factory=Counter)
    keys_created: int = 0
    speakers_renamed: int = 0
    excerpts_moved: int = 0
    excerpts_flagged: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "documents": self.documents,
            "replaced": dict(self.replaced),
            "keys_created": self.keys_created,
            "speakers_renamed": self.speakers_renamed,
            "excerpts_moved": self.excerpts_moved,
            "excerpts_flagged": self.excerpts_flagged,
            "skipped": self.skipped,
        }


class _Keys:
    """The project's key table during one apply: real value -> entry, creating entries with
    the next free `[Label N]` pseudonym or a listed name's chosen one."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.entries = {(k.kind, k.real_value): k for k in project.pii_keys.all()}
        self.taken = {(k.kind, k.pseudonym) for k in self.entries.values()}
        self.chosen = {
            pii.normalise_name(k.name): k.pseudonym
            for k in project.pii_known_names.exclude(pseudonym="")
        }
        self.created = 0

    def get(self, kind: str, value: str) -> PiiKeyEntry:
        kind = key_kind(kind)
        entry = self.entries.get((kind, value))
        if entry is None:
            pseudonym = self.chosen.get(value) if kind == PiiKind.PERSON else None
            if pseudonym is None or (kind, pseudonym) in self.taken:
                pseudonym = self._next(kind)
            entry = PiiKeyEntry.objects.create(
                project=self.project, kind=kind, real_value=value, pseudonym=pseudonym
            )
            self.entries[(kind, value)] = entry
            self.taken.add((kind, pseudonym))
            self.created += 1
        return entry

    def _next(self, kind: str) -> str:
        label = PSEUDONYM_LABELS.get(PiiKind(kind), "Value")
        number = 1 + sum(1 for k, _ in self.taken if k == kind)
        while (kind, f"[{label} {number}]") in self.taken:
            number += 1
        return f"[{label} {number}]"


@transaction.atomic
def pii_apply(
    *, project: Project, user: User | None, documents: Iterable[Document] | None = None
) -> ApplyResult:
    """Replace every accepted candidate's span with its pseudonym, the same real value getting
    the same pseudonym everywhere in the project.

    Each document's text changes once, through `document_set_text` (excerpts, turns and note
    ranges re-anchored). Afterwards the applied candidates link to their key entries and keep
    only offsets; speaker names, field-note texts and the quotes of flagged excerpts that held a
    replaced value show the pseudonym, in every document of the project. Accepted candidates of
    an older text version are skipped.
    """
    accepted = PiiCandidate.objects.filter(
        document__project=project, status=PiiCandidate.Status.ACCEPTED
    )
    if documents is not None:
        accepted = accepted.filter(document__in=[d.pk for d in documents])
    by_document: dict[int, list[PiiCandidate]] = {}
    for candidate in accepted.order_by("document_id", "start", "-end"):
        by_document.setdefault(candidate.document_id, []).append(candidate)
    keys = _Keys(project)
    result = ApplyResult()
    for document in project.documents.filter(pk__in=by_document).order_by("pk"):
        _apply_document(document, by_document[document.pk], keys, user, result)
    result.speakers_renamed = _rename_speakers(project, keys)
    result.keys_created = keys.created
    return result


def _apply_document(
    document: Document,
    candidates: list[PiiCandidate],
    keys: _Keys,
    user: User | None,
    result: ApplyResult,
) -> None:
    text = document.text
    version = document.text_version
    chosen: list[tuple[PiiCandidate, PiiKeyEntry, str]] = []
    last_end = -1
    for candidate in candidates:
        if candidate.text_version != version or candidate.end > len(text):
            result.skipped += 1
            continue
        if candidate.start < last_end:  # overlaps one already taken (sorted longest first)
            result.skipped += 1
            continue
        raw = text[candidate.start : candidate.end]
        entry = keys.get(candidate.kind, pii.normalise_value(candidate.kind, raw))
        chosen.append((candidate, entry, raw))
        last_end = candidate.end
    if not chosen:
        return
    pieces: list[str] = []
    position = 0
    for candidate, entry, _raw in chosen:
        pieces += [text[position : candidate.start], entry.pseudonym]
        position = candidate.end
    pieces.append(text[position:])
    edit = document_set_text(document=document, text="".join(pieces), user=user)

    for candidate, entry, _raw in chosen:
        candidate.status = PiiCandidate.Status.APPLIED
        candidate.key = entry
        result.replaced[candidate.kind] += 1
    PiiCandidate.objects.bulk_update([c for c, _, _ in chosen], ["status", "key"])

    surfaces = {raw: entry.pseudonym for _, entry, raw in chosen}
    _scrub_quotes(document, surfaces)
    result.documents += 1
    result.excerpts_moved += edit.moved
    result.excerpts_flagged += edit.flagged


def _rename_speakers(project: Project, keys: _Keys) -> int:
    """Speaker names anywhere in the project that equal a keyed person's name take the
    pseudonym, also in documents whose text never showed the name (turns carry it apart)."""
    speakers = (
        SpeakerTurn.objects.filter(document__project=project)
        .exclude(speaker="")
        .values_list("speaker", flat=True)
        .distinct()
    )
    renamed = 0
    for speaker in list(speakers):
        entry = keys.entries.get((PiiKind.PERSON, pii.normalise_name(speaker)))
        if entry is not None and entry.pseudonym != speaker:
            renamed += SpeakerTurn.objects.filter(
                document__project=project, speaker=speaker
            ).update(speaker=entry.pseudonym)
    return renamed


def _replace_surfaces(text: str, pattern: re.Pattern[str], surfaces: dict[str, str]) -> str:
    return pattern.sub(lambda m: surfaces[m.group()], text)


def _scrub_quotes(document: Document, surfaces: dict[str, str]) -> None:
    """Copies of the replaced words kept outside the document text get the pseudonym too: the
    field notes the document was built from, and the old quote a flagged excerpt keeps."""
    ordered = sorted(surfaces, key=len, reverse=True)
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(re.escape(s) for s in ordered)})(?!\w)")
    if document.kind == Document.Kind.FIELD_NOTES and document.session_id is not None:
        notes = list(FieldNote.objects.filter(session_id=document.session_id))
        for note in notes:
            if note.document_start is not None and note.document_end is not None:
                note.text = document.text[note.document_start : note.document_end]
            else:
                note.text = _replace_surfaces(note.text, pattern, surfaces)
        FieldNote.objects.bulk_update(notes, ["text"])
    # Excerpts belong to the coding app, which observations must not import; the reverse
    # relation reaches them without the import.
    excerpts = getattr(document, "excerpts", None)
    if excerpts is None:
        return
    changed = []
    for excerpt in excerpts.all():
        text = _replace_surfaces(excerpt.text, pattern, surfaces)
        reason = _replace_surfaces(excerpt.review_reason, pattern, surfaces)
        if (text, reason) != (excerpt.text, excerpt.review_reason):
            excerpt.text, excerpt.review_reason = text, reason
            changed.append(excerpt)
    if changed:
        type(changed[0]).objects.bulk_update(changed, ["text", "review_reason"])
