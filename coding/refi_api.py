"""REFI-QDA project exchange: `GET projects/{slug}/refi/` downloads the project as `.qdpx`
(`?format=qdc`: the codebook as `.qdc`). Needs EXPORT.

The `X-Data-Loss` header lists, separated by " | ", what REFI-QDA could not hold (speaker turns,
the PII key, suggestions ...; coding/refi/DESIGN.md). The view is one ViewSet so the import
(POST, IMPORT) can be added beside `list` as `create`: `refi_routes()` routes whichever exists.
"""

import io
import json
from typing import Any

from django.http import HttpResponse
from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from coding.models import Code
from coding.refi.export import project_to_qda
from coding.refi.writer import write_codebook_xml, write_qdpx
from coding.refi_import_api import RefiImportMixin
from research.api.base import ProjectScopedViewSet
from research.audit import OBJECT_PROJECT, audit_record
from research.models import AuditEvent
from research.roles import Capability

QDPX_TYPE = "application/zip"
QDC_TYPE = "application/xml"
FORMATS = ("qdpx", "qdc")
DATA_LOSS_HEADER = "X-Data-Loss"


class _Download(BaseRenderer):
    """Selects the download format; the view writes the file, and errors are rendered as JSON
    (`finalize_response`), so this renders nothing of its own."""

    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data).encode("utf-8")


class QdpxRenderer(_Download):
    media_type = QDPX_TYPE
    format = "qdpx"


class QdcRenderer(_Download):
    media_type = QDC_TYPE
    format = "qdc"


def _header_text(lines: list[str]) -> str:
    # The sentences name no user data, but a header must be Latin-1: be sure of it.
    return " | ".join(lines).encode("ascii", "replace").decode("ascii")


class RefiViewSet(RefiImportMixin, ProjectScopedViewSet):
    """The project in REFI-QDA form: GET exports it, POST (RefiImportMixin) imports a file."""

    read_need = Capability.EXPORT
    write_needs = {"create": Capability.IMPORT}
    renderer_classes = (JSONRenderer, QdpxRenderer, QdcRenderer)
    queryset = Code.objects.none()  # for the schema only
    pagination_class = None
    filter_backends: list[Any] = []

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # An unknown ?format= would be DRF's 404 before the access check; answer it as a 400
        # naming the parameter instead (see `list`).
        return super().perform_content_negotiation(request, force=True)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Downloads are plain HttpResponses; anything DRF renders here is an error: JSON, always.
        if isinstance(response, Response):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def _format(self, request: Request) -> str:
        asked = request.query_params.get("format")
        if asked is None:
            accepted = getattr(request.accepted_renderer, "format", "")
            return accepted if accepted in FORMATS else "qdpx"
        if asked not in FORMATS:
            raise ValidationError({"format": [f"Use one of {', '.join(FORMATS)}, not {asked!r}."]})
        return asked

    @extend_schema(
        summary="Download the project as REFI-QDA (.qdpx) or its codebook (.qdc)",
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(FORMATS),
                required=False,
                description="`qdpx` (default): project.qde plus sources/; `qdc`: the codebook.",
            ),
            OpenApiParameter(
                DATA_LOSS_HEADER,
                str,
                OpenApiParameter.HEADER,
                response=[200],
                description='What REFI-QDA could not hold, sentences separated by " | ".',
            ),
        ],
        responses={
            (200, QDPX_TYPE): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description="`<slug>.qdpx`: a zip of project.qde and sources/<GUID>.txt.",
            ),
            (200, QDC_TYPE): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description="`<slug>-codebook.qdc`: the REFI-QDA codebook XML.",
            ),
        },
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        fmt = self._format(request)
        qda = project_to_qda(self.project)
        if fmt == "qdc":
            try:
                body = write_codebook_xml(qda)
            except ValueError as exc:
                raise ValidationError({"format": [str(exc)]}) from exc
            response = HttpResponse(body, content_type=QDC_TYPE)
            filename = f"{self.project.slug}-codebook.qdc"
        else:
            buffer = io.BytesIO()
            write_qdpx(qda, buffer)
            response = HttpResponse(buffer.getvalue(), content_type=QDPX_TYPE)
            filename = f"{self.project.slug}.qdpx"
            # A .qdpx carries every transcript's raw text: one audit event for the whole read.
            audit_record(
                action=AuditEvent.Action.READ_TRANSCRIPT,
                project=self.project,
                user=request.user,
                object_type=OBJECT_PROJECT,
                object_id=self.project.pk,
                request=request,
                detail={"documents": len(qda.sources)},
            )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response[DATA_LOSS_HEADER] = _header_text(qda.not_carried)
        return response


def refi_routes() -> list[URLPattern]:
    """`projects/{slug}/refi/`, named `refi`, with the actions `RefiViewSet` implements."""
    actions: dict[str, Any] = {
        method: action
        for method, action in {"get": "list", "post": "create"}.items()
        if hasattr(RefiViewSet, action)
    }
    return [path("projects/<slug:slug>/refi/", RefiViewSet.as_view(actions), name="refi")]
