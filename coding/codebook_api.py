"""API for codebook operations: merge, split, archive, history with undo, CSV export and import.

Reads need READ, every write EDIT_CODEBOOK. Each write is one service call that also records the
change in the codebook's history.
"""

import json
from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from coding import selectors, services
from coding.api import CodeSerializer
from coding.models import CodebookChange
from observations.services.imports import ImportValidationError
from research.api.base import ProjectRelatedField, ProjectScopedViewSet, request_user
from research.models import User
from research.permissions import access_object
from research.roles import Capability


@extend_schema_field(OpenApiTypes.INT)
class _IdField(ProjectRelatedField):
    """An id inside the request's project, typed for the schema (no model to derive it from)."""


class MergeSerializer(serializers.Serializer[Any]):
    into = _IdField(lambda p: p.codes.all(), help_text="The code that remains.")


class SplitSerializer(serializers.Serializer[Any]):
    excerpts = serializers.ListField(
        child=_IdField(lambda p: p.excerpts.all()),
        allow_empty=False,
        help_text="Ids of this code's excerpts that move to the new code.",
    )
    name = serializers.CharField(max_length=120, help_text="The new code's name (a sibling).")
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class CodebookCodeViewSet(ProjectScopedViewSet):
    """Operations on one code of the codebook; each answers with the resulting code."""

    serializer_class = CodeSerializer
    write_need = Capability.EDIT_CODEBOOK

    def scoped_queryset(self) -> Any:
        return selectors.code_list(project=self.project)

    def _answer(self, code: Any, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(CodeSerializer(self.refetch(code)).data, status=status_code)

    @extend_schema(request=MergeSerializer, responses={200: CodeSerializer})
    def merge(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Merge this code into `into`: excerpts move (exact duplicates collapse), children
        move, this code is deleted. Undo restores it exactly."""
        source = self.get_object()
        form = MergeSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        target = services.code_merge(
            source=source, target=form.validated_data["into"], user=request_user(request)
        )
        return self._answer(target)

    @extend_schema(request=SplitSerializer, responses={201: CodeSerializer})
    def split(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move chosen excerpts of this code to a new sibling code."""
        code = self.get_object()
        form = SplitSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        new = services.code_split(code=code, user=request_user(request), **form.validated_data)
        return self._answer(new, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: CodeSerializer})
    def archive(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Archive: the code keeps its excerpts but cannot be applied to new ones."""
        code = services.code_archive(code=self.get_object(), user=request_user(request))
        return self._answer(code)

    @extend_schema(request=None, responses={200: CodeSerializer})
    def unarchive(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Make an archived code available for coding again."""
        code = services.code_unarchive(code=self.get_object(), user=request_user(request))
        return self._answer(code)


class CodebookChangeSerializer(serializers.ModelSerializer[CodebookChange]):
    user = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )
    undone_by = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )
    undone = serializers.SerializerMethodField()

    def get_undone(self, change: CodebookChange) -> bool:
        return change.undone_at is not None

    class Meta:
        model = CodebookChange
        fields: tuple[str, ...] = (
            "id",
            "action",
            "summary",
            "code",
            "user",
            "created_at",
            "undone",
            "undone_at",
            "undone_by",
        )
        read_only_fields = fields


class CodebookHistoryViewSet(ProjectScopedViewSet):
    """The codebook's recorded changes, newest first; the latest can be undone."""

    serializer_class = CodebookChangeSerializer
    write_need = Capability.EDIT_CODEBOOK

    def scoped_queryset(self) -> Any:
        return selectors.codebook_history(project=self.project)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=None, responses={200: CodebookChangeSerializer})
    def undo(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Undo this change, restoring codes and excerpts exactly. Only the most recent change
        not yet undone can be undone (400 explaining otherwise)."""
        change = services.codebook_undo(change=self.get_object(), user=request_user(request))
        change = access_object(self.get_queryset(), change.pk)
        return Response(self.get_serializer(change).data)


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        # Errors (403, 404) keep their JSON body even when CSV was asked for.
        text = data if isinstance(data, str) else json.dumps(data)
        return text.encode("utf-8")


class CodebookExportViewSet(ProjectScopedViewSet):
    """The whole codebook as a CSV download."""

    renderer_classes = (CSVRenderer, JSONRenderer)
    serializer_class = CodeSerializer

    def scoped_queryset(self) -> Any:
        return selectors.code_list(project=self.project)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["csv"], required=False)],
        responses={(200, "text/csv"): OpenApiResponse(response=str, description="The CSV.")},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = services.codebook_export_csv(self.project)
        filename = f"{self.project.slug}-codebook.csv"
        return Response(
            body,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


class CodebookImportSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="A CSV as exported; codes are matched by path.")


class CodebookImportViewSet(ProjectScopedViewSet):
    """Import a codebook CSV: creates missing codes, updates existing ones, never deletes."""

    parser_classes = (MultiPartParser, FormParser)
    serializer_class = CodeSerializer  # the schema's fake view needs a model serializer
    write_need = Capability.EDIT_CODEBOOK

    def scoped_queryset(self) -> Any:
        return selectors.code_list(project=self.project)

    @extend_schema(
        request={"multipart/form-data": CodebookImportSerializer},
        responses={
            200: inline_serializer(
                "CodebookImported",
                {
                    "created": serializers.IntegerField(),
                    "updated": serializers.IntegerField(),
                    "change": serializers.IntegerField(allow_null=True),
                },
            )
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = CodebookImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data["file"].read()
        try:
            result = services.codebook_import_csv(
                project=self.project, user=request_user(request), data=data
            )
        except ImportValidationError as exc:
            detail = "Nothing was imported: fix the rows below and send the file again."
            return Response({"detail": detail, "errors": exc.errors}, status=400)
        return Response(
            {
                "created": len(result.created),
                "updated": len(result.updated),
                "change": result.change.pk if result.change else None,
            }
        )


def codebook_routes() -> list[URLPattern]:
    """The codebook area's routes, all under `/api/v1/projects/{slug}/`."""
    base = "projects/<slug:slug>"
    code = CodebookCodeViewSet
    return [
        path(f"{base}/codes/<str:pk>/merge/", code.as_view({"post": "merge"}), name="code-merge"),
        path(f"{base}/codes/<str:pk>/split/", code.as_view({"post": "split"}), name="code-split"),
        path(
            f"{base}/codes/<str:pk>/archive/",
            code.as_view({"post": "archive"}),
            name="code-archive",
        ),
        path(
            f"{base}/codes/<str:pk>/unarchive/",
            code.as_view({"post": "unarchive"}),
            name="code-unarchive",
        ),
        path(
            f"{base}/codebook/history/",
            CodebookHistoryViewSet.as_view({"get": "list"}),
            name="codebook-history-list",
        ),
        path(
            f"{base}/codebook/history/<str:pk>/undo/",
            CodebookHistoryViewSet.as_view({"post": "undo"}),
            name="codebook-history-undo",
        ),
        path(
            f"{base}/codebook/export/",
            CodebookExportViewSet.as_view({"get": "list"}),
            name="codebook-export",
        ),
        path(
            f"{base}/codebook/import/",
            CodebookImportViewSet.as_view({"post": "create"}),
            name="codebook-import",
        ),
    ]
