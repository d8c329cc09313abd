"""Reads of assisted coding: the review queue, acceptance figures, similar passages.

Query counts do not grow with rows.
"""

import threading
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Count, F, FloatField, IntegerField, Max, Q, QuerySet, Value, When
from django.db.models.functions import Abs, Coalesce, Greatest, Least, Substr

from coding.models import Code, Excerpt, Suggester, Suggestion
from coding.suggest.training import Passage, covers, passages, suggest_unit
from observations.models import Document, Sentence, SpeakerTurn
from research.models import Project

if TYPE_CHECKING:
    from coding.suggest.similar import SimilarityIndex

CONTEXT_CHARS = 160
SIMILAR_MAX = 50
SIMILAR_CACHE_SIZE = 8


def suggestion_list(*, project: Project) -> QuerySet[Suggestion]:
    """The project's suggestions, uncertain first: pending ones before decided ones, then by
    |score − threshold| (a score near the code's threshold is the model's least certain call;
    0.5 for suggestions without one: pattern rules start there), then by id.

    Each row carries `document_title`, `code_name`, `decided_by_name` and up to CONTEXT_CHARS
    characters of text either side (`context_before`/`context_after`, cut in SQL so a long
    document's text is never loaded), in one query.
    """
    before_from = Greatest(F("start") - CONTEXT_CHARS + 1, Value(1))
    return (
        Suggestion.objects.filter(project=project)
        .annotate(
            document_title=F("document__title"),
            code_name=F("code__name"),
            decided_by_name=F("decided_by__username"),
            context_before=Substr(
                "document__text", before_from, Least(F("start"), Value(CONTEXT_CHARS))
            ),
            context_after=Substr("document__text", F("end") + 1, Value(CONTEXT_CHARS)),
            decided_rank=Case(
                When(status=Suggestion.Status.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            certainty=Abs(
                F("score") - Coalesce(F("threshold"), Value(0.5)), output_field=FloatField()
            ),
        )
        .order_by("decided_rank", "certainty", "id")
    )


def trim_context(before: str, after: str) -> tuple[str, str]:
    """Context cut back to whole words where the SQL cut fell inside the text (a context
    shorter than CONTEXT_CHARS reached the document's start or end: nothing to trim)."""
    if len(before) >= CONTEXT_CHARS and not before[0].isspace() and " " in before:
        before = before[before.index(" ") + 1 :]
    if len(after) >= CONTEXT_CHARS and not after[-1].isspace() and " " in after:
        after = after[: after.rindex(" ")]
    return before, after


def _acceptance(accepted: int, decided: int) -> float | None:
    return accepted / decided if decided else None


def suggestion_stats(*, project: Project) -> dict[str, Any]:
    """Acceptance per code and method, per pattern rule, and per method overall (two queries).

    acceptance = accepted / decided (None before any decision); pending counts are included.
    """
    from coding.suggest.patterns import describe

    rows = list(
        Suggestion.objects.filter(project=project)
        .values("code_id", "code__name", "method", "pattern")
        .annotate(
            pending=Count("id", filter=Q(status=Suggestion.Status.PENDING)),
            accepted=Count("id", filter=Q(status=Suggestion.Status.ACCEPTED)),
            rejected=Count("id", filter=Q(status=Suggestion.Status.REJECTED)),
        )
        .order_by("code__name", "code_id", "method", "pattern")
    )
    per_code: dict[tuple[int, str], dict[str, Any]] = {}
    per_pattern: dict[tuple[int, int], dict[str, Any]] = {}
    overall: dict[str, dict[str, Any]] = {}
    for row in rows:
        targets = [
            per_code.setdefault(
                (row["code_id"], row["method"]),
                {
                    "code": row["code_id"],
                    "code_name": row["code__name"],
                    "pattern": None,
                    "method": row["method"],
                },
            ),
            overall.setdefault(row["method"], {"method": row["method"]}),
        ]
        if row["method"] == Suggestion.Method.PATTERN and row["pattern"] is not None:
            targets.append(
                per_pattern.setdefault(
                    (row["code_id"], row["pattern"]),
                    {
                        "code": row["code_id"],
                        "code_name": row["code__name"],
                        "pattern": row["pattern"],
                    },
                )
            )
        for target in targets:
            for key in ("pending", "accepted", "rejected"):
                target[key] = target.get(key, 0) + row[key]
    rules = dict(
        Code.objects.filter(pk__in={code for code, _ in per_pattern}).values_list("id", "patterns")
    )
    for (code, index), entry in per_pattern.items():
        patterns = rules.get(code) or []
        # A rule edited away since keeps its figures; its text is gone.
        entry["pattern_text"] = describe(patterns[index]) if index < len(patterns) else None
    for entry in [*per_code.values(), *per_pattern.values(), *overall.values()]:
        entry["decided"] = entry["accepted"] + entry["rejected"]
        entry["acceptance"] = _acceptance(entry["accepted"], entry["decided"])
    return {
        "codes": list(per_code.values()),
        "patterns": list(per_pattern.values()),
        "overall": sorted(overall.values(), key=lambda entry: entry["method"]),
    }


def suggester_list(*, project: Project) -> QuerySet[Suggester]:
    """The project's suggester versions, newest first, without their artefacts."""
    return (
        Suggester.objects.filter(project=project)
        .defer("artefact")
        .select_related("job")
        .order_by("-version")
    )


# --- similar passages ------------------------------------------------------------------------


@dataclass(frozen=True)
class Indexed:
    """A project's passages (in `passages` order) with their similarity index."""

    version: tuple[Any, ...]
    passages: list[Passage]
    index: "SimilarityIndex"
    # document -> (starts, positions): its passages by start, for finding the ones a span touches
    by_document: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)

    def position(self, document: int, start: int, end: int) -> int | None:
        """The position of the passage `[start, end)` of `document`, or None if it is not one."""
        starts, positions = self.by_document.get(document, ([], []))
        at = bisect_left(starts, start)
        while at < len(starts) and starts[at] == start:
            if self.passages[positions[at]].end == end:
                return positions[at]
            at += 1
        return None

    def overlapping(self, document: int, start: int, end: int) -> list[int]:
        """Positions of the passages of `document` sharing at least one character with
        `[start, end)` (passages of a document do not overlap each other)."""
        starts, positions = self.by_document.get(document, ([], []))
        at = max(0, bisect_left(starts, start) - 1)
        found = []
        while at < len(starts) and starts[at] < end:
            if self.passages[positions[at]].end > start:
                found.append(positions[at])
            at += 1
        return found


_similar: "OrderedDict[int, Indexed]" = OrderedDict()
_similar_lock = threading.Lock()


def passages_version(project: Project) -> tuple[Any, ...]:
    """Changes whenever the project's passages can have changed (one or two queries):
    processing a document replaces its sentence rows (new ids); deleting it, or an edit that
    takes it out of "ready", removes them from the count."""
    unit = suggest_unit()
    ready = {"document__project": project, "document__status": Document.Status.READY}
    version: tuple[Any, ...] = (
        unit,
        *Sentence.objects.filter(**ready).aggregate(n=Count("id"), last=Max("id")).values(),
    )
    if unit == "turn":
        turns = SpeakerTurn.objects.filter(**ready).aggregate(n=Count("id"), last=Max("id"))
        version += tuple(turns.values())
    return version


def similar_index(project: Project) -> Indexed:
    """The project's passages and their similarity index, built once per process and kept
    until the passages change (one or two queries when cached, three more to rebuild)."""
    from coding.suggest.similar import SimilarityIndex

    version = passages_version(project)
    with _similar_lock:
        cached = _similar.get(project.pk)
        if cached is not None and cached.version == version:
            _similar.move_to_end(project.pk)
            return cached
        items = passages(project)
        by_document: dict[int, tuple[list[int], list[int]]] = {}
        for i, p in enumerate(items):  # in document and text order already
            starts, positions = by_document.setdefault(p.document, ([], []))
            starts.append(p.start)
            positions.append(i)
        built = Indexed(
            version,
            items,
            SimilarityIndex.build([(i, p.text) for i, p in enumerate(items)]),
            by_document,
        )
        _similar[project.pk] = built
        while len(_similar) > SIMILAR_CACHE_SIZE:
            _similar.popitem(last=False)
        return built


def similar_cache_clear() -> None:
    with _similar_lock:
        _similar.clear()


def coded_positions(indexed: Indexed, *, project: Project, code: int) -> set[int]:
    """Positions of the passages overlapping an excerpt of `code` (one query)."""
    found: set[int] = set()
    for document, start, end in Excerpt.objects.filter(project=project, code_id=code).values_list(
        "document_id", "start", "end"
    ):
        found.update(indexed.overlapping(document, start, end))
    return found


def similar_rows(*, excerpt: Excerpt, k: int) -> tuple[Indexed, list[tuple[int, float]]]:
    """The index and up to `k` (position, similarity) pairs, most similar first: passages
    resembling the excerpt's text, leaving out every passage that overlaps an excerpt of its
    code (the excerpt's own passage among them)."""
    indexed = similar_index(excerpt.project)
    exclude = coded_positions(indexed, project=excerpt.project, code=excerpt.code_id)
    exclude.update(indexed.overlapping(excerpt.document_id, excerpt.start, excerpt.end))
    return indexed, indexed.index.query(excerpt.text, k=k, exclude=exclude)


def passage_codes(spans: list[Passage]) -> dict[Passage, list[dict[str, Any]]]:
    """For each passage, the codes of the excerpts covering it (id and name, by name; one
    query whatever the number of passages and codes)."""
    documents = {p.document for p in spans}
    rows: dict[int, list[tuple[int, int, int, str]]] = {}
    for document, start, end, code, name in (
        Excerpt.objects.filter(document_id__in=documents)
        .order_by("code__name", "code_id")
        .values_list("document_id", "start", "end", "code_id", "code__name")
    ):
        rows.setdefault(document, []).append((start, end, code, name))
    result: dict[Passage, list[dict[str, Any]]] = {}
    for p in spans:
        codes: dict[int, str] = {}
        for start, end, code, name in rows.get(p.document, ()):
            if covers(p.start, p.end, start, end):
                codes.setdefault(code, name)
        result[p] = [{"id": code, "name": name} for code, name in codes.items()]
    return result


def similar_passages(*, excerpt: Excerpt, k: int = 10) -> list[dict[str, Any]]:
    """Up to `k` passages of the project resembling the excerpt's text, most similar first.

    Leaves out the excerpt's own passages and every passage already coded with its code (one
    overlapping an excerpt of it); `codes` lists the codes a passage does have (an excerpt of
    each covers it). Cached per process per project until its passages change; the query
    count does not grow with passages, excerpts or codes.
    """
    k = max(1, min(SIMILAR_MAX, k))
    indexed, found = similar_rows(excerpt=excerpt, k=k)
    hits = [(indexed.passages[i], score) for i, score in found]
    documents = {p.document for p, _ in hits}
    titles = dict(Document.objects.filter(pk__in=documents).values_list("id", "title"))
    codes = passage_codes([p for p, _ in hits])
    return [
        {
            "document": p.document,
            "document_title": titles.get(p.document, ""),
            "start": p.start,
            "end": p.end,
            "text": p.text,
            "score": round(score, 4),
            "codes": codes[p],
        }
        for p, score in hits
    ]
