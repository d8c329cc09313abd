"""Code co-occurrence page (issue 7): the code × code matrix as a heatmap, and the passages where
two codes meet.

Every number comes from `coding.cooccurrence` (what a cell holds is its module note). Guarantees:

* The heatmap is a table: row and column headers name the codes, every cell shows its count and
  carries a label in words; colour (the Jaccard index, in bins named in the legend) only repeats
  what the numbers say. Cells reuse the dashboard's ramp and drill-down panel (dashboard.js).
* A cell where two codes meet links to its passages (``by`` overlap or sentence): an htmx fragment
  in the page, a page of its own without JavaScript. Each passage links into the workspace
  (``?excerpt=<id>``).
* Bad form values are reported and replaced by defaults (status 400); a code of another project,
  or no row at the chosen level, is a 404. Query counts do not grow with codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_safe

from coding import cooccurrence as cooc
from frontend.areas.filter_form import evidence_filters
from frontend.views import AuthedRequest
from observations.models import Document
from research.models import Project, User
from research.permissions import access_project
from research.roles import Capability

BY_LABELS = {
    "overlap": "Overlapping excerpts",
    "sentence": "Same sentence",
    "participant": "Same participant",
}
BY_UNITS = {
    "overlap": ("overlapping pair", "excerpt"),
    "sentence": ("shared sentence", "sentence"),
    "participant": ("shared participant", "participant"),
}
LEVEL_LABELS = {"code": "Codes", "theme": "Themes"}
# Jaccard bins (upper bound, dashboard ramp step): 0 is grey, then four purples.
STEPS = ((0.0, 0), (0.1, 1), (0.25, 2), (0.5, 3), (1.01, 4))
PASSAGE_LIMIT = 50


@dataclass
class Choice:
    """The form's values after validation; `errors` says what was ignored."""

    options: cooc.Options
    coder: str = ""
    errors: list[str] = field(default_factory=list)

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {"by": self.options.by, "level": self.options.level}
        out.update(self.options.filters.as_params())
        if self.coder:
            out["coder"] = self.coder
        return out


def parse_choice(project: Project, query: QueryDict) -> Choice:
    """Read the form; bad values are reported and the defaults used."""
    errors: list[str] = []
    by = query.get("by", "overlap")
    if by not in cooc.BYS:
        errors.append(f"“{by}” is not a way to meet; counting overlapping excerpts.")
        by = "overlap"
    level = query.get("level", "code")
    if level not in LEVEL_LABELS:
        errors.append(f"Level “{level}” is unknown; showing codes.")
        level = "code"
    coder = query.get("coder", "").strip()
    coders: frozenset[int] = frozenset()
    if coder:
        found = coder_choices(project).get(coder)
        if found is None:
            errors.append(f"No coder “{coder}” in this project; showing every coder.")
            coder = ""
        else:
            coders = frozenset({found})
    filters = evidence_filters(query, errors)
    options = cooc.Options(by=by, level=level, filters=filters, coders=coders)  # type: ignore[arg-type]
    return Choice(options, coder, errors)


def coder_choices(project: Project) -> dict[str, int]:
    """{username: id} of the project's members and the authors of its excerpts. One query."""
    return dict(
        User.objects.filter(Q(memberships__project=project) | Q(excerpts__project=project))
        .order_by("username")
        .values_list("username", "pk")
        .distinct()
    )


