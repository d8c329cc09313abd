"""The manager dashboard (issue 5): theme × segment heatmap, the quotes behind a cell, a card per
theme, code frequencies, coverage and exports, for one segmentation snapshot.

Every number comes from `coding.analysis` (which hands the computing to `coding.stats`); this
module only chooses what to show and how. Guarantees:

* A cell is shown as a finding (full colour, bold, ★) only when it has enough evidence, its
  row's Benjamini–Hochberg q-value is below `FINDING_Q`, AND its adjusted residual is beyond
  ±`FINDING_RESIDUAL` — the segment itself drives the row's difference (a significant row does not
  make every segment in it different). Cells without enough evidence are hatched and never
  coloured; the rest are muted tints of the lift colour.
* The page's query count does not grow with themes, participants or excerpts (the coverage panel
  costs a few queries per segment of the snapshot).
* Charts are server-side SVG sized by attributes: no inline style or script, no CDN.
* The quotes route answers htmx with a fragment and a plain browser with a full page, so a cell is
  an ordinary link that works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_safe

from coding import analysis, evidence
from coding.models import Code
from frontend.areas.dashboard_parts import (
    FINDING_Q,
    LEVEL_LABELS,
    QUOTE_LIMIT,
    SEGMENT_COLOURS,
    UNIT_LABELS,
    export_links,
    frequency_bars,
    heatmap_rows,
    theme_cards,
)
from frontend.areas.filter_form import evidence_filters
from frontend.views import AuthedRequest
from observations.models import Document
from research.models import Project, Segmentation
from research.permissions import access_project
from research.roles import Capability

# --- request parsing -----------------------------------------------------------------------------


@dataclass
class Choice:
    """What the filter form asks for, after validation; `errors` names what was ignored."""

    segmentation: Segmentation | None
    level: analysis.Level
    unit: str
    filters: analysis.Filters
    errors: list[str] = field(default_factory=list)

    def params(self) -> dict[str, str]:
        """The choice as query parameters, for links that keep it."""
        out: dict[str, str] = {}
        if self.segmentation is not None:
            out["snapshot"] = str(self.segmentation.pk)
        out["level"] = self.level
        out["unit"] = self.unit
        out.update(self.filters.as_params())
        return out


def parse_choice(project: Project, query: QueryDict, snapshots: list[Segmentation]) -> Choice:
    """Read the filter form. Bad values are reported and replaced by the default; a snapshot id
    that is not one of this project's is a 404 (exactly like another project's object)."""
    errors: list[str] = []
    segmentation = snapshots[0] if snapshots else None
    raw_snapshot = query.get("snapshot", "").strip()
    if raw_snapshot:
        by_id = {str(s.pk): s for s in snapshots}
        if not raw_snapshot.isdigit() or raw_snapshot not in by_id:
            raise Http404("No such snapshot in this project.")
        segmentation = by_id[raw_snapshot]
    level = query.get("level", "theme")
    if level not in analysis.LEVELS:
        errors.append(f"Level “{level}” is unknown; showing themes.")
        level = "theme"
    unit = query.get("unit", "participant")
    if unit not in analysis.UNITS:
        errors.append(f"Unit “{unit}” is unknown; counting participants.")
        unit = "participant"
    filters = evidence_filters(query, errors)
    return Choice(segmentation, level, unit, filters, errors)  # type: ignore[arg-type]


def _snapshots(project: Project) -> list[Segmentation]:
    """The project's snapshots, newest import first (the default is the first)."""
    return list(project.segmentations.order_by("-imported_at", "-version", "-pk"))


# --- formatting ---------------------------------------------------------------------------------


