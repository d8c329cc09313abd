"""Theme × segment and theme × metric (issue 5); coverage and quotes are in `coding.evidence`.

This module gathers the evidence from the database and hands plain data to `coding.stats`, which
does every computation. What counts as evidence is decided here, once, for the API, the pages,
the exports and the hypotheses alike:

* **Whose words.** An excerpt belongs to the participant who speaks where it starts: the speaker
  turn containing its start if a participant speaks it, else the field note containing its start
  if the note names a participant, else the document's participant. Interviewer turns and
  unattributed notes fall back to the document's participant (the interview is still theirs);
  with ``customer_speech_only`` they are left out instead.
* **Customer speech** is text inside a turn spoken by a participant, a field note of kind "quote",
  or a survey answer. Observers' notes and interviewers' questions are not.
* **Observed participants** are the universe of the participant unit: participants with a segment
  who appear in at least one document that passes the source and date filters (as the document's
  participant, a speaker or a note's participant). Someone recruited but not yet interviewed does
  not lower a segment's prevalence.
* **Levels.** ``theme``: rows are the top-level codes and an excerpt counts for the theme at the
  root of its code (child codes rolled up). ``code``: rows are all codes in tree order and an
  excerpt counts for its own code only. Archived codes give no rows, but their excerpts stay
  evidence: an archived child still counts for its live theme, and every excerpt counts in its
  participant's excerpt total (the excerpt unit's denominator).
* **Dates.** A document's date is when it was recorded, else its session's start, else when it
  was added; ``date_from`` and ``date_to`` are inclusive calendar days (UTC).

Query counts are constant: they do not grow with participants, excerpts or codes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from coding import stats
from coding.models import Code, Excerpt
from observations.models import Document, FieldNote, SpeakerTurn
from research.models import CustomerSegment, Participant, Project, Segmentation
from research.services_segmentation import participant_segments

Level = Literal["theme", "code"]
LEVELS: tuple[str, ...] = ("theme", "code")
UNITS: tuple[str, ...] = ("participant", "excerpt")
SOURCES: tuple[str, ...] = tuple(Document.Kind.values)


def min_participants() -> int:
    """Participants a segment needs before any of its cells can count as a finding."""
    return int(getattr(settings, "VERBATIM_MIN_SEGMENT_PARTICIPANTS", 5))


@dataclass(frozen=True)
class Filters:
    """Which evidence counts. Empty ``sources`` means every document kind."""

    sources: frozenset[str] = frozenset()
    customer_speech_only: bool = False
    date_from: date | None = None
    date_to: date | None = None

    def as_params(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        out: dict[str, str] = {}
        if self.sources:
            out["source"] = ",".join(sorted(self.sources))
        if self.customer_speech_only:
            out["customer_speech"] = "1"
        if self.date_from:
            out["date_from"] = self.date_from.isoformat()
        if self.date_to:
            out["date_to"] = self.date_to.isoformat()
        return out


@dataclass(frozen=True)
class Evidence:
    """One excerpt as analysis sees it."""

    excerpt: int
    code: int
    row: int  # the code or theme it counts for
    participant: int | None
    customer_speech: bool
    document: int


@dataclass
class Dataset:
    """Everything the tables need: rows, who is in which segment, and the evidence."""

    project: Project
    segmentation: Segmentation
    level: Level
    filters: Filters
    rows: list[int]  # code ids in display order
    names: dict[int, str]
    paths: dict[int, str]
    segments: list[str]  # the snapshot's segment names, sorted
    segment_of: dict[int, str]  # observed participant -> segment
    evidence: list[Evidence] = field(default_factory=list)
    parents: dict[int, int | None] = field(default_factory=dict)  # every code's parent

    def row_of(self, code: int) -> int:
        """The row `code` counts for: its top-level theme at level theme, itself at level code."""
        return _root(code, self.parents) if self.level == "theme" else code

    def presence(self) -> dict[int, set[int]]:
        """{participant: rows they have evidence for}, observed participants only."""
        out: dict[int, set[int]] = defaultdict(set)
        for e in self.evidence:
            if e.participant in self.segment_of:
                out[e.participant].add(e.row)
        return out

    def excerpt_counts(self) -> tuple[dict[tuple[int, int], int], dict[int, int]]:
        """({(participant, row): excerpts}, {participant: excerpts}) for the excerpt unit; an
        excerpt is counted once in its participant's total whatever it carries."""
        counts: Counter[tuple[int, int]] = Counter()
        totals: Counter[int] = Counter()
        for e in self.evidence:
            if e.participant in self.segment_of:
                counts[(e.participant, e.row)] += 1
                totals[e.participant] += 1
        return dict(counts), dict(totals)


