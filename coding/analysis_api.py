"""Analysis API (issue 5): theme × segment, theme × metric, coverage and the quotes behind a cell.

The views only parse query parameters and shape JSON; `coding.analysis` decides what counts as
evidence and `coding.stats` computes. Every route takes the same snapshot and filter parameters:

* ``segmentation``: a snapshot id of this project (another project's, or a missing one: 404);
  default the most recently imported snapshot (none at all: 400 naming ``segmentation``).
* ``level`` (``theme`` | ``code``), ``unit`` (``participant`` | ``excerpt``; theme × segment
  only), ``source`` (document kinds, comma-separated), ``customer_speech`` (``1``/``0``),
  ``date_from`` / ``date_to`` (``YYYY-MM-DD``, inclusive). A bad value is a 400 naming the
  parameter.

Access: the JSON answers need READ — the matrix is analysis a manager or a coder reads in the
app anyway. The CSV and XLSX downloads need EXPORT like every other export (coders lack it):
a download leaves the application, which is what the EXPORT capability governs. Every download
cell is formula-safe (`coding.export_safety`).
"""

from datetime import date
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from coding import analysis, evidence
from coding.exports_api import XLSX_TYPE, CSVExportRenderer, XLSXExportRenderer, table_download
from coding.models import Code, Excerpt
from research.api.base import ProjectScopedViewSet
from research.api.segmentations import SegmentationSerializer
from research.models import Segmentation
from research.permissions import access_object
from research.roles import Capability

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
MAX_QUOTES = 500
MAX_RECRUIT = 1000

CELL_COLUMNS = [
    "code",
    "code_name",
    "path",
    "segment",
    "participants",
    "n",
    "size",
    "prevalence",
    "lift",
    "ci_low",
    "ci_high",
    "expected",
    "enough_evidence",
    "test",
    "p_value",
    "q_value",
]
METRIC_COLUMNS = [
    "code",
    "code_name",
    "path",
    "n_with",
    "n_without",
    "median_with",
    "median_without",
    "test",
    "statistic",
    "p_value",
    "q_value",
    "effect_size",
]


