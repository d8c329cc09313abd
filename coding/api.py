"""API for the codebook, excerpts and memos."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from coding import selectors, services
from coding.models import Code, Excerpt, Memo
from observations.models import Document
from research.api.base import (
    ProjectRelatedField,
    ProjectScopedViewSet,
    ServiceViewSet,
    request_user,
)
from research.api.versioning import VersionedWritesMixin, versioned_write
from research.audit import audit_transcript_read
from research.models import User
from research.permissions import access_own_work
from research.roles import Capability


class CodeSerializer(serializers.ModelSerializer[Code]):
    parent = ProjectRelatedField(  # type: ignore[assignment]  # DRF pops declared fields
        lambda p: p.codes.all(), required=False, allow_null=True
    )
    patterns = serializers.ListField(required=False)
    excerpt_count = serializers.IntegerField(read_only=True)
    participant_count = serializers.IntegerField(
        read_only=True, help_text="Distinct participants of the documents its excerpts are in."
    )

    class Meta:
        model = Code
        fields: tuple[str, ...] = (
            "id",
            "name",
            "parent",
            "description",
            "inclusion_notes",
            "exclusion_notes",
            "example",
            "color",
            "patterns",
            "position",
            "is_archived",
            "excerpt_count",
            "participant_count",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = ("id", "version", "created_at", "updated_at")
        validators: list[Any] = []  # sibling uniqueness is checked by the service


class ExcerptSerializer(serializers.ModelSerializer[Excerpt]):
    document = ProjectRelatedField(lambda p: p.documents.all())
    code = ProjectRelatedField(lambda p: p.codes.all())
    coder = serializers.SlugRelatedField[User](slug_field="username", read_only=True)
    text = serializers.CharField(
        required=False,
        trim_whitespace=False,
        help_text="Optional on create: the text you selected, checked against the document.",
    )

    class Meta:
        model = Excerpt
        fields: tuple[str, ...] = (
            "id",
            "document",
            "code",
            "start",
            "end",
            "text",
            "coder",
            "memo",
            "needs_review",
            "review_reason",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = (
            "id",
            "coder",
            "needs_review",
            "review_reason",
            "version",
            "created_at",
            "updated_at",
        )


class ExcerptUpdateSerializer(ExcerptSerializer):
    needs_review = serializers.BooleanField(
        required=False,
        help_text="Send false to accept where an edit of the document left this excerpt.",
    )

    def validate_needs_review(self, value: bool) -> bool:
        if value:
            raise serializers.ValidationError("Only an edit of the document flags an excerpt.")
        return value

    class Meta(ExcerptSerializer.Meta):
        read_only_fields = (
            *ExcerptSerializer.Meta.read_only_fields,
            "document",
            "text",
        )


class MemoSerializer(serializers.ModelSerializer[Memo]):
    author = serializers.SlugRelatedField[User](slug_field="username", read_only=True)
    document = ProjectRelatedField(lambda p: p.documents.all(), required=False, allow_null=True)
    code = ProjectRelatedField(lambda p: p.codes.all(), required=False, allow_null=True)
    excerpt = ProjectRelatedField(lambda p: p.excerpts.all(), required=False, allow_null=True)

    class Meta:
        model = Memo
        fields: tuple[str, ...] = (
            "id",
            "title",
            "text",
            "document",
            "code",
            "excerpt",
            "author",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = ("id", "author", "created_at", "updated_at")


class CodeFilter(filters.FilterSet):
    parent = filters.NumberFilter()
    is_archived = filters.BooleanFilter()

    class Meta:
        model = Code
        fields: tuple[str, ...] = ("parent", "is_archived")


@extend_schema_view(partial_update=versioned_write(), destroy=versioned_write())
class CodeViewSet(VersionedWritesMixin, ServiceViewSet):
    """The codebook. Researchers and owners edit it; everyone in the project reads it.

    Writes compare versions: send the `version` you loaded (or `If-Match`); 409 if it changed.
    """

    serializer_class = CodeSerializer
    filterset_class = CodeFilter
    write_need = Capability.EDIT_CODEBOOK

    def scoped_queryset(self) -> Any:
        return selectors.code_list(project=self.project)

    def create_object(self, data: dict[str, Any]) -> Code:
        return services.code_create(
            project=self.project, creator=request_user(self.request), **data
        )

    def update_object(self, obj: Code, data: dict[str, Any]) -> Code:
        return services.code_update(
            code=obj,
            user=request_user(self.request),
            expected_version=self.expected_version(),
            **data,
        )

    def delete_object(self, obj: Code) -> None:
        services.code_delete(
            code=obj, user=request_user(self.request), expected_version=self.expected_version()
        )


class ExcerptFilter(filters.FilterSet):
    document = filters.NumberFilter()
    code = filters.NumberFilter()
    coder = filters.CharFilter(field_name="coder__username", help_text="The coder's username.")

    class Meta:
        model = Excerpt
        fields: tuple[str, ...] = ("document", "code", "coder")


@extend_schema_view(partial_update=versioned_write(), destroy=versioned_write())
class ExcerptViewSet(VersionedWritesMixin, ServiceViewSet):
    """Coded spans. Coders change only their own; researchers and owners anyone's.

    Writes compare versions: send the `version` you loaded (or `If-Match`); 409 if it changed.
    """

    serializer_class = ExcerptSerializer
    filterset_class = ExcerptFilter
    write_need = Capability.CODE

    def get_serializer_class(self) -> Any:
        return ExcerptUpdateSerializer if self.action == "partial_update" else ExcerptSerializer

    def scoped_queryset(self) -> Any:
        return selectors.excerpt_list(project=self.project)

    def create_object(self, data: dict[str, Any]) -> Excerpt:
        return services.excerpt_create(coder=request_user(self.request), **data)

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        # The new excerpt holds the code, coder and document it was made from: no refetch,
        # so saving from the workspace stays within its query budget.
        serializer.instance = self.create_object(dict(serializer.validated_data))

    def update_object(self, obj: Excerpt, data: dict[str, Any]) -> Excerpt:
        access_own_work(self.access, obj.coder_id)
        return services.excerpt_update(
            excerpt=obj, expected_version=self.expected_version(), **data
        )

    def delete_object(self, obj: Excerpt) -> None:
        access_own_work(self.access, obj.coder_id)
        services.excerpt_delete(excerpt=obj, expected_version=self.expected_version())


class MemoViewSet(ServiceViewSet):
    """Memos. Authors change their own; researchers and owners anyone's."""

    serializer_class = MemoSerializer
    write_need = Capability.CODE

    def scoped_queryset(self) -> Any:
        return selectors.memo_list(project=self.project)

    def create_object(self, data: dict[str, Any]) -> Memo:
        return services.memo_create(project=self.project, author=request_user(self.request), **data)

    def update_object(self, obj: Memo, data: dict[str, Any]) -> Memo:
        access_own_work(self.access, obj.author_id)
        return services.memo_update(memo=obj, **data)

    def delete_object(self, obj: Memo) -> None:
        access_own_work(self.access, obj.author_id)
        services.memo_delete(memo=obj)


