"""Code co-occurrence API (issue 7): ``GET projects/{slug}/analysis/cooccurrence/`` (+ csv, xlsx).

Parameters: ``by`` (``overlap`` | ``sentence`` | ``participant``, default overlap), ``level``
(``code`` | ``theme``, default code), ``coder`` (usernames, comma-separated; default every
coder), and the evidence filters of theme × segment under the same names: ``source``,
``customer_speech``, ``date_from``, ``date_to``. A bad value is a 400 naming the parameter.
What a cell holds is `coding.cooccurrence`'s module note. Access as every analysis route: JSON
needs READ, downloads EXPORT; download cells are formula-safe.
"""

from typing import Any

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from coding import cooccurrence as cooc
from coding.analysis_api import (
    _COMMON,
    _AnalysisView,
    _bad,
    _choice,
    _filters_payload,
    _format,
    _responses,
    parse_filters,
)
from coding.exports_api import CSVExportRenderer, XLSXExportRenderer
from research.models import Project, User

CELL_COLUMNS = [
    "code_a",
    "code_a_name",
    "code_b",
    "code_b_name",
    "count",
    "coefficient",
]


def parse_coders(project: Project, raw: str) -> tuple[frozenset[int], list[str]]:
    """({user id}, [username]) of the comma-separated usernames in `raw`: members of `project` or
    authors of its excerpts. Raises a ValidationError naming ``coder`` for any other name."""
    names = sorted({n.strip() for n in raw.split(",") if n.strip()})
    if not names:
        return frozenset(), []
    found = dict(
        User.objects.filter(username__in=names)
        .filter(Q(memberships__project=project) | Q(excerpts__project=project))
        .values_list("username", "pk")
        .distinct()
    )
    unknown = [n for n in names if n not in found]
    if unknown:
        raise _bad("coder", f"No coder {', '.join(unknown)} in this project.")
    return frozenset(found.values()), names


def parse_options(request: Request, project: Project) -> tuple[cooc.Options, list[str]]:
    """The request's options and the coders' usernames; 400 naming a bad parameter."""
    by = _choice(request, "by", cooc.BYS, "overlap")
    level = _choice(request, "level", ("code", "theme"), "code")
    filters = parse_filters(request)
    coders, names = parse_coders(project, request.query_params.get("coder", ""))
    options = cooc.Options(by=by, level=level, filters=filters, coders=coders)  # type: ignore[arg-type]
    return options, names


def matrix_payload(matrix: cooc.Matrix) -> dict[str, Any]:
    """The JSON of a matrix: ``codes`` and ``cells`` (each pair once, diagonal included)."""
    return {
        "codes": [
            {"id": c.id, "name": c.name, "path": c.path, "color": c.color, "count": c.count}
            for c in matrix.codes
        ],
        "cells": [
            {
                "code_a": c.code_a,
                "code_b": c.code_b,
                "count": c.count,
                "coefficient": c.coefficient,
            }
            for c in matrix.cells
        ],
    }


class CooccurrenceView(_AnalysisView):
    """Code × code counts of excerpts that overlap, share a sentence or share a participant, with
    each pair's Jaccard index; `?format=csv|xlsx` gives the cells as a table."""

    renderer_classes = (JSONRenderer, CSVExportRenderer, XLSXExportRenderer)

    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, enum=list(cooc.BYS), required=False),
            OpenApiParameter("level", str, enum=["code", "theme"], required=False),
            OpenApiParameter(
                "coder", str, required=False, description="Usernames, comma-separated."
            ),
            *[p for p in _COMMON if p.name not in ("segmentation", "level")],
            _format(["csv", "xlsx"]),
        ],
        responses=_responses(
            '`{"by", "level", "coefficient": "jaccard", "filters", "codes": [{"id", "name", '
            '"path", "color", "count"}], "cells": [{"code_a", "code_b", "count", '
            '"coefficient"}]}` — each pair of codes once, code_a before code_b in codebook '
            "order; the diagonal holds a code's own count; pairs that never meet are left out.",
            xlsx=True,
        ),
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        options, coders = parse_options(request, self.project)
        matrix = cooc.cooccurrence(project=self.project, options=options)
        payload = matrix_payload(matrix)
        if request.accepted_renderer.format in ("csv", "xlsx"):
            names = {c["id"]: c["name"] for c in payload["codes"]}
            rows = [
                {**c, "code_a_name": names[c["code_a"]], "code_b_name": names[c["code_b"]]}
                for c in payload["cells"]
            ]
            return self.download(CELL_COLUMNS, rows, f"cooccurrence-{options.by}-{options.level}")
        return Response(
            {
                "by": options.by,
                "level": options.level,
                "coefficient": cooc.COEFFICIENT,
                "filters": {**_filters_payload(options.filters), "coder": coders},
                **payload,
            }
        )
