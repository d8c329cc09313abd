"""Hypotheses (issue 5 point 6): a researcher's CX claim about a theme, tested on the current data.

A hypothesis names a theme (a code: a top-level code is tested at the ``theme`` level with its
child codes rolled up, any other code at the ``code`` level) and either

* a **segment** of a snapshot, expecting the theme to be more (or less) common among the segment's
  participants than among the snapshot's other segments: the 2 × 2 table theme presence × (in the
  segment, in another segment) through `coding.stats.contingency_test` (χ², or Fisher when an
  expected count is below 5), with the cell's prevalence, lift and Wilson interval from the
  theme × segment table; or
* a **metric** of a snapshot: numeric or date, expecting participants with the theme to have
  higher (or lower) values — `coding.stats.mann_whitney` on with / without, effect the
  rank-biserial r; categorical, expecting a ``category`` to be more (or less) common among them —
  the 2 × 2 table category × theme presence, effect the lift of the category among those with the
  theme.

Evidence is gathered exactly as for the tables (`coding.analysis.gather`, participant unit, no
filters). Outcomes:

* ``supported``: p < alpha (``VERBATIM_HYPOTHESIS_ALPHA``, default 0.05) and the observed direction
  is the expected one;
* ``not_supported``: enough evidence, and p >= alpha or the direction is the opposite (the reason
  says which);
* ``not_enough_evidence``: fewer than `coding.analysis.min_participants()` participants in the
  segment or in the others (segment), with or without the theme (metric), or a degenerate test.

Freshness: `data_fingerprint` condenses everything an evaluation reads into one hash in one query.
A hypothesis whose stored fingerprint differs from the current one is re-evaluated when it is read
(`refresh`) and by the Celery task `coding.hypotheses_reevaluate`, queued at most once per project
when data changes (`data_changed`). History: a new `HypothesisEvaluation` row is written only when
the outcome or the numbers differ from the latest one.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, F, Max, OuterRef, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from coding import analysis, evidence, stats
from coding.models import Code, CodebookChange, Excerpt, Hypothesis, HypothesisEvaluation
from coding.models import HypothesisRefresh as Refresh
from observations.models import Document, FieldNote, SpeakerTurn
from research.models import (
    CustomerSegment,
    Participant,
    ParticipantSegment,
    Project,
    Segmentation,
    User,
)
from research.validation import check_in_project, reject_unknown

Outcome = HypothesisEvaluation.Outcome
Direction = Hypothesis.Direction
MAX_QUOTES = 5
# A queued refresh older than this is presumed lost (broker restart): the next change requeues.
STALE_REFRESH = timedelta(minutes=10)
EDITABLE = (
    "statement",
    "code",
    "kind",
    "segmentation",
    "segment",
    "metric",
    "category",
    "direction",
)


def alpha() -> float:
    """The significance level hypotheses are judged at."""
    return float(getattr(settings, "VERBATIM_HYPOTHESIS_ALPHA", 0.05))


# --- writes ------------------------------------------------------------------------------------


def _check_definition(h: Hypothesis) -> None:
    """Raise a ValidationError naming the field when `h` does not define a testable hypothesis."""
    project = h.project
    if not h.statement.strip():
        raise ValidationError({"statement": "Write the hypothesis down."})
    if h.code is None:
        raise ValidationError({"code": "Pick the theme the hypothesis is about."})
    check_in_project(project, "code", h.code)
    if h.code.is_archived:
        raise ValidationError({"code": f"{h.code.name!r} is archived."})
    if h.kind not in Hypothesis.Kind.values:
        raise ValidationError({"kind": "Choose segment or metric."})
    if h.segmentation is None:
        raise ValidationError({"segmentation": "Pick a segmentation snapshot."})
    check_in_project(project, "segmentation", h.segmentation)
    snapshot = h.segmentation
    if h.kind == Hypothesis.Kind.SEGMENT:
        if not h.segment:
            raise ValidationError({"segment": "Pick a segment."})
        if not snapshot.segments.filter(name=h.segment).exists():
            raise ValidationError({"segment": f"No segment {h.segment!r} in {snapshot}."})
        if h.direction not in (Direction.MORE, Direction.LESS):
            raise ValidationError({"direction": "For a segment, expect more or less."})
        h.metric = h.category = ""
        return
    if not h.metric:
        raise ValidationError({"metric": "Pick a metric."})
    metric_type = snapshot.metric_types.get(h.metric)
    if metric_type is None:
        raise ValidationError({"metric": f"No metric {h.metric!r} in {snapshot}."})
    h.segment = ""
    if metric_type != "categorical":
        if h.direction not in (Direction.HIGHER, Direction.LOWER):
            raise ValidationError({"direction": f"For {h.metric!r}, expect higher or lower."})
        if h.category:
            raise ValidationError({"category": f"{h.metric!r} is not categorical."})
        return
    if h.direction not in (Direction.MORE, Direction.LESS):
        raise ValidationError({"direction": f"For {h.metric!r}, expect more or less."})
    if not h.category:
        raise ValidationError({"category": f"Pick a category of {h.metric!r}."})
    # KeyTextTransform passes the key as a parameter: any column name is safe.
    found = (
        CustomerSegment.objects.filter(segmentation=snapshot)
        # Cast: a bare key transform would compare its right-hand side as JSON.
        .annotate(value=Cast(KeyTextTransform(h.metric, "metrics"), models.TextField()))
        .filter(value=h.category)
        .exists()
    )
    if not found:
        raise ValidationError({"category": f"No customer has {h.metric!r} = {h.category!r}."})


def categories(segmentation: Segmentation, metric: str, limit: int = 200) -> list[str]:
    """The distinct values of a categorical metric in a snapshot, sorted (at most `limit`)."""
    seen: set[str] = set()
    for metrics in (
        CustomerSegment.objects.filter(segmentation=segmentation)
        .values_list("metrics", flat=True)
        .iterator(chunk_size=5000)
    ):
        value = metrics.get(metric)
        if value is not None:
            seen.add(str(value))
    return sorted(seen)[:limit]


@transaction.atomic
def hypothesis_create(
    *,
    project: Project,
    user: User | None,
    statement: str,
    code: Code | None,
    kind: str,
    segmentation: Segmentation | None,
    direction: str,
    segment: str = "",
    metric: str = "",
    category: str = "",
) -> Hypothesis:
    """Record a hypothesis and evaluate it at once. Raises ValidationError naming the field."""
    h = Hypothesis(
        project=project,
        created_by=user,
        statement=statement.strip(),
        code=code,
        kind=kind,
        segmentation=segmentation,
        segment=segment.strip(),
        metric=metric.strip(),
        category=category.strip(),
        direction=direction,
    )
    _check_definition(h)
    h.save()
    evaluate(h)
    return h


@transaction.atomic
def hypothesis_update(*, hypothesis: Hypothesis, **changes: Any) -> Hypothesis:
    """Change a hypothesis's definition; it is re-evaluated (a changed outcome enters history)."""
    reject_unknown(changes, EDITABLE)
    for name, value in changes.items():
        setattr(hypothesis, name, value.strip() if isinstance(value, str) else value)
    _check_definition(hypothesis)
    hypothesis.save()
    evaluate(hypothesis)
    return hypothesis


