"""What the learned suggester trains on: the project's passages, labelled by the coders' work.

A passage is a stored sentence of a ready document (setting `VERBATIM_SUGGEST_UNIT` =
"sentence", the default) or a speaker turn ("turn"; documents without turns fall back to their
sentences). Its offsets index `Document.text`.

Labels, for each passage of a document someone has coded (has at least one excerpt):

- it is a **positive** for code C if an excerpt of C *covers* it: the excerpt overlaps at least
  half of the passage, or lies wholly inside it (a coder who marks a short phrase has coded its
  sentence);
- for every other code it is a **negative**: coded text with other codes, and the text a coder
  read and left uncoded, both say "not C";
- a passage covered by a *rejected* suggestion of C is a negative for C unless an excerpt of C
  covers it (a person's coding outweighs another's rejection) — also in documents nobody coded.

Passages of documents nobody has coded, and not touched by a rejection, are unknown and left
out. Codes with fewer than `MIN_POSITIVES` positive passages are left out of the model (no
positives for them in the labels); archived codes too.
"""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings

from coding.models import Code, Excerpt, Suggestion
from observations.models import Document, Sentence, SpeakerTurn
from research.models import Project

if TYPE_CHECKING:  # the learner imports spaCy and scikit-learn: not in the web process's imports
    from coding.suggest.learner import TrainingSet

MIN_POSITIVES = 3
UNITS = ("sentence", "turn")


@dataclass(frozen=True, slots=True)
class Passage:
    """One unit of text the suggester scores: `[start, end)` of a document's text."""

    id: int
    document: int
    start: int
    end: int
    text: str


@dataclass
class Training:
    """A TrainingSet with what it was built from, for the suggester's record."""

    data: "TrainingSet"
    codes: list[int]  # the codes the model learns (>= MIN_POSITIVES positives each)
    positives: dict[int, int]  # positive passages per code, every non-archived code
    skipped: dict[int, int] = field(default_factory=dict)  # codes left out -> their positives
    negatives_from_rejections: int = 0


def suggest_unit() -> str:
    """The passage unit from settings, "sentence" unless set to "turn"."""
    unit = getattr(settings, "VERBATIM_SUGGEST_UNIT", "sentence")
    return unit if unit in UNITS else "sentence"


def covers(passage_start: int, passage_end: int, start: int, end: int) -> bool:
    """True if span `[start, end)` covers the passage: overlaps at least half of it, or lies
    wholly inside it."""
    overlap = min(passage_end, end) - max(passage_start, start)
    if overlap <= 0:
        return False
    inside = passage_start <= start and end <= passage_end
    return inside or 2 * overlap >= passage_end - passage_start


def _ranges(document_ids: Iterable[int], unit: str) -> dict[int, list[tuple[int, int, int]]]:
    """`(id, start, end)` of each document's passages, by start."""
    ids = list(document_ids)
    by_document: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    if unit == "turn":
        for pk, document, start, end in (
            SpeakerTurn.objects.filter(document_id__in=ids)
            .order_by("document_id", "start", "id")
            .values_list("id", "document_id", "start", "end")
        ):
            by_document[document].append((pk, start, end))
    missing = [pk for pk in ids if pk not in by_document]
    for pk, document, start, end in (
        Sentence.objects.filter(document_id__in=missing)
        .order_by("document_id", "start", "id")
        .values_list("id", "document_id", "start", "end")
    ):
        by_document[document].append((pk, start, end))
    return by_document


def passages(
    project: Project, *, documents: Sequence[int] | None = None, unit: str | None = None
) -> list[Passage]:
    """The passages of the project's ready documents (or of `documents` among them), in
    document and text order. Three queries whatever the size."""
    unit = unit or suggest_unit()
    ready = Document.objects.filter(project=project, status=Document.Status.READY)
    if documents is not None:
        ready = ready.filter(pk__in=list(documents))
    texts = dict(ready.values_list("id", "text"))
    result: list[Passage] = []
    for document, ranges in sorted(_ranges(texts, unit).items()):
        text = texts[document]
        for pk, start, end in ranges:
            if end <= len(text):  # stale rows of an edited document wait for reprocessing
                result.append(Passage(pk, document, start, end, text[start:end]))
    return result


def _covered(
    by_document: dict[int, list[Passage]], document: int, start: int, end: int
) -> list[Passage]:
    """The passages of `document` the span `[start, end)` covers."""
    items = by_document.get(document, [])
    # Passages are sorted by start and do not overlap: start from the first one that can.
    starts = [p.start for p in items]
    i = max(0, bisect_left(starts, start) - 1)
    found = []
    while i < len(items) and items[i].start < end:
        p = items[i]
        if covers(p.start, p.end, start, end):
            found.append(p)
        i += 1
    return found


def build_training(project: Project, *, unit: str | None = None) -> Training:
    """The project's TrainingSet as the module docstring defines it (a handful of queries)."""
    from coding.suggest.learner import TrainingSet

    all_passages = passages(project, unit=unit)
    by_document: dict[int, list[Passage]] = defaultdict(list)
    for p in all_passages:
        by_document[p.document].append(p)
    active = set(
        Code.objects.filter(project=project, is_archived=False).values_list("id", flat=True)
    )

    positive: dict[Passage, set[int]] = defaultdict(set)
    coded_documents: set[int] = set()
    for document, code, start, end in Excerpt.objects.filter(project=project).values_list(
        "document_id", "code_id", "start", "end"
    ):
        coded_documents.add(document)
        if code in active:
            for p in _covered(by_document, document, start, end):
                positive[p].add(code)

    rejected: set[Passage] = set()
    for document, start, end in Suggestion.objects.filter(
        project=project, status=Suggestion.Status.REJECTED
    ).values_list("document_id", "start", "end"):
        rejected.update(_covered(by_document, document, start, end))

    counts: dict[int, int] = dict.fromkeys(sorted(active), 0)
    for codes in positive.values():
        for code in codes:
            counts[code] += 1
    learned = [code for code, n in counts.items() if n >= MIN_POSITIVES]
    keep = set(learned)
    skipped = {code: n for code, n in counts.items() if code not in keep}

    texts: list[str] = []
    labels: list[frozenset[int]] = []
    from_rejections = 0
    for p in all_passages:
        if p.document not in coded_documents and p not in rejected:
            continue  # nobody looked at it: unknown
        if p in rejected:
            from_rejections += 1
        texts.append(p.text)
        labels.append(frozenset(positive.get(p, set()) & keep))
    return Training(
        data=TrainingSet(texts=texts, labels=labels),
        codes=learned,
        positives=counts,
        skipped=skipped,
        negatives_from_rejections=from_rejections,
    )