def step(value: float | None) -> int:
    """The ramp step (0–4) of a Jaccard index."""
    if not value:
        return 0
    return next(s for bound, s in STEPS if value <= bound)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def heatmap(matrix: cooc.Matrix, slug: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of the full symmetric matrix, each cell with count, coefficient, css, label, url."""
    cells = matrix.lookup()
    by = matrix.options.by
    pair_unit, own_unit = BY_UNITS[by]
    base = reverse("frontend:cooccurrence-passages", args=[slug])
    rows = []
    for a in matrix.codes:
        out = []
        for b in matrix.codes:
            cell = cells.get((a.id, b.id))
            count = cell.count if cell else 0
            value = cell.coefficient if cell else None
            if a.id == b.id:
                label = f"{a.name}: {count} {own_unit}{'s' if count != 1 else ''}"
                css, url = "cooc-cell--diag", ""
            else:
                label = (
                    f"{a.name} and {b.name}: {count} {pair_unit}{'s' if count != 1 else ''}, "
                    f"Jaccard {_fmt(value)}"
                )
                css = f"dash-cell--{'up' if step(value) else 'flat'}{step(value)}"
                if not count:
                    css += " cooc-cell--zero"
                url = ""
                if count and by != "participant":
                    url = f"{base}?{urlencode({**params, 'a': a.id, 'b': b.id})}"
            out.append(
                {
                    "count": count,
                    "coefficient": _fmt(value),
                    "css": css,
                    "label": label,
                    "url": url,
                    "diagonal": a.id == b.id,
                }
            )
        rows.append({"code": a, "cells": out})
    return rows


@login_required
@require_safe
def cooccurrence_page(request: AuthedRequest, slug: str) -> HttpResponse:
    access = access_project(request.user, slug, need=Capability.READ)
    project = access.project
    choice = parse_choice(project, request.GET)
    matrix = cooc.cooccurrence(project=project, options=choice.options)
    params = choice.params()
    exports = []
    if access.can(Capability.EXPORT):
        api = reverse("api:analysis-cooccurrence", args=[slug])
        exports = [
            (fmt.upper(), f"{api}?{urlencode({**params, 'format': fmt})}")
            for fmt in ("csv", "xlsx")
        ]
    context = {
        "project": project,
        "choice": choice,
        "matrix": matrix,
        "rows": heatmap(matrix, slug, params),
        "bys": BY_LABELS.items(),
        "levels": LEVEL_LABELS.items(),
        "sources": Document.Kind.choices,
        "coders": list(coder_choices(project)),
        "unit": BY_UNITS[choice.options.by],
        "by_label": BY_LABELS[choice.options.by],
        "exports": exports,
        "form_errors": choice.errors,
    }
    return render(
        request, "frontend/cooccurrence/page.html", context, status=400 if choice.errors else 200
    )


class BadQuery(Exception):
    """A malformed passages request: answered with 400 and the message."""


def _pair(project: Project, query: QueryDict, level: str) -> tuple[int, int]:
    """The two codes of a passages request, rows of `project` at `level`. Missing or not a
    number: BadQuery (400); two alike or participant: BadQuery; another project's or no row at
    this level: 404."""
    raw = [query.get(key, "").strip() for key in ("a", "b")]
    if not all(raw):
        raise BadQuery("Say which two codes: the a and b parameters name them.")
    if not all(r.isdigit() for r in raw):
        raise BadQuery("The a and b parameters must be code ids (numbers).")
    rows = set(cooc.row_ids(project=project, level=level))  # type: ignore[arg-type]
    a, b = int(raw[0]), int(raw[1])
    if a not in rows or b not in rows:
        raise Http404("No such code at this level in this project.")
    if a == b:
        raise BadQuery("Choose two different codes.")
    return a, b


@login_required
@require_safe
def cooccurrence_passages(request: AuthedRequest, slug: str) -> HttpResponse:
    """Where codes `a` and `b` meet: a fragment for htmx, a page otherwise."""
    access = access_project(request.user, slug, need=Capability.READ)
    project = access.project
    choice = parse_choice(project, request.GET)
    template = f"frontend/cooccurrence/{'_passages' if request.htmx else 'passages'}.html"
    params = choice.params()
    context: dict[str, Any] = {
        "project": project,
        "choice": choice,
        "error": "",
        "limit": PASSAGE_LIMIT,
        "back_url": f"{reverse('frontend:cooccurrence', args=[slug])}?{urlencode(params)}",
    }
    try:
        if choice.options.by == "participant":
            raise BadQuery("Participants share no passage: choose overlap or sentence.")
        a, b = _pair(project, request.GET, choice.options.level)
    except BadQuery as error:
        context["error"] = str(error)
        return render(request, template, context, status=400)
    names = dict(project.codes.filter(pk__in=(a, b)).values_list("pk", "name"))
    found = cooc.passages(
        project=project, options=choice.options, code_a=a, code_b=b, limit=PASSAGE_LIMIT
    )
    kinds = dict(Document.Kind.choices)
    for passage in found["passages"]:
        passage["source_label"] = kinds.get(passage["source"], passage["source"])
    context.update(
        name_a=names[a], name_b=names[b], total=found["total"], passages=found["passages"]
    )
    return render(request, template, context, status=400 if choice.errors else 200)


urlpatterns = [
    path("p/<slug:slug>/cooccurrence/", cooccurrence_page, name="cooccurrence"),
    path(
        "p/<slug:slug>/cooccurrence/passages/",
        cooccurrence_passages,
        name="cooccurrence-passages",
    ),
]