@login_required
@require_safe
def dashboard_page(request: AuthedRequest, slug: str) -> HttpResponse:
    access = access_project(request.user, slug, need=Capability.READ)
    project = access.project
    snapshots = _snapshots(project)
    choice = parse_choice(project, request.GET, snapshots)
    context: dict[str, Any] = {
        "project": project,
        "snapshots": snapshots,
        "choice": choice,
        "sources": Document.Kind.choices,
        "levels": LEVEL_LABELS.items(),
        "units": UNIT_LABELS.items(),
        "form_errors": choice.errors,
    }
    status = 400 if choice.errors else 200  # the page still renders, with the defaults used
    if choice.segmentation is None:
        return render(request, "frontend/dashboard/page.html", context, status=status)
    params = choice.params()
    dataset = analysis.gather(
        project=project,
        segmentation=choice.segmentation,
        level=choice.level,
        filters=choice.filters,
    )
    result = analysis.theme_segment(dataset, choice.unit)
    rows = heatmap_rows(dataset, result, slug, params)
    excerpt_bars, people_bars, legend = frequency_bars(dataset)
    context.update(
        {
            "dataset": dataset,
            "result": result,
            "rows": rows,
            "segments": [
                (name, result.segment_participants.get(name, 0)) for name in result.segments
            ],
            "findings": sum(1 for row in rows for cell in row.cells if cell.finding),
            "thin_cells": sum(1 for row in rows for cell in row.cells if not cell.enough),
            "cell_count": sum(len(row.cells) for row in rows),
            "min_participants": analysis.min_participants(),
            "finding_q": FINDING_Q,
            "cards": theme_cards(dataset, result, rows) if choice.level == "theme" else [],
            "excerpt_bars": excerpt_bars,
            "people_bars": people_bars,
            "segment_legend": [(name, i % SEGMENT_COLOURS) for i, name in enumerate(legend)],
            "coverage": evidence.coverage(
                project=project, segmentation=choice.segmentation, dataset=dataset
            ),
            "exports": export_links(access.can(Capability.EXPORT), slug, params),
        }
    )
    return render(request, "frontend/dashboard/page.html", context, status=status)


class BadQuery(Exception):
    """A malformed quotes request: answered with 400 and the message."""


def _quotes_target(project: Project, query: QueryDict, choice: Choice) -> tuple[int, str | None]:
    raw = query.get("code", "").strip()
    if not raw:
        raise BadQuery("Say which theme: the code parameter is missing.")
    if not raw.isdigit():
        raise BadQuery("The code parameter must be a number.")
    segment = query.get("segment")
    assert choice.segmentation is not None
    if segment is not None and segment not in set(
        choice.segmentation.segments.values_list("name", flat=True)
    ):
        raise Http404("No such segment in this snapshot.")
    return int(raw), segment


@login_required
@require_safe
def dashboard_quotes(request: AuthedRequest, slug: str) -> HttpResponse:
    """The quotes behind one cell (or a whole row without `segment`): a fragment for htmx, a
    page otherwise. Another project's code, or a code that is no row at this level, is a 404."""
    access = access_project(request.user, slug, need=Capability.READ)
    project = access.project
    snapshots = _snapshots(project)
    choice = parse_choice(project, request.GET, snapshots)
    template = f"frontend/dashboard/{'_quotes' if request.htmx else 'quotes'}.html"
    context: dict[str, Any] = {"project": project, "choice": choice, "error": ""}
    if choice.segmentation is None:
        context["error"] = "Import a segmentation snapshot first."
        return render(request, template, context, status=400)
    try:
        code, segment = _quotes_target(project, request.GET, choice)
    except BadQuery as error:
        context["error"] = str(error)
        return render(request, template, context, status=400)
    try:
        found = evidence.quotes(
            project=project,
            segmentation=choice.segmentation,
            code=code,
            segment=segment,
            level=choice.level,
            filters=choice.filters,
            limit=QUOTE_LIMIT,
        )
    except Code.DoesNotExist:
        raise Http404("No such theme in this project.") from None
    name = project.codes.values_list("name", flat=True).get(pk=code)
    kinds = dict(Document.Kind.choices)
    for quote in found["quotes"]:
        quote["source_label"] = kinds.get(quote["source"], quote["source"])
    params = choice.params()
    context.update(
        {
            "code": code,
            "code_name": name,
            "segment": segment,
            "total": found["total"],
            "quotes": found["quotes"],
            "limit": QUOTE_LIMIT,
            "back_url": f"{reverse('frontend:dashboard', args=[slug])}?{urlencode(params)}",
        }
    )
    return render(request, template, context)


urlpatterns = [
    path("p/<slug:slug>/dashboard/", dashboard_page, name="dashboard"),
    path("p/<slug:slug>/dashboard/quotes/", dashboard_quotes, name="dashboard-quotes"),
]
