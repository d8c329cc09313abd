"""The hypotheses page (issue 5 point 6): each hypothesis with its outcome, numbers, quotes and
history, and a form to record a new one.

The form needs no script: a segment or metric option carries its snapshot (``<id>:<name>``), so
one select names both. Reading the page re-evaluates hypotheses whose data changed.
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from coding import analysis, hypotheses, hypothesis_evaluation
from coding.models import Code, Hypothesis, HypothesisEvaluation
from frontend.views import AuthedRequest
from research.models import Project, Segmentation
from research.permissions import ProjectAccess, access_project
from research.roles import Capability

DIRECTIONS = {
    # The form's direction, by what the comparison is: segment, numeric/date or categorical.
    ("segment", "more"): "more",
    ("segment", "less"): "less",
    ("numeric", "more"): "higher",
    ("numeric", "less"): "lower",
    ("categorical", "more"): "more",
    ("categorical", "less"): "less",
}
TYPE_WORDS = {"numeric": "number", "date": "date", "categorical": "category"}


def _theme_options(project: Project) -> list[dict[str, Any]]:
    order, parent, names, archived = analysis.code_tree(project)
    depth: dict[int, int] = {}
    out = []
    for pk in order:
        up = parent[pk]
        depth[pk] = 0 if up is None else depth.get(up, 0) + 1
        if archived[pk]:
            continue
        label = names[pk] if up is None else f"{'  ' * depth[pk]}↳ {names[pk]}"
        out.append({"id": pk, "label": label, "theme": up is None})
    return out


def _snapshots(project: Project) -> list[dict[str, Any]]:
    """Per snapshot: its segments, its metrics (with their kind) and categorical values."""
    out = []
    for snapshot in project.segmentations.order_by("name", "-version").prefetch_related("segments"):
        metrics = []
        for name, kind in snapshot.metric_types.items():
            values = hypotheses.categories(snapshot, name, 60) if kind == "categorical" else []
            metrics.append({"name": name, "kind": kind, "word": TYPE_WORDS[kind], "values": values})
        out.append(
            {
                "object": snapshot,
                "segments": [s.name for s in snapshot.segments.all()],
                "metrics": metrics,
            }
        )
    return out


def _parse(project: Project, post: Any) -> dict[str, Any]:
    """The service's arguments from the form; raises ValidationError naming the form's field."""
    kind = post.get("kind", "")
    raw_code = post.get("code", "")
    code = Code.objects.filter(project=project, pk=raw_code).first() if raw_code.isdigit() else None
    if code is None:
        raise ValidationError({"code": "Pick a theme of this project."})
    target = post.get(kind, "") if kind in ("segment", "metric") else ""
    if kind not in ("segment", "metric"):
        raise ValidationError({"kind": "Choose whether you compare a segment or a metric."})
    snapshot_id, _, name = target.partition(":")
    snapshot = (
        Segmentation.objects.filter(project=project, pk=snapshot_id).first()
        if snapshot_id.isdigit()
        else None
    )
    if snapshot is None or not name:
        raise ValidationError({kind: f"Pick a {kind}."})
    direction = post.get("direction", "")
    category = ""
    if kind == "segment":
        compared = "segment"
    else:
        metric_type = snapshot.metric_types.get(name, "numeric")
        compared = "categorical" if metric_type == "categorical" else "numeric"
        if compared == "categorical":
            category = post.get("category", "")
    return {
        "statement": post.get("statement", ""),
        "code": code,
        "kind": kind,
        "segmentation": snapshot,
        "segment": name if kind == "segment" else "",
        "metric": name if kind == "metric" else "",
        "category": category,
        "direction": DIRECTIONS.get((compared, direction), direction),
    }


def _cards(project: Project, *, again: bool = True) -> list[dict[str, Any]]:
    items = list(
        hypotheses.with_related(Hypothesis.objects.filter(project=project)).prefetch_related(
            Prefetch(
                "evaluations",
                queryset=HypothesisEvaluation.objects.order_by("-evaluated_at", "-id"),
                to_attr="history",
            )
        )
    )
    if hypotheses.refresh(project, items) and again:  # history may have grown: read it again
        return _cards(project, again=False)
    quote_ids = [pk for h in items if h.latest for pk in h.latest.quote_ids]
    quotes = {q["excerpt"]: q for q in hypotheses.quotes_of(project, quote_ids)}
    cards = []
    for h in items:
        latest = h.latest
        cards.append(
            {
                "object": h,
                "latest": latest,
                "summary": hypotheses.summary(h, latest),
                "expectation": _expectation(h),
                "quotes": [
                    quotes[pk] for pk in (latest.quote_ids if latest else []) if pk in quotes
                ],
                "history": [
                    {"evaluation": e, "summary": hypotheses.summary(h, e)}
                    for e in getattr(h, "history", [])
                ],
            }
        )
    return cards


def _expectation(h: Hypothesis) -> str:
    theme = h.code.name if h.code else "(deleted theme)"
    snapshot = str(h.segmentation) if h.segmentation else "(deleted snapshot)"
    if h.kind == Hypothesis.Kind.SEGMENT:
        word = "more" if h.direction == "more" else "less"
        return (
            f"{theme} is {word} common among {h.segment} than among the other segments "
            f"({snapshot})."
        )
    if h.category:
        word = "more" if h.direction == "more" else "less"
        return (
            f"{h.metric} = {h.category} is {word} common among participants with {theme} "
            f"({snapshot})."
        )
    word = "higher" if h.direction == "higher" else "lower"
    return f"Participants with {theme} have {word} {h.metric} ({snapshot})."


def _render(
    request: AuthedRequest,
    access: ProjectAccess,
    *,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    project = access.project
    return render(
        request,
        "frontend/hypotheses/list.html",
        {
            "project": project,
            "cards": _cards(project),
            "themes": _theme_options(project),
            "snapshots": _snapshots(project),
            "can_write": access.role.can(Capability.EDIT_CODEBOOK),
            "errors": errors or {},
            "form": request.POST if errors else {},
            "alpha": hypothesis_evaluation.alpha(),
            "min_participants": analysis.min_participants(),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def hypotheses_page(request: AuthedRequest, slug: str) -> HttpResponse:
    need = Capability.EDIT_CODEBOOK if request.method == "POST" else Capability.READ
    access = access_project(request.user, slug, need=need)
    project = access.project
    if request.method == "GET":
        return _render(request, access)
    action = request.POST.get("action", "create")
    url = reverse("frontend:hypotheses", kwargs={"slug": slug})
    if action in ("evaluate", "delete"):
        raw = request.POST.get("hypothesis", "")
        h = Hypothesis.objects.filter(project=project, pk=raw).first() if raw.isdigit() else None
        if h is None:
            return _render(
                request, access, errors={"hypothesis": ["No such hypothesis."]}, status=404
            )
        if action == "delete":
            hypotheses.hypothesis_delete(hypothesis=h)
            return redirect(url)
        h.project = project
        hypothesis_evaluation.evaluate(h)
        return redirect(f"{url}#hypothesis-{h.pk}")
    try:
        h = hypotheses.hypothesis_create(
            project=project, user=request.user, **_parse(project, request.POST)
        )
    except ValidationError as exc:
        return _render(request, access, errors=exc.message_dict, status=400)
    return redirect(f"{url}#hypothesis-{h.pk}")


urlpatterns = [
    path("p/<slug:slug>/hypotheses/", hypotheses_page, name="hypotheses"),
]