# --- gathering ---------------------------------------------------------------------------------


CodeTree = tuple[list[int], dict[int, int | None], dict[int, str], dict[int, bool]]


def code_tree(project: Project) -> CodeTree:
    """(ids in tree order, {id: parent}, {id: name}, {id: is archived}) for the whole codebook,
    siblings by position, name and id. One query."""
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in Code.objects.filter(project=project).values(
            "id", "name", "parent_id", "position", "is_archived"
        )
    ]
    children: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for code in rows:
        children[code["parent_id"]].append(code)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r["position"], r["name"].lower(), r["id"]))
    order: list[int] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        code = stack.pop()
        order.append(code["id"])
        stack.extend(reversed(children.get(code["id"], [])))
    parent: dict[int, int | None] = {r["id"]: r["parent_id"] for r in rows}
    names = {r["id"]: r["name"] for r in rows}
    archived = {r["id"]: r["is_archived"] for r in rows}
    return order, parent, names, archived


def _root(code: int, parent: dict[int, int | None]) -> int:
    seen = 0
    while parent.get(code) is not None and seen < 1000:  # a cycle cannot exist; bound anyway
        code = parent[code]  # type: ignore[assignment]
        seen += 1
    return code


def _paths(
    order: list[int], parent: dict[int, int | None], names: dict[int, str]
) -> dict[int, str]:
    paths: dict[int, str] = {}
    for pk in order:  # tree order: a parent's path is known before its children's
        up = parent.get(pk)
        paths[pk] = f"{paths[up]} > {names[pk]}" if up is not None and up in paths else names[pk]
    return paths


def _document_date() -> Coalesce:
    return Coalesce("recorded_at", "session__started_at", "created_at")


def filtered_documents(project: Project, filters: Filters) -> QuerySet[Document]:
    documents = Document.objects.filter(project=project)
    if filters.sources:
        documents = documents.filter(kind__in=sorted(filters.sources))
    if filters.date_from or filters.date_to:
        documents = documents.annotate(evidence_at=_document_date())
        if filters.date_from:
            start = datetime.combine(filters.date_from, time.min, tzinfo=UTC)
            documents = documents.filter(evidence_at__gte=start)
        if filters.date_to:
            end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=UTC)
            documents = documents.filter(evidence_at__lt=end)
    return documents


def observed_participants(project: Project, filters: Filters) -> set[int]:
    """Participants who appear in a document passing the filters. Three queries."""
    documents = filtered_documents(project, filters)
    ids = set(documents.filter(participant__isnull=False).values_list("participant_id", flat=True))
    ids.update(
        SpeakerTurn.objects.filter(document__in=documents, participant__isnull=False)
        .values_list("participant_id", flat=True)
        .distinct()
    )
    ids.update(
        FieldNote.objects.filter(
            session__documents__in=documents.filter(kind=Document.Kind.FIELD_NOTES),
            participant__isnull=False,
        )
        .values_list("participant_id", flat=True)
        .distinct()
    )
    return ids