def _bad(parameter: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({parameter: [message]})


def _choice(request: Request, parameter: str, choices: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(parameter, default).strip() or default
    if value not in choices:
        raise _bad(parameter, f"Use one of {', '.join(choices)}; got {value!r}.")
    return value


def _date(request: Request, parameter: str) -> date | None:
    value = request.query_params.get(parameter, "").strip()
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(parameter, f"Give a date as YYYY-MM-DD; got {value!r}.") from None


def parse_filters(request: Request) -> analysis.Filters:
    """The evidence filters of a request; raises a ValidationError naming the bad parameter."""
    sources = {s.strip() for s in request.query_params.get("source", "").split(",") if s.strip()}
    unknown = sorted(sources - set(analysis.SOURCES))
    if unknown:
        raise _bad(
            "source",
            f"Unknown source {', '.join(unknown)}; use {', '.join(analysis.SOURCES)}.",
        )
    speech = request.query_params.get("customer_speech", "").strip().lower()
    if speech not in _TRUE | _FALSE:
        raise _bad("customer_speech", "Use 1 or 0.")
    date_from, date_to = _date(request, "date_from"), _date(request, "date_to")
    if date_from and date_to and date_to < date_from:
        raise _bad("date_to", "date_to is before date_from.")
    return analysis.Filters(
        sources=frozenset(sources),
        customer_speech_only=speech in _TRUE,
        date_from=date_from,
        date_to=date_to,
    )


def _filters_payload(filters: analysis.Filters) -> dict[str, Any]:
    return {
        "source": sorted(filters.sources),
        "customer_speech": filters.customer_speech_only,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
    }


def _int(request: Request, parameter: str, default: int, low: int, high: int) -> int:
    value = request.query_params.get(parameter, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(parameter, f"Give a whole number; got {value!r}.") from None
    if not low <= number <= high:
        raise _bad(parameter, f"Give a number from {low} to {high}.")
    return number


_COMMON = [
    OpenApiParameter(
        "segmentation", int, required=False, description="Snapshot id (default: the latest)."
    ),
    OpenApiParameter("level", str, enum=list(analysis.LEVELS), required=False),
    OpenApiParameter(
        "source",
        str,
        required=False,
        description=f"Document kinds, comma-separated: {', '.join(analysis.SOURCES)}.",
    ),
    OpenApiParameter("customer_speech", str, enum=["0", "1"], required=False),
    OpenApiParameter("date_from", OpenApiTypes.DATE, required=False),
    OpenApiParameter("date_to", OpenApiTypes.DATE, required=False),
]
_UNIT = OpenApiParameter("unit", str, enum=list(analysis.UNITS), required=False)


def _format(formats: list[str]) -> OpenApiParameter:
    return OpenApiParameter("format", str, enum=["json", *formats], required=False)


def _responses(description: str, *, xlsx: bool) -> dict[Any, OpenApiResponse]:
    responses: dict[Any, OpenApiResponse] = {
        (200, "application/json"): OpenApiResponse(
            response=OpenApiTypes.OBJECT, description=description
        ),
        (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="The CSV."),
    }
    if xlsx:
        responses[(200, XLSX_TYPE)] = OpenApiResponse(
            response=OpenApiTypes.BINARY, description="The XLSX."
        )
    return responses


class _AnalysisView(ProjectScopedViewSet):
    """Shared parsing; downloads (csv, xlsx) additionally need EXPORT."""

    queryset = Excerpt.objects.none()  # for the schema only
    pagination_class = None
    filter_backends: list[Any] = []
    renderer_classes: tuple[Any, ...] = (JSONRenderer,)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.accepted_renderer.format in ("csv", "xlsx"):
            self.access.require(Capability.EXPORT)

    def segmentation(self) -> Segmentation:
        """The requested snapshot of this project (404 if not one), else the latest."""
        wanted = self.request.query_params.get("segmentation", "").strip()
        snapshots = self.project.segmentations.all()
        if wanted:
            return access_object(snapshots, wanted)
        latest = snapshots.order_by("-imported_at", "-id").first()
        if latest is None:
            raise _bad("segmentation", "This project has no segmentation snapshot: import one.")
        return latest

    def level(self) -> analysis.Level:
        return _choice(self.request, "level", analysis.LEVELS, "theme")  # type: ignore[return-value]

    def download(self, columns: list[str], rows: list[dict[str, Any]], name: str) -> Any:
        fmt = self.request.accepted_renderer.format
        return table_download(fmt, columns, rows, f"{self.project.slug}-{name}")

    def handle_exception(self, exc: Exception) -> Response:
        # Errors answer JSON (with its content type) even when a download was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)


class ThemeSegmentView(_AnalysisView):
    """Theme × segment: per row its totals and test, per cell prevalence, lift, Wilson interval
    and whether there is enough evidence to call it a finding; `?format=csv|xlsx` gives the
    flat cells table."""

    renderer_classes = (JSONRenderer, CSVExportRenderer, XLSXExportRenderer)

    @extend_schema(
        parameters=[*_COMMON, _UNIT, _format(["csv", "xlsx"])],
        responses=_responses(
            '`{"segmentation", "level", "unit", "filters", "segments": [{"name", '
            '"participants"}], "rows": [...], "cells": [...]}`',
            xlsx=True,
        ),
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        level = self.level()
        unit = _choice(request, "unit", analysis.UNITS, "participant")
        filters = parse_filters(request)
        segmentation = self.segmentation()
        dataset = analysis.gather(
            project=self.project, segmentation=segmentation, level=level, filters=filters
        )
        result = analysis.theme_segment(dataset, unit)
        cells = analysis.theme_segment_cells(dataset, result)
        download = self.download(CELL_COLUMNS, cells, f"theme-segment-{level}-{unit}")
        if download is not None:
            return download
        rows = [
            {
                "code": int(row.code),  # type: ignore[call-overload]
                "code_name": dataset.names[int(row.code)],  # type: ignore[call-overload]
                "path": dataset.paths[int(row.code)],  # type: ignore[call-overload]
                "n": row.n,
                "size": row.size,
                "prevalence": analysis.clean(row.prevalence),
                "test": row.test,
                "statistic": analysis.clean(row.statistic),
                "p_value": analysis.clean(row.p_value),
                "q_value": analysis.clean(row.q_value),
            }
            for row in result.rows
        ]
        return Response(
            {
                "segmentation": SegmentationSerializer(segmentation).data,
                "level": level,
                "unit": unit,
                "filters": _filters_payload(filters),
                "min_participants": analysis.min_participants(),
                "segments": [
                    {"name": name, "participants": result.segment_participants.get(name, 0)}
                    for name in result.segments
                ],
                "rows": rows,
                "cells": cells,
            }
        )


class ThemeMetricView(_AnalysisView):
    """Theme × metric: participants with vs without each row compared on one of the snapshot's
    metrics (numeric or date: medians, Mann–Whitney U, rank-biserial; categorical: χ²/Fisher)."""

    renderer_classes = (JSONRenderer, CSVExportRenderer, XLSXExportRenderer)

    @extend_schema(
        parameters=[
            OpenApiParameter("metric", str, required=True),
            *_COMMON,
            _format(["csv", "xlsx"]),
        ],
        responses=_responses(
            '`{"segmentation", "metric", "type", "level", "filters", "results": [...]}`',
            xlsx=True,
        ),
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        level = self.level()
        filters = parse_filters(request)
        segmentation = self.segmentation()
        metric = request.query_params.get("metric", "").strip()
        metrics = list(segmentation.metric_types)
        if metric not in segmentation.metric_types:
            listed = ", ".join(metrics) if metrics else "none"
            what = f"No metric {metric!r} in" if metric else "Name a metric of"
            raise _bad("metric", f"{what} snapshot {segmentation}; its metrics: {listed}.")
        dataset = analysis.gather(
            project=self.project, segmentation=segmentation, level=level, filters=filters
        )
        results = analysis.theme_metric(dataset, metric)
        download = self.download(METRIC_COLUMNS, results, f"theme-metric-{level}")
        if download is not None:
            return download
        return Response(
            {
                "segmentation": SegmentationSerializer(segmentation).data,
                "metric": metric,
                "type": segmentation.metric_types[metric],
                "level": level,
                "filters": _filters_payload(filters),
                "results": results,
            }
        )


class CoverageView(_AnalysisView):
    """Per segment: observed participants, sessions, excerpts, whether there are enough
    participants to support a claim, and the customers to recruit next (by customer_ref)."""

    @extend_schema(
        parameters=[
            *[p for p in _COMMON if p.name != "level"],
            OpenApiParameter(
                "recruit", int, required=False, description="Customers listed per segment."
            ),
        ],
        responses={
            200: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description='`{"segmentation", "filters", "segments": [...]}`',
            )
        },
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        filters = parse_filters(request)
        recruit = _int(request, "recruit", 20, 0, MAX_RECRUIT)
        segmentation = self.segmentation()
        segments = evidence.coverage(
            project=self.project, segmentation=segmentation, filters=filters, recruit=recruit
        )
        return Response(
            {
                "segmentation": SegmentationSerializer(segmentation).data,
                "filters": _filters_payload(filters),
                "segments": segments,
            }
        )


class QuotesView(_AnalysisView):
    """The excerpts behind one cell (`code` and `segment`) or a whole row (no `segment`),
    customer speech first, with speaker, document, offsets and context."""

    @extend_schema(
        parameters=[
            OpenApiParameter("code", int, required=True),
            OpenApiParameter("segment", str, required=False, description="Segment name."),
            OpenApiParameter("limit", int, required=False),
            *_COMMON,
        ],
        responses={
            200: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description='`{"segmentation", "code", "code_name", "segment", "level", '
                '"filters", "total", "quotes": [...]}`',
            )
        },
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        level = self.level()
        filters = parse_filters(request)
        limit = _int(request, "limit", 50, 1, MAX_QUOTES)
        raw_code = request.query_params.get("code", "").strip()
        if not raw_code:
            raise _bad("code", "Name the code (its id).")
        code = access_object(Code.objects.filter(project=self.project), raw_code)
        if level == "theme" and code.parent_id is not None:
            raise _bad("code", f"{code.name!r} is not a theme; use level=code for it.")
        segmentation = self.segmentation()
        segment = request.query_params.get("segment")
        if segment is not None and not segmentation.segments.filter(name=segment).exists():
            names = ", ".join(segmentation.segments.order_by("name").values_list("name", flat=True))
            raise _bad(
                "segment", f"No segment {segment!r} in {segmentation}; its segments: {names}."
            )
        found = evidence.quotes(
            project=self.project,
            segmentation=segmentation,
            code=code.pk,
            segment=segment,
            level=level,
            filters=filters,
            limit=limit,
        )
        return Response(
            {
                "segmentation": SegmentationSerializer(segmentation).data,
                "code": code.pk,
                "code_name": code.name,
                "segment": segment,
                "level": level,
                "filters": _filters_payload(filters),
                **found,
            }
        )