# --- workspace area ---

_TURN_FIELDS: dict[str, Any] = {
    "id": serializers.IntegerField(),
    "index": serializers.IntegerField(),
    "speaker": serializers.CharField(),
    "participant": serializers.CharField(allow_null=True, help_text="Pseudonym."),
    "interviewer": serializers.CharField(allow_null=True, help_text="Username."),
    "start": serializers.IntegerField(),
    "end": serializers.IntegerField(),
    "started_at_ms": serializers.IntegerField(allow_null=True),
    "ended_at_ms": serializers.IntegerField(allow_null=True),
}
_NOTE_FIELDS: dict[str, Any] = {
    "id": serializers.IntegerField(),
    "kind": serializers.CharField(),
    "observed_at": serializers.DateTimeField(),
    "participant": serializers.CharField(allow_null=True, help_text="Pseudonym."),
    "start": serializers.IntegerField(),
    "end": serializers.IntegerField(),
}
_EXCERPT_FIELDS: dict[str, Any] = {
    "id": serializers.IntegerField(),
    "code": serializers.IntegerField(),
    "start": serializers.IntegerField(),
    "end": serializers.IntegerField(),
    "coder": serializers.CharField(help_text="Username."),
    "memo": serializers.CharField(),
    "needs_review": serializers.BooleanField(),
    "review_reason": serializers.CharField(),
    "created_at": serializers.DateTimeField(),
    "version": serializers.IntegerField(help_text="Send it back when editing (If-Match)."),
}
_CODE_FIELDS: dict[str, Any] = {
    "id": serializers.IntegerField(),
    "parent": serializers.IntegerField(allow_null=True),
    "name": serializers.CharField(),
    "color": serializers.CharField(),
    "is_archived": serializers.BooleanField(),
    "description": serializers.CharField(),
}
_MEMO_FIELDS: dict[str, Any] = {
    "id": serializers.IntegerField(),
    "title": serializers.CharField(),
    "text": serializers.CharField(),
    "author": serializers.CharField(help_text="Username."),
    "excerpt": serializers.IntegerField(allow_null=True),
    "code": serializers.IntegerField(allow_null=True),
    "created_at": serializers.DateTimeField(),
    "updated_at": serializers.DateTimeField(),
}
_WORKSPACE = inline_serializer(
    "Workspace",
    {
        "document": inline_serializer(
            "WorkspaceDocument",
            {
                "id": serializers.IntegerField(),
                "title": serializers.CharField(),
                "kind": serializers.CharField(),
                "text": serializers.CharField(),
                "text_version": serializers.IntegerField(),
                "version": serializers.IntegerField(),
            },
        ),
        "turns": inline_serializer("WorkspaceTurn", _TURN_FIELDS, many=True),
        "field_notes": inline_serializer("WorkspaceFieldNote", _NOTE_FIELDS, many=True),
        "excerpts": inline_serializer("WorkspaceExcerpt", _EXCERPT_FIELDS, many=True),
        "codes": inline_serializer("WorkspaceCode", _CODE_FIELDS, many=True),
        "recent_codes": serializers.ListField(
            child=serializers.IntegerField(), help_text="Your most recently applied first."
        ),
        "memos": inline_serializer("WorkspaceMemo", _MEMO_FIELDS, many=True),
        "coders": inline_serializer(
            "WorkspaceCoder",
            {"id": serializers.IntegerField(), "username": serializers.CharField()},
            many=True,
        ),
    },
)


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "") in ("1", "true", "yes")