def annotated_excerpts(project: Project, filters: Filters) -> Any:
    """The project's excerpts in filtered documents, each with the turn and the field note its
    start falls in (their participant, kind and speaker), as subqueries: one query."""
    turn = SpeakerTurn.objects.filter(
        document=OuterRef("document"), start__lte=OuterRef("start"), end__gt=OuterRef("start")
    ).order_by("index")
    note = FieldNote.objects.filter(
        session=OuterRef("document__session"),
        document_start__lte=OuterRef("start"),
        document_end__gt=OuterRef("start"),
    ).order_by("observed_at", "id")
    return (
        Excerpt.objects.filter(project=project, document__in=filtered_documents(project, filters))
        .annotate(
            turn_participant=Subquery(turn.values("participant_id")[:1]),
            turn_id=Subquery(turn.values("id")[:1]),
            turn_speaker=Subquery(turn.values("speaker")[:1]),
            note_participant=Subquery(note.values("participant_id")[:1]),
            note_kind=Subquery(note.values("kind")[:1]),
        )
        .order_by("id")
    )


def attribute_excerpt(row: dict[str, Any]) -> tuple[int | None, bool]:
    """(participant, is customer speech) of an annotated excerpt row (see the module note)."""
    kind = row["document__kind"]
    if row["turn_participant"] is not None:
        return row["turn_participant"], True
    if kind == Document.Kind.FIELD_NOTES and row["note_participant"] is not None:
        return row["note_participant"], row["note_kind"] == FieldNote.Kind.QUOTE
    speech = kind == Document.Kind.SURVEY or (
        kind == Document.Kind.FIELD_NOTES and row["note_kind"] == FieldNote.Kind.QUOTE
    )
    return row["document__participant_id"], speech


def gather(
    *,
    project: Project,
    segmentation: Segmentation,
    level: Level = "theme",
    filters: Filters | None = None,
) -> Dataset:
    """The evidence for the tables of one snapshot. Six queries, whatever the data's size."""
    filters = filters or Filters()
    order, parent, names, archived = code_tree(project)
    paths = _paths(order, parent, names)
    if level == "theme":
        rows = [pk for pk in order if parent[pk] is None and not archived[pk]]
    else:
        rows = [pk for pk in order if not archived[pk]]
    wanted = set(rows)
    observed = observed_participants(project, filters)
    segment_of = {
        pk: name
        for pk, name in participant_segments(project=project, segmentation=segmentation).items()
        if pk in observed
    }
    evidence: list[Evidence] = []
    values = annotated_excerpts(project, filters).values(
        "id",
        "code_id",
        "document_id",
        "document__kind",
        "document__participant_id",
        "turn_participant",
        "note_participant",
        "note_kind",
    )
    for row in values.iterator(chunk_size=5000):
        code = row["code_id"]
        target = _root(code, parent) if level == "theme" else code
        participant, speech = attribute_excerpt(row)
        if filters.customer_speech_only and not speech:
            continue
        if target not in wanted:
            # Counted in the participant's excerpt total (excerpt unit), but not as a row.
            target = -1
        evidence.append(Evidence(row["id"], code, target, participant, speech, row["document_id"]))
    segments = sorted(segmentation.segments.values_list("name", flat=True))
    return Dataset(
        project=project,
        segmentation=segmentation,
        level=level,
        filters=filters,
        rows=rows,
        names=names,
        paths=paths,
        segments=segments,
        segment_of=segment_of,
        evidence=evidence,
        parents=parent,
    )


# --- the tables --------------------------------------------------------------------------------


def theme_segment(dataset: Dataset, unit: str = "participant") -> stats.ThemeSegmentResult:
    """The theme × segment table of `dataset` in the participant or excerpt unit."""
    if unit == "excerpt":
        counts, totals = dataset.excerpt_counts()
        return stats.theme_segment_table_excerpts(
            counts,
            totals,
            dataset.segment_of,
            dataset.rows,
            min_cell=min_participants(),
            segments=dataset.segments,
        )
    return stats.theme_segment_table(
        dataset.presence(),
        dataset.segment_of,
        dataset.rows,
        min_cell=min_participants(),
        segments=dataset.segments,
    )


