"""Evaluating a hypothesis (issue 5, item 6): the data fingerprint, the test, the outcome.

See `coding.hypotheses` for the rules in words; this module computes them. Pure reads except
`evaluate`, which appends to the hypothesis's history only when something changed.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, F, Max, OuterRef, Subquery, Sum
from django.utils import timezone

from coding import analysis, evidence, stats
from coding.models import Code, CodebookChange, Excerpt, Hypothesis, HypothesisEvaluation
from observations.models import Document, FieldNote
from research.models import (
    Participant,
    ParticipantSegment,
    Project,
    Segmentation,
)

Outcome = HypothesisEvaluation.Outcome
Direction = Hypothesis.Direction
MAX_QUOTES = 5


def alpha() -> float:
    """The significance level hypotheses are judged at."""
    return float(getattr(settings, "VERBATIM_HYPOTHESIS_ALPHA", 0.05))


# --- freshness ---------------------------------------------------------------------------------


def _stat(queryset: models.QuerySet[Any], key: str, expression: Any) -> Subquery:
    """One aggregate of `queryset` (filtered to the outer project through `key`) as a subquery."""
    return Subquery(
        queryset.filter(**{key: OuterRef("pk")})
        .order_by()
        .values(key)
        .annotate(value=expression)
        .values("value")[:1]
    )


def data_fingerprint(project: Project) -> str:
    """A hash of everything evaluations read, in one query: excerpts, codes and codebook changes,
    documents and field notes, participants (customer_ref), snapshots and manual assignments,
    plus the thresholds. Changes when any of them is created, edited or deleted."""
    parts: dict[str, Any] = {}
    tables: list[tuple[str, models.QuerySet[Any], str]] = [
        ("excerpt", Excerpt.objects.all(), "project"),
        ("code", Code.objects.all(), "project"),
        ("document", Document.objects.all(), "project"),
        ("participant", Participant.objects.all(), "project"),
        ("note", FieldNote.objects.all(), "session__project"),
    ]
    for name, queryset, key in tables:
        parts[f"{name}_n"] = _stat(queryset, key, Count("pk"))
        parts[f"{name}_id"] = _stat(queryset, key, Max("pk"))
        parts[f"{name}_at"] = _stat(queryset, key, Max("updated_at"))
    changes = CodebookChange.objects.all()
    parts["change_id"] = _stat(changes, "project", Max("pk"))
    parts["change_undone"] = _stat(changes, "project", Max("undone_at"))
    parts["snapshot_id"] = _stat(Segmentation.objects.all(), "project", Max("pk"))
    manual = ParticipantSegment.objects.all()
    key = "participant__project"
    parts["manual_n"] = _stat(manual, key, Count("pk"))
    parts["manual_id"] = _stat(manual, key, Max("pk"))
    # Re-assigning (or swapping) segments keeps count and ids: the weighted sums move.
    parts["manual_sum"] = _stat(manual, key, Sum("segment_id"))
    parts["manual_mix"] = _stat(manual, key, Sum(F("segment_id") * F("participant_id")))
    row = Project.objects.filter(pk=project.pk).annotate(**parts).values(*parts).first() or {}
    text = repr(sorted((k, str(v)) for k, v in row.items()))
    text += f"|{alpha()}|{analysis.min_participants()}"
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(hypothesis: Hypothesis, data: str) -> str:
    """The project's data fingerprint combined with the hypothesis's own definition."""
    h = hypothesis
    definition = (h.code_id, h.kind, h.segmentation_id, h.segment, h.metric, h.category)
    text = f"{data}|{definition}|{h.direction}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


# --- evaluation --------------------------------------------------------------------------------


@dataclass
class Result:
    """What one evaluation found (the fields of `HypothesisEvaluation`)."""

    outcome: str
    reason: str
    test: str = "none"
    p_value: float | None = None
    statistic: float | None = None
    effect: float | None = None
    numbers: dict[str, Any] = field(default_factory=dict)
    quote_ids: list[int] = field(default_factory=list)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def format_p(p: float | None) -> str:
    """``p = 0.004`` / ``p < 0.001`` (plain words for the page)."""
    if p is None:
        return "no p-value"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _judge(
    result: Result, *, observed: str | None, expected: str, claim: str, opposite: str
) -> Result:
    """Set outcome and reason from the p-value and the observed direction."""
    level = alpha()
    p = result.p_value
    if p is None:
        result.outcome = Outcome.NOT_ENOUGH
        result.reason = "The test cannot be computed on these data (nobody or everybody has it)."
    elif p >= level:
        result.outcome = Outcome.NOT_SUPPORTED
        result.reason = f"The difference is not significant ({format_p(p)}, alpha {level:g})."
    elif observed != expected:
        result.outcome = Outcome.NOT_SUPPORTED
        result.reason = f"Significant ({format_p(p)}) but in the opposite direction: {opposite}."
    else:
        result.outcome = Outcome.SUPPORTED
        result.reason = f"{claim} ({format_p(p)}, alpha {level:g})."
    return result


def _dataset(
    h: Hypothesis, level: analysis.Level, cache: dict[tuple[int, str], analysis.Dataset]
) -> analysis.Dataset:
    assert h.segmentation is not None
    key = (h.segmentation.pk, level)
    if key not in cache:
        cache[key] = analysis.gather(project=h.project, segmentation=h.segmentation, level=level)
    return cache[key]


def compute(h: Hypothesis, cache: dict[tuple[int, str], analysis.Dataset] | None = None) -> Result:
    """Evaluate `h` on the current data (nothing is written). `cache` shares gathered evidence
    between hypotheses of one run, keyed by (snapshot, level)."""
    cache = {} if cache is None else cache
    code = Code.objects.filter(pk=h.code_id, project=h.project).first() if h.code_id else None
    if code is None:
        return Result(Outcome.NOT_ENOUGH, "The theme was deleted from the codebook.")
    if code.is_archived:
        return Result(Outcome.NOT_ENOUGH, f"The theme {code.name!r} is archived.")
    if h.segmentation is None:
        return Result(Outcome.NOT_ENOUGH, "The segmentation snapshot was deleted.")
    level: analysis.Level = "theme" if code.parent_id is None else "code"
    dataset = _dataset(h, level, cache)
    if h.kind == Hypothesis.Kind.SEGMENT:
        result = _segment(h, code, dataset)
        segment: str | None = h.segment
    else:
        result = _metric(h, code, dataset)
        segment = None
    result.numbers.update({"level": level, "theme": code.name})
    if result.outcome != Outcome.NOT_ENOUGH or result.numbers.get("with", 0):
        result.quote_ids = _quote_ids(dataset, code.pk, segment)
    return result


def _quote_ids(dataset: analysis.Dataset, row: int, segment: str | None) -> list[int]:
    """Up to MAX_QUOTES excerpts behind the hypothesis, picked by `evidence.best_quotes` among
    the same excerpts `evidence.quotes` lists (observed participants with a segment; the
    segment's only when one is named), from the gathered evidence: one query."""
    behind = {
        e.excerpt: e
        for e in dataset.evidence
        if e.row == row
        and e.participant in dataset.segment_of
        and (segment is None or dataset.segment_of[e.participant] == segment)
    }
    if not behind:
        return []
    rows = Excerpt.objects.filter(pk__in=behind).values("id", "text", "start", "document__title")
    found = [
        {
            "excerpt": r["id"],
            "text": r["text"],
            "participant": behind[r["id"]].participant,
            "customer_speech": behind[r["id"]].customer_speech,
            "order": (r["document__title"], r["start"]),
        }
        for r in rows
    ]
    # evidence.quotes' order: customer speech first, then by document and position.
    found.sort(key=lambda q: (not q["customer_speech"], q["order"]))
    return [q["excerpt"] for q in evidence.best_quotes(found, MAX_QUOTES)]


def _segment(h: Hypothesis, code: Code, dataset: analysis.Dataset) -> Result:
    minimum = analysis.min_participants()
    presence = dataset.presence()
    if h.segment not in dataset.segments:
        return Result(Outcome.NOT_ENOUGH, f"The snapshot has no segment {h.segment!r}.")
    inside = [pk for pk, seg in dataset.segment_of.items() if seg == h.segment]
    outside = [pk for pk, seg in dataset.segment_of.items() if seg != h.segment]
    a = sum(1 for pk in inside if code.pk in presence.get(pk, ()))
    c = sum(1 for pk in outside if code.pk in presence.get(pk, ()))
    n1, n2 = len(inside), len(outside)
    rt = stats.contingency_test([[a, c], [n1 - a, n2 - c]])
    table = stats.theme_segment_table(
        presence, dataset.segment_of, [code.pk], min_cell=minimum, segments=dataset.segments
    )
    cell = next(cell for cell in table.cells if cell.segment == h.segment)
    p_in = a / n1 if n1 else None
    p_out = c / n2 if n2 else None
    numbers = {
        "segment": h.segment,
        "with": a + c,
        "in_with": a,
        "in_size": n1,
        "in_prevalence": p_in,
        "out_with": c,
        "out_size": n2,
        "out_prevalence": p_out,
        "lift": _finite(cell.lift),
        "ci_low": _finite(cell.ci_low),
        "ci_high": _finite(cell.ci_high),
    }
    result = Result(
        Outcome.NOT_ENOUGH,
        "",
        test=rt.test,
        p_value=_finite(rt.p_value),
        statistic=_finite(rt.statistic),
        effect=_finite(cell.lift),
        numbers=numbers,
    )
    if n1 < minimum:
        result.reason = f"Only {n1} participants in {h.segment}; at least {minimum} are needed."
        return result
    if n2 < minimum:
        result.reason = f"Only {n2} participants in the other segments; at least {minimum} needed."
        return result
    observed: str | None = None
    if p_in is not None and p_out is not None and p_in != p_out:
        observed = Direction.MORE.value if p_in > p_out else Direction.LESS.value
    expected = "more" if h.direction == Direction.MORE else "less"
    actual = observed or "no more or less"
    return _judge(
        result,
        observed=observed,
        expected=h.direction,
        claim=f"{code.name} is {expected} common in {h.segment} ({percent(p_in)}) than in the "
        f"other segments ({percent(p_out)})",
        opposite=f"{code.name} is {actual} common in {h.segment} ({percent(p_in)}) than in the "
        f"others ({percent(p_out)})",
    )


def _metric(h: Hypothesis, code: Code, dataset: analysis.Dataset) -> Result:
    assert h.segmentation is not None
    metric_type = dataset.segmentation.metric_types.get(h.metric)
    if metric_type is None:
        return Result(Outcome.NOT_ENOUGH, f"The snapshot has no metric {h.metric!r}.")
    raw = analysis.metric_values(
        project=h.project,
        segmentation=h.segmentation,
        metric=h.metric,
        participants=dataset.segment_of,
    )
    presence = dataset.presence()
    with_ids = [pk for pk in raw if code.pk in presence.get(pk, ())]
    without_ids = [pk for pk in raw if code.pk not in presence.get(pk, ())]
    n1, n2 = len(with_ids), len(without_ids)
    minimum = analysis.min_participants()
    if metric_type == "categorical":
        result = _categorical(h, code, raw, with_ids, without_ids)
    else:
        result = _numeric(h, code, raw, with_ids, without_ids, metric_type)
    if n1 < minimum or n2 < minimum:
        side, n = ("with", n1) if n1 < minimum else ("without", n2)
        result.outcome = Outcome.NOT_ENOUGH
        result.reason = (
            f"Only {n} participants {side} {code.name} have a {h.metric} value; "
            f"at least {minimum} are needed."
        )
    return result


def _as_number(value: Any, metric_type: str) -> float:
    if metric_type == "date":
        return float(date.fromisoformat(str(value)).toordinal() - 719163)
    return float(value)


def _numeric(
    h: Hypothesis,
    code: Code,
    raw: dict[int, Any],
    with_ids: list[int],
    without_ids: list[int],
    metric_type: str,
) -> Result:
    x = [_as_number(raw[pk], metric_type) for pk in with_ids]
    y = [_as_number(raw[pk], metric_type) for pk in without_ids]
    med_x = float(np.median(x)) if x else None
    med_y = float(np.median(y)) if y else None
    numbers: dict[str, Any] = {
        "metric": h.metric,
        "metric_type": metric_type,
        "with": len(x),
        "n_with": len(x),
        "n_without": len(y),
        "median_with": med_x,
        "median_without": med_y,
    }
    result = Result(Outcome.NOT_ENOUGH, "", numbers=numbers)
    if len(x) < 2 or len(y) < 2:
        result.reason = "Too few values to compare."
        return result
    u, p, r = stats.mann_whitney(x, y)
    result.test, result.statistic = "mann-whitney", _finite(u)
    result.p_value, result.effect = _finite(p), _finite(r)
    observed: str | None = None
    if result.effect:
        observed = Direction.HIGHER.value if result.effect > 0 else Direction.LOWER.value
    expected = "higher" if h.direction == Direction.HIGHER else "lower"
    actual = observed or "no different"
    return _judge(
        result,
        observed=observed,
        expected=h.direction,
        claim=f"Participants with {code.name} have {expected} {h.metric}",
        opposite=f"participants with {code.name} have {actual} {h.metric}",
    )


def _categorical(
    h: Hypothesis, code: Code, raw: dict[int, Any], with_ids: list[int], without_ids: list[int]
) -> Result:
    n1, n2 = len(with_ids), len(without_ids)
    a = sum(1 for pk in with_ids if str(raw[pk]) == h.category)
    c = sum(1 for pk in without_ids if str(raw[pk]) == h.category)
    # Rows: has the category or not; columns: with the theme, without it.
    rt = stats.contingency_test([[a, c], [n1 - a, n2 - c]])
    share_x = a / n1 if n1 else None
    share_y = c / n2 if n2 else None
    overall = (a + c) / (n1 + n2) if n1 + n2 else None
    lift = share_x / overall if share_x is not None and overall else None
    numbers = {
        "metric": h.metric,
        "metric_type": "categorical",
        "category": h.category,
        "with": n1,
        "n_with": n1,
        "n_without": n2,
        "category_with": a,
        "category_without": c,
        "share_with": share_x,
        "share_without": share_y,
        "lift": lift,
    }
    result = Result(
        Outcome.NOT_ENOUGH,
        "",
        test=rt.test,
        p_value=_finite(rt.p_value),
        statistic=_finite(rt.statistic),
        effect=_finite(lift),
        numbers=numbers,
    )
    observed: str | None = None
    if share_x is not None and share_y is not None and share_x != share_y:
        observed = Direction.MORE.value if share_x > share_y else Direction.LESS.value
    expected = "more" if h.direction == Direction.MORE else "less"
    actual = observed or "no more or less"
    label = f"{h.metric} = {h.category}"
    return _judge(
        result,
        observed=observed,
        expected=h.direction,
        claim=f"{label} is {expected} common among participants with {code.name} "
        f"({percent(share_x)} vs {percent(share_y)})",
        opposite=f"{label} is {actual} common among them "
        f"({percent(share_x)} vs {percent(share_y)})",
    )


def _same(a: HypothesisEvaluation, b: Result) -> bool:
    """Whether an evaluation has the outcome and numbers of a new result (floats to 1e-12)."""

    def close(x: Any, y: Any) -> bool:
        if isinstance(x, float) or isinstance(y, float):
            if x is None or y is None:
                return x is y
            return math.isclose(float(x), float(y), rel_tol=1e-12, abs_tol=1e-15)
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(close(x[k], y[k]) for k in x)
        return bool(x == y)

    return (
        a.outcome == b.outcome
        and a.reason == b.reason
        and a.test == b.test
        and close(a.p_value, b.p_value)
        and close(a.statistic, b.statistic)
        and close(a.effect, b.effect)
        and close(a.numbers, b.numbers)
    )


def evaluate(
    hypothesis: Hypothesis,
    *,
    data: str | None = None,
    cache: dict[tuple[int, str], analysis.Dataset] | None = None,
) -> HypothesisEvaluation:
    """Evaluate `hypothesis` now and record it: a new history row when the outcome or numbers
    differ from the latest evaluation, else the latest row's quotes and fingerprint are updated.
    Returns the (new or latest) evaluation, also set as `hypothesis.latest`."""
    data = data_fingerprint(hypothesis.project) if data is None else data
    result = compute(hypothesis, cache)
    now = timezone.now()
    fp = fingerprint(hypothesis, data)
    with transaction.atomic():
        # Lock the hypothesis so two concurrent evaluations cannot both add the same history row.
        # of=("self",): PostgreSQL cannot lock the nullable side of the join to `latest`.
        locked = (
            Hypothesis.objects.select_related("latest")
            .select_for_update(of=("self",))
            .filter(pk=hypothesis.pk)
            .first()
        )
        if locked is None:  # deleted meanwhile
            raise Hypothesis.DoesNotExist(hypothesis.pk)
        latest = locked.latest
        if latest is not None and _same(latest, result):
            latest.quote_ids = result.quote_ids
            latest.fingerprint = fp
            latest.save(update_fields=["quote_ids", "fingerprint"])
        else:
            latest = HypothesisEvaluation.objects.create(
                hypothesis_id=hypothesis.pk,
                outcome=result.outcome,
                reason=result.reason[:500],
                test=result.test,
                p_value=result.p_value,
                statistic=result.statistic,
                effect=result.effect,
                numbers=result.numbers,
                quote_ids=result.quote_ids,
                fingerprint=fp,
                evaluated_at=now,
            )
        Hypothesis.objects.filter(pk=hypothesis.pk).update(
            latest=latest, fingerprint=fp, checked_at=now
        )
    hypothesis.latest = latest
    hypothesis.fingerprint = fp
    hypothesis.checked_at = now
    return latest