class WorkspaceView(ProjectScopedViewSet):
    """One document with everything the coding workspace shows, in constant queries.

    Speaker turns or field-note ranges, every excerpt (optionally filtered), the flat codebook,
    your recent codes, the document's memos and who coded it. Offsets as everywhere: `str`
    indices into `document.text`, end exclusive.
    """

    queryset = Document.objects.none()  # for the schema only; the selector starts from the project
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[
            OpenApiParameter("coder", str, description="Only this coder's excerpts (username)."),
            OpenApiParameter("code", int, description="Only this code's excerpts."),
            OpenApiParameter("descendants", bool, description="With code: its subtree too."),
            OpenApiParameter("mine", bool, description="Blind mode: only your own excerpts."),
        ],
        responses=_WORKSPACE,
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raw_code = request.query_params.get("code") or None
        try:
            code = int(raw_code) if raw_code is not None else None
        except ValueError:
            raise DjangoValidationError({"code": "Give a code id (a whole number)."}) from None
        payload = selectors.document_workspace(
            project=self.project,
            document_id=kwargs["pk"],
            user=request_user(request),
            coder=request.query_params.get("coder") or None,
            code=code,
            descendants=_flag(request, "descendants"),
            mine=_flag(request, "mine"),
        )
        # The payload carries the raw transcript: the audit log records who, when, from where.
        audit_transcript_read(
            project=self.project,
            user=request.user,
            document_id=kwargs["pk"],
            request=request,
        )
        return Response(payload)
