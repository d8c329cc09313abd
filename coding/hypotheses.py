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
import logging
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from coding import analysis
from coding.hypothesis_evaluation import (
    data_fingerprint,
    evaluate,
    fingerprint,
    format_p,
    percent,
)
from coding.models import Code, Excerpt, Hypothesis, HypothesisEvaluation
from coding.models import HypothesisRefresh as Refresh
from observations.models import SpeakerTurn
from research.models import (
    CustomerSegment,
    Project,
    Segmentation,
    User,
)
from research.tasking import QueueUnavailable, enqueue
from research.validation import check_in_project, reject_unknown

logger = logging.getLogger(__name__)
Outcome = HypothesisEvaluation.Outcome
Direction = Hypothesis.Direction
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
    try:
        enqueue(hypotheses_reevaluate, project_id)
    except QueueUnavailable:
        # The edit that asked is saved; the next one asks again (the hypotheses show as stale).
        Refresh.objects.filter(pk=project_id).delete()
        logger.warning("Hypotheses of project %s not queued: the task queue is down", project_id)
        return False
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
            f"{n['in_with']} of {n['in_size']} {n['segment']} ({percent(n['in_prevalence'])}) vs "
            f"{n['out_with']} of {n['out_size']} others ({percent(n['out_prevalence'])}){tail}"
        )
    if n.get("metric_type") == "categorical":
        return (
            f"{n['metric']} = {n['category']}: {n['category_with']} of {n['n_with']} with the "
            f"theme ({percent(n['share_with'])}) vs {n['category_without']} of {n['n_without']} "
            f"without ({percent(n['share_without'])}){tail}"
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
