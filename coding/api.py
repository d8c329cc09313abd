"""API for the codebook, excerpts and memos."""

from typing import Any

from django_filters import rest_framework as filters
from rest_framework import serializers

from coding import selectors, services
from coding.models import Code, Excerpt, Memo
from research.api.base import ProjectRelatedField, ServiceViewSet, request_user
from research.models import User
from research.permissions import access_own_work
from research.roles import Capability


class CodeSerializer(serializers.ModelSerializer[Code]):
    parent = ProjectRelatedField(  # type: ignore[assignment]  # DRF pops declared fields
        lambda p: p.codes.all(), required=False, allow_null=True
    )
    patterns = serializers.ListField(required=False)
    excerpt_count = serializers.IntegerField(read_only=True)

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
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = ("id", "created_at", "updated_at")
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
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = (
            "id",
            "coder",
            "needs_review",
            "review_reason",
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


class CodeViewSet(ServiceViewSet):
    """The codebook. Researchers and owners edit it; everyone in the project reads it."""

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
        return services.code_update(code=obj, **data)

    def delete_object(self, obj: Code) -> None:
        services.code_delete(code=obj)


class ExcerptFilter(filters.FilterSet):
    document = filters.NumberFilter()
    code = filters.NumberFilter()
    coder = filters.CharFilter(field_name="coder__username", help_text="The coder's username.")

    class Meta:
        model = Excerpt
        fields: tuple[str, ...] = ("document", "code", "coder")


class ExcerptViewSet(ServiceViewSet):
    """Coded spans. Coders change only their own; researchers and owners anyone's."""

    serializer_class = ExcerptSerializer
    filterset_class = ExcerptFilter
    write_need = Capability.CODE

    def get_serializer_class(self) -> Any:
        return ExcerptUpdateSerializer if self.action == "partial_update" else ExcerptSerializer

    def scoped_queryset(self) -> Any:
        return selectors.excerpt_list(project=self.project)

    def create_object(self, data: dict[str, Any]) -> Excerpt:
        return services.excerpt_create(coder=request_user(self.request), **data)

    def update_object(self, obj: Excerpt, data: dict[str, Any]) -> Excerpt:
        access_own_work(self.access, obj.coder_id)
        return services.excerpt_update(excerpt=obj, **data)

    def delete_object(self, obj: Excerpt) -> None:
        access_own_work(self.access, obj.coder_id)
        services.excerpt_delete(excerpt=obj)


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