def clean(value: float | None) -> float | None:
    """`value`, or None when it is missing or not finite (JSON has no NaN or infinity)."""
    return None if value is None or not math.isfinite(value) else value


def theme_segment_cells(dataset: Dataset, result: stats.ThemeSegmentResult) -> list[dict[str, Any]]:
    """The API's flat ``cells``: API.md's fields plus ``size``, ``expected``, ``residual``,
    ``enough_evidence``, ``path`` and the segment's ``participants``."""
    out = []
    for cell in result.cells:
        code = int(cell.code)  # type: ignore[call-overload]
        out.append(
            {
                "code": code,
                "code_name": dataset.names[code],
                "path": dataset.paths[code],
                "segment": cell.segment,
                "n": cell.n,
                "size": cell.size,
                "participants": result.segment_participants.get(cell.segment, 0),
                "prevalence": clean(cell.prevalence),
                "lift": clean(cell.lift),
                "ci_low": clean(cell.ci_low),
                "ci_high": clean(cell.ci_high),
                "expected": clean(cell.expected),
                "residual": clean(cell.residual),
                "enough_evidence": cell.enough_evidence,
                "p_value": clean(cell.p_value),
                "q_value": clean(cell.q_value),
                "test": cell.test,
            }
        )
    return out


def metric_values(
    *, project: Project, segmentation: Segmentation, metric: str, participants: Iterable[int]
) -> dict[int, Any]:
    """{participant: the snapshot's value of `metric` for their customer_ref} (two queries).

    Participants missing from the snapshot (set by hand, or unmatched) and blank values are
    absent. Participants sharing a customer_ref are ambiguous and get no value.
    """
    wanted = set(participants)
    refs = dict(
        Participant.objects.filter(project=project, pk__in=wanted)
        .exclude(customer_ref="")
        .values_list("pk", "customer_ref")
    )
    shared = {ref for ref, k in Counter(refs.values()).items() if k > 1}
    by_ref = dict(
        CustomerSegment.objects.filter(
            segmentation=segmentation, customer_ref__in=set(refs.values()) - shared
        ).values_list("customer_ref", "metrics")
    )
    out: dict[int, Any] = {}
    for pk, ref in refs.items():
        metrics = by_ref.get(ref)
        if metrics is not None and metrics.get(metric) is not None:
            out[pk] = metrics[metric]
    return out


def theme_metric(dataset: Dataset, metric: str) -> list[dict[str, Any]]:
    """Per row: participants with vs without it compared on `metric` (numeric: medians and
    Mann–Whitney; categorical: χ² or Fisher). Observed participants only.

    Raises KeyError when the snapshot has no such metric; a date metric is compared as the
    number of days since 1970-01-01 (earlier dates are smaller).
    """
    kind = dataset.segmentation.metric_types[metric]
    raw = metric_values(
        project=dataset.project,
        segmentation=dataset.segmentation,
        metric=metric,
        participants=dataset.segment_of,
    )
    values: dict[int, float | str | None] = {}
    for pk, value in raw.items():
        if kind == "date":
            values[pk] = float(date.fromisoformat(str(value)).toordinal() - 719163)
        else:
            values[pk] = value
    rows = stats.theme_metric_table(
        dataset.presence(),
        values,
        dataset.rows,
        kind="categorical" if kind == "categorical" else "numeric",
    )
    return [
        {
            "code": int(r.code),  # type: ignore[call-overload]
            "code_name": dataset.names[int(r.code)],  # type: ignore[call-overload]
            "path": dataset.paths[int(r.code)],  # type: ignore[call-overload]
            "n_with": r.n_with,
            "n_without": r.n_without,
            "median_with": clean(r.median_with),
            "median_without": clean(r.median_without),
            "test": r.test,
            "statistic": clean(r.statistic),
            "p_value": clean(r.p_value),
            "q_value": clean(r.q_value),
            "effect_size": clean(r.effect_size),
        }
        for r in rows
    ]