@transaction.atomic
def hypothesis_delete(*, hypothesis: Hypothesis) -> None:
    """Delete a hypothesis with its history."""
    Hypothesis.objects.filter(pk=hypothesis.pk).update(latest=None)
    hypothesis.delete()


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


def data_changed(project_id: int) -> None:
    """Queue a re-evaluation of the project's hypotheses once the current transaction commits.

    Cheap: nothing runs before the commit, and a transaction that changes many rows (an import,
    load_demo) registers one callback per project, not one per row; after the commit, one query
    when the project has no hypotheses, and no second task while one is already queued.
    """
    callback = functools.partial(request_refresh, project_id)
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        # Django drops the callbacks of a rolled-back block itself, so looking at the pending
        # ones (rather than keeping our own set) cannot leave a project marked after a rollback.
        for _savepoints, pending, *_ in getattr(connection, "run_on_commit", []):
            if (
                isinstance(pending, functools.partial)
                and pending.func is request_refresh
                and pending.args == callback.args
            ):
                return
    transaction.on_commit(callback)


def request_refresh(project_id: int) -> bool:
    """Queue `coding.hypotheses_reevaluate` for the project unless one is queued; True if queued."""
    from coding.tasks import hypotheses_reevaluate

    if not Hypothesis.objects.filter(project_id=project_id).exists():
        return False
    queued, created = Refresh.objects.get_or_create(project_id=project_id)
    if not created:
        if timezone.now() - queued.requested_at < STALE_REFRESH:
            return False
        Refresh.objects.filter(pk=project_id).update(requested_at=timezone.now())
    hypotheses_reevaluate.delay(project_id)
    return True


