"""Tabular exports for analysts and data scientists: excerpts with participant attributes and
code paths, and theme features (one row per participant, one column per code).

Each route answers JSON `{"columns": [...], "results": [...]}` with the whole table (no
pagination: the consumer wants the table, and CSV/XLSX are the usual way to fetch it), or
`?format=csv` / `?format=xlsx` as a download. The excerpt CSV is streamed; the XLSX files and
the theme-feature CSV are built in memory. Every CSV and XLSX cell goes through
`coding.export_safety.safe_cell`, so no cell can run as a formula in a spreadsheet. Needs the
EXPORT capability (owners, researchers, managers).
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from openpyxl import Workbook
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from coding import selectors
from coding.export_safety import safe_row
from coding.models import Excerpt
from research.api.base import ProjectScopedViewSet
from research.roles import Capability

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _ErrorAsJSON(BaseRenderer):
    """Selects the download format; the table itself is written by the view. Errors (403,
    404) reaching the renderer keep their JSON body."""

    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")


class CSVExportRenderer(_ErrorAsJSON):
    media_type = "text/csv"
    format = "csv"


class XLSXExportRenderer(_ErrorAsJSON):
    media_type = XLSX_TYPE
    format = "xlsx"


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(columns: list[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(safe_row(columns))
    for row in rows:
        yield writer.writerow(safe_row([row.get(c) for c in columns]))


def xlsx_bytes(columns: list[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """An XLSX workbook of the table; every text cell is stored as text, never a formula."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for r, values in enumerate(
        [safe_row(columns), *(safe_row([row.get(c) for c in columns]) for row in rows)], start=1
    ):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_download(
    fmt: str, columns: list[str], rows: Iterable[dict[str, Any]], filename: str
) -> HttpResponse | StreamingHttpResponse | None:
    """The table as a formula-safe CSV (streamed) or XLSX attachment named `filename` (no
    extension, ASCII without quotes), or None for any other format (the caller answers JSON)."""
    response: HttpResponse | StreamingHttpResponse
    if fmt == "csv":
        response = StreamingHttpResponse(
            _csv_lines(columns, rows), content_type="text/csv; charset=utf-8"
        )
    elif fmt == "xlsx":
        response = HttpResponse(xlsx_bytes(columns, rows), content_type=XLSX_TYPE)
    else:
        return None
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


_FORMAT = OpenApiParameter(
    "format", str, enum=["json", "csv", "xlsx"], required=False, description="Download format."
)
_RESPONSES = {
    (200, "application/json"): OpenApiResponse(
        response=OpenApiTypes.OBJECT,
        description='`{"columns": [...], "results": [{column: value}]}`, the whole table.',
    ),
    (200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description="The CSV."),
    (200, XLSX_TYPE): OpenApiResponse(response=OpenApiTypes.BINARY, description="The XLSX."),
}


class _ExportView(ProjectScopedViewSet):
    read_need = Capability.EXPORT
    renderer_classes = (JSONRenderer, CSVExportRenderer, XLSXExportRenderer)
    queryset = Excerpt.objects.none()  # for the schema only
    pagination_class = None
    filter_backends: list[Any] = []
    name_part = ""

    def table(self) -> tuple[list[str], Iterable[dict[str, Any]]]:
        raise NotImplementedError

    def respond(self, request: Request) -> Any:
        columns, rows = self.table()
        fmt = request.accepted_renderer.format
        download = table_download(fmt, columns, rows, f"{self.project.slug}-{self.name_part}")
        if download is not None:
            return download
        return Response({"columns": columns, "results": list(rows)})


class ExcerptExportView(_ExportView):
    """Every excerpt: quote, document, participant and their attributes (`attr:<name>`), code
    and code path ("Theme > Code > Child"), coder, offsets, memo, review flag."""

    name_part = "excerpts"

    def table(self) -> tuple[list[str], Iterable[dict[str, Any]]]:
        columns = selectors.excerpt_export_columns(project=self.project)
        return columns, selectors.excerpt_export_rows(project=self.project)

    @extend_schema(parameters=[_FORMAT], responses=_RESPONSES)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return self.respond(request)


class ThemeFeatureExportView(_ExportView):
    """One row per participant: `participant`, `customer_ref`, then one column per code (named
    by the code, or its path when names repeat) holding that participant's excerpt count."""

    name_part = "theme-features"

    def table(self) -> tuple[list[str], Iterable[dict[str, Any]]]:
        return selectors.theme_feature_rows(project=self.project)

    @extend_schema(parameters=[_FORMAT], responses=_RESPONSES)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return self.respond(request)