def reevaluate_project(project_id: int) -> int:
    """The task's work: clear the queued flag first (so a change during the run queues another
    run), then re-evaluate the hypotheses whose fingerprint changed. Returns how many."""
    Refresh.objects.filter(pk=project_id).delete()
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return 0
    return len(refresh(project))


def refresh(project: Project, hypotheses: Sequence[Hypothesis] | None = None) -> list[Hypothesis]:
    """Re-evaluate the (given, else all) hypotheses of `project` whose fingerprint is stale;
    returns those re-evaluated. One query when none is stale."""
    data = data_fingerprint(project)
    if hypotheses is None:
        hypotheses = list(with_related(Hypothesis.objects.filter(project=project)))
    stale = [h for h in hypotheses if h.fingerprint != fingerprint(h, data) or h.latest_id is None]
    cache: dict[tuple[int, str], analysis.Dataset] = {}
    done = []
    for h in stale:
        h.project = project
        try:
            evaluate(h, data=data, cache=cache)
        except Hypothesis.DoesNotExist:  # deleted while we were working
            continue
        done.append(h)
    return done


def with_related(queryset: models.QuerySet[Hypothesis]) -> models.QuerySet[Hypothesis]:
    """`queryset` with what the API and pages show joined in (one query)."""
    return queryset.select_related("code", "segmentation", "latest", "created_by")


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


def _pct(share: float | None) -> str:
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
        claim=f"{code.name} is {expected} common in {h.segment} ({_pct(p_in)}) than in the "
        f"other segments ({_pct(p_out)})",
        opposite=f"{code.name} is {actual} common in {h.segment} ({_pct(p_in)}) than in the "
        f"others ({_pct(p_out)})",
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
        f"({_pct(share_x)} vs {_pct(share_y)})",
        opposite=f"{label} is {actual} common among them ({_pct(share_x)} vs {_pct(share_y)})",
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


# --- reading -----------------------------------------------------------------------------------


def summary(h: Hypothesis, evaluation: HypothesisEvaluation | None) -> str:
    """The numbers of an evaluation in plain words, e.g. "12 of 14 Price hunters (86%) vs 9 of
    26 others (35%), Fisher p = 0.004"."""
    if evaluation is None:
        return "Not evaluated yet."
    n = evaluation.numbers
    test = {"chi2": "χ²", "fisher": "Fisher", "mann-whitney": "Mann–Whitney"}.get(
        evaluation.test, ""
    )
    tail = f", {test} {format_p(evaluation.p_value)}" if test else ""
    if "in_size" in n:
        return (
            f"{n['in_with']} of {n['in_size']} {n['segment']} ({_pct(n['in_prevalence'])}) vs "
            f"{n['out_with']} of {n['out_size']} others ({_pct(n['out_prevalence'])}){tail}"
        )
    if n.get("metric_type") == "categorical":
        return (
            f"{n['metric']} = {n['category']}: {n['category_with']} of {n['n_with']} with the "
            f"theme ({_pct(n['share_with'])}) vs {n['category_without']} of {n['n_without']} "
            f"without ({_pct(n['share_without'])}){tail}"
        )
    if "n_with" in n:
        med_x, med_y = _value(n["median_with"], n), _value(n["median_without"], n)
        effect = f", r = {evaluation.effect:.2f}" if evaluation.effect is not None else ""
        return (
            f"median {n['metric']} {med_x} with the theme (n = {n['n_with']}) vs {med_y} "
            f"without (n = {n['n_without']}){tail}{effect}"
        )
    return evaluation.reason


def _value(value: float | None, numbers: dict[str, Any]) -> str:
    if value is None:
        return "–"
    if numbers.get("metric_type") == "date":
        return (date(1970, 1, 1) + timedelta(days=value)).isoformat()
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


def quotes_of(project: Project, ids: list[int]) -> list[dict[str, Any]]:
    """The stored quote ids as display rows (text, speaker, document), existing ones only, in
    stored order. The speaker is the turn's speaker where the quote starts, else the document's
    participant. One query for any number of ids."""
    if not ids:
        return []
    turn = SpeakerTurn.objects.filter(
        document=OuterRef("document"), start__lte=OuterRef("start"), end__gt=OuterRef("start")
    ).order_by("index")
    found = (
        Excerpt.objects.filter(project=project, pk__in=ids)
        .annotate(speaker=Subquery(turn.values("speaker")[:1]))
        .values(
            "id",
            "text",
            "speaker",
            "document_id",
            "document__title",
            "document__participant__pseudonym",
        )
    )
    rows = {row["id"]: row for row in found}
    return [
        {
            "excerpt": pk,
            "text": rows[pk]["text"],
            "document": rows[pk]["document_id"],
            "document_title": rows[pk]["document__title"],
            "speaker": rows[pk]["speaker"] or rows[pk]["document__participant__pseudonym"] or "",
        }
        for pk in ids
        if pk in rows
    ]


def project_hypotheses(project: Project) -> list[Hypothesis]:
    """The project's hypotheses, newest first, each fresh (re-evaluated if its data changed)."""
    hypotheses = list(with_related(Hypothesis.objects.filter(project=project)))
    refresh(project, hypotheses)
    return hypotheses


def _card(h: Hypothesis) -> dict[str, Any]:
    latest = h.latest
    return {
        "id": h.pk,
        "code": h.code_id,
        "statement": h.statement,
        "kind": h.kind,
        "segment": h.segment,
        "metric": h.metric,
        "category": h.category,
        "direction": h.direction,
        "outcome": latest.outcome if latest else None,
        "outcome_label": latest.get_outcome_display() if latest else "Not evaluated",
        "reason": latest.reason if latest else "",
        "summary": summary(h, latest),
        "p_value": latest.p_value if latest else None,
        "effect": latest.effect if latest else None,
        "evaluated_at": latest.evaluated_at if latest else None,
    }


def for_theme(project: Project, code_id: int) -> list[dict[str, Any]]:
    """The hypotheses about one theme (or code), for the dashboard's theme card: fresh, newest
    first. Queries: two, plus the re-evaluation of any whose data changed.

    Each item: ``{"id", "code", "statement", "kind" ("segment" | "metric"), "segment",
    "metric", "category", "direction" ("more" | "less" | "higher" | "lower"), "outcome"
    ("supported" | "not_supported" | "not_enough_evidence" | None when never evaluated),
    "outcome_label" ("Supported", "Not supported", "Not enough evidence", "Not evaluated"),
    "reason", "summary" (the numbers in plain words), "p_value", "effect", "evaluated_at"}``.
    """
    return for_themes(project).get(code_id, [])


def for_themes(project: Project) -> dict[int, list[dict[str, Any]]]:
    """`for_theme` for every code at once: {code id: items}, codes without hypotheses absent.
    Two queries (plus re-evaluations), whatever the number of themes: for pages with many cards."""
    items = list(with_related(Hypothesis.objects.filter(project=project, code__isnull=False)))
    refresh(project, items)
    out: dict[int, list[dict[str, Any]]] = {}
    for h in items:
        assert h.code_id is not None
        out.setdefault(h.code_id, []).append(_card(h))
    return out
