"""API for observation sessions, field notes and documents."""

from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from observations import selectors, services
from observations.importers.base import ParseOptions
from observations.models import Document, FieldNote, ObservationSession, SpeakerTurn
from observations.services.imports import IMPORT_KINDS, ImportValidationError, UploadedFileLike
from observations.services.speakers import speaker_maps_from_json
from research.api.base import (
    MemberField,
    ProjectRelatedField,
    ProjectScopedViewSet,
    ServiceViewSet,
    request_user,
)
from research.api.schema_errors import ObjectSchema
from research.api.serializers import job_payload
from research.api.versioning import VersionedWritesMixin, versioned_write
from research.audit import audit_transcript_read
from research.models import Job, User
from research.permissions import access_object
from research.roles import Capability


def _participants(project: Any) -> Any:
    return project.participants.all()


class SessionSerializer(serializers.ModelSerializer[ObservationSession]):
    observer = MemberField(required=False, allow_null=True)
    participants = ProjectRelatedField(_participants, many=True, required=False)
    note_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ObservationSession
        fields: tuple[str, ...] = (
            "id",
            "title",
            "site",
            "channel",
            "journey_stage",
            "started_at",
            "ended_at",
            "observer",
            "participants",
            "context",
            "goals",
            "note_count",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = ("id", "created_at", "updated_at")


class NoteSerializer(serializers.ModelSerializer[FieldNote]):
    participant = ProjectRelatedField(_participants, required=False, allow_null=True)
    author = serializers.SlugRelatedField[User](
        slug_field="username", read_only=True, allow_null=True
    )
    client_id = serializers.UUIDField(
        write_only=True,
        required=False,
        help_text="Any UUID the client picks; a retry with the same note is not saved twice.",
    )

    class Meta:
        model = FieldNote
        fields: tuple[str, ...] = (
            "id",
            "observed_at",
            "kind",
            "text",
            "participant",
            "author",
            "client_id",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = ("id", "author", "created_at", "updated_at")


class TurnSerializer(serializers.ModelSerializer[SpeakerTurn]):
    participant = ProjectRelatedField(_participants, required=False, allow_null=True)
    interviewer = MemberField(required=False, allow_null=True)

    class Meta:
        model = SpeakerTurn
        fields: tuple[str, ...] = (
            "speaker",
            "participant",
            "interviewer",
            "start",
            "end",
            "started_at_ms",
            "ended_at_ms",
        )


class DocumentSerializer(serializers.ModelSerializer[Document]):
    participant = ProjectRelatedField(_participants, required=False, allow_null=True)
    session = ProjectRelatedField(lambda p: p.sessions.all(), required=False, allow_null=True)
    turn_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Document
        fields: tuple[str, ...] = (
            "id",
            "title",
            "kind",
            "participant",
            "session",
            "char_count",
            "turn_count",
            "status",
            "source_name",
            "recorded_at",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = (
            "id",
            "char_count",
            "status",
            "source_name",
            "version",
            "created_at",
            "updated_at",
        )
        # One field-notes document per session is the services' rule (they create it).
        validators: list[Any] = []


class DocumentDetailSerializer(DocumentSerializer):
    turns = TurnSerializer(many=True, read_only=True)

    class Meta(DocumentSerializer.Meta):
        fields = (*DocumentSerializer.Meta.fields, "text", "turns")
        read_only_fields = (
            *DocumentSerializer.Meta.read_only_fields,
            "text",
            "turns",
        )


class DocumentCreateSerializer(DocumentSerializer):
    text = serializers.CharField(trim_whitespace=False)
    turns = TurnSerializer(many=True, required=False)

    class Meta(DocumentSerializer.Meta):
        fields = (*DocumentSerializer.Meta.fields, "text", "turns")


class DocumentUpdateSerializer(DocumentSerializer):
    text = serializers.CharField(
        required=False,
        write_only=True,
        trim_whitespace=False,
        help_text="New text: excerpts, turns and note ranges are re-anchored through the diff.",
    )

    class Meta(DocumentSerializer.Meta):
        fields = (*DocumentSerializer.Meta.fields, "text")


@extend_schema_field(OpenApiTypes.INT)
class ParticipantIdField(ProjectRelatedField):
    """A participant id of the request's project, in a form that has no model to derive it from."""


class DocumentUploadSerializer(serializers.Serializer[Any]):
    """The multipart form of a file import (one or several `file` parts)."""

    file = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        allow_empty=False,
        help_text="One or several files: txt, docx, odt, vtt, srt, or a survey csv/xlsx.",
    )
    kind = serializers.ChoiceField(
        choices=[(k.value, k.label) for k in IMPORT_KINDS], required=False
    )
    participant = ParticipantIdField(_participants, required=False, allow_null=True)
    title = serializers.CharField(required=False, allow_blank=True, max_length=255)
    text_columns = serializers.CharField(
        required=False, allow_blank=True, help_text="Survey: comma-separated text column names."
    )
    respondent_column = serializers.CharField(required=False, allow_blank=True)
    customer_ref_column = serializers.CharField(required=False, allow_blank=True)
    speakers = serializers.JSONField(
        required=False,
        help_text=(
            'JSON: {"speaker": {"participant": id} | {"pseudonym": "P09"} | '
            '{"interviewer": "username"} | {}} for every file, or {"file name": {...}} per file.'
        ),
    )


class DocumentImportResultSerializer(serializers.Serializer[Any]):
    documents = DocumentSerializer(many=True)
    jobs = serializers.ListField(child=serializers.DictField())


class SessionFilter(filters.FilterSet):
    channel = filters.ChoiceFilter(choices=ObservationSession._meta.get_field("channel").choices)
    journey_stage = filters.CharFilter()
    started_after = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = ObservationSession
        fields: tuple[str, ...] = ("channel", "journey_stage")


class SessionViewSet(ServiceViewSet):
    """Observation sessions: where, when, channel, journey stage, observer, who was present."""

    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    write_need = Capability.CAPTURE

    def scoped_queryset(self) -> Any:
        return selectors.session_list(project=self.project)

    def create_object(self, data: dict[str, Any]) -> ObservationSession:
        return services.session_create(project=self.project, **data)

    def update_object(self, obj: ObservationSession, data: dict[str, Any]) -> ObservationSession:
        return services.session_update(session=obj, **data)

    def delete_object(self, obj: ObservationSession) -> None:
        services.session_delete(session=obj)


class NoteViewSet(ServiceViewSet):
    """Field notes of one observation session."""

    serializer_class = NoteSerializer
    write_need = Capability.CAPTURE

    session: ObservationSession

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # The session is part of the route: resolve it inside the project before anything else.
        self.session = access_object(self.project.sessions.all(), kwargs["session_pk"])

    def scoped_queryset(self) -> Any:
        return selectors.note_list(session=self.session)

    def create_object(self, data: dict[str, Any]) -> FieldNote:
        return services.note_create(session=self.session, author=request_user(self.request), **data)

    def update_object(self, obj: FieldNote, data: dict[str, Any]) -> FieldNote:
        data.pop("client_id", None)
        return services.note_update(note=obj, user=request_user(self.request), **data)

    def delete_object(self, obj: FieldNote) -> None:
        services.note_delete(note=obj, user=request_user(self.request))


class DocumentFilter(filters.FilterSet):
    class Meta:
        model = Document
        fields: tuple[str, ...] = ("kind", "participant", "session", "status")


def _is_upload(request: Request) -> bool:
    return (request.content_type or "").startswith("multipart/")


@extend_schema_view(partial_update=versioned_write(), destroy=versioned_write())
class DocumentViewSet(VersionedWritesMixin, ServiceViewSet):
    """Codable texts: created from JSON text, or imported from uploaded files (multipart).

    Writes compare versions: send the `version` you loaded (or `If-Match`); 409 if it changed.
    """

    filterset_class = DocumentFilter
    write_need = Capability.CAPTURE

    def get_serializer_class(self) -> Any:
        return {
            "create": DocumentCreateSerializer,
            "list": DocumentSerializer,
            "partial_update": DocumentUpdateSerializer,
        }.get(self.action or "", DocumentDetailSerializer)

    def scoped_queryset(self) -> Any:
        if self.action == "list":
            return selectors.document_list(project=self.project)
        return selectors.document_detail_list(project=self.project)

    parser_classes = (JSONParser, MultiPartParser, FormParser)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)
        # Raw transcript text was read: the audit log records who, when and from where.
        audit_transcript_read(
            project=self.project,
            user=request.user,
            document_id=response.data["id"],
            request=request,
        )
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # A file upload is an import: researchers and owners only (JSON text needs CAPTURE).
        if self.action == "create" and _is_upload(request):
            self.access.require(Capability.IMPORT)

    @extend_schema(
        request={
            "application/json": DocumentCreateSerializer,
            "multipart/form-data": DocumentUploadSerializer,
        },
        responses={
            201: PolymorphicProxySerializer(
                component_name="DocumentCreated",
                serializers=[DocumentCreateSerializer, DocumentImportResultSerializer],
                resource_type_field_name=None,
            )
        },
        description=(
            "JSON: create one document from text (and optional turns). Multipart: import one or "
            "several files, all or nothing; a 400 lists each problem as "
            '`{"file", "line" or "row", "message"}` and nothing is created.'
        ),
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if _is_upload(request):
            return self._import(request)
        response = super().create(request, *args, **kwargs)
        response.data["job"] = job_payload(self.job, request)
        return response

    def _import(self, request: Request) -> Response:
        form = DocumentUploadSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = form.validated_data
        every, per_file = speaker_maps_from_json(project=self.project, raw=data.get("speakers"))
        columns = [c.strip() for c in data.get("text_columns", "").split(",") if c.strip()]
        options = ParseOptions(
            text_columns=tuple(columns),
            respondent_column=data.get("respondent_column") or None,
            customer_ref_column=data.get("customer_ref_column") or None,
        )
        files = [UploadedFileLike(name=f.name or "upload", data=f.read()) for f in data["file"]]
        try:
            result = services.documents_import(
                project=self.project,
                user=request_user(request),
                files=files,
                options=options,
                participant=data.get("participant"),
                speaker_map=every,
                file_speaker_maps=per_file,
                kind=data.get("kind"),
                title=data.get("title", ""),
            )
        except ImportValidationError as exc:
            detail = "Nothing was imported: fix the files below and send the batch again."
            return Response({"detail": detail, "errors": exc.errors}, status=400)
        ids = [document.pk for document in result.documents]
        by_id = selectors.document_list(project=self.project).in_bulk(ids)
        documents = [by_id[pk] for pk in ids]
        # Read the jobs again: with no broker they already ran when the transaction committed.
        jobs = Job.objects.in_bulk([job.pk for job in result.jobs])
        body = {
            "documents": DocumentSerializer(
                documents, many=True, context={"request": request}
            ).data,
            "jobs": [job_payload(jobs[job.pk], request) for job in result.jobs],
        }
        return Response(body, status=status.HTTP_201_CREATED)

    def create_object(self, data: dict[str, Any]) -> Document:
        turns = [services.TurnInput(**turn) for turn in data.pop("turns", [])]
        document, self.job = services.document_create(
            project=self.project, creator=request_user(self.request), turns=turns, **data
        )
        return document

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.edit: services.TextEdit | None = None
        response = super().partial_update(request, *args, **kwargs)
        if self.edit is not None:
            response.data["edit"] = {"moved": self.edit.moved, "flagged": self.edit.flagged}
            if self.edit.job is not None:
                response.data["job"] = job_payload(self.edit.job, request)
        return response

    def update_object(self, obj: Document, data: dict[str, Any]) -> Document:
        text = data.pop("text", None)
        expected = self.expected_version()
        # One request, one outcome: metadata and text change together or not at all.
        with transaction.atomic():
            if data:
                obj = services.document_update(document=obj, expected_version=expected, **data)
                expected = obj.version  # the text edit goes on from the version just written
            if text is not None:
                self.edit = services.document_set_text(
                    document=obj,
                    text=text,
                    user=request_user(self.request),
                    expected_version=expected if expected is not None else obj.version,
                )
        return obj

    def delete_object(self, obj: Document) -> None:
        services.document_delete(document=obj, expected_version=self.expected_version())


# --- Search -------------------------------------------------------------------------------


class SearchHitSerializer(serializers.Serializer[Any]):
    document = serializers.IntegerField(source="document_id")
    document_title = serializers.CharField()
    kind = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    context_before = serializers.CharField()
    match = serializers.CharField()
    context_after = serializers.CharField()
    speaker = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, hit: selectors.SearchHit) -> str:
        request = self.context["request"]
        q = request.query_params.get("q", "")
        return search_hit_url(request, self.context["project"].slug, hit, q=q)


def search_hit_url(
    request: Request | None, slug: str, hit: selectors.SearchHit, *, q: str = ""
) -> str:
    """The document reader opened at the hit (the `#hit` fragment scrolls there without JS);
    `q` lets the reader link back to the results."""
    path = reverse("frontend:document-detail", kwargs={"slug": slug, "pk": hit.document_id})
    query = urlencode({"at": hit.start, "len": hit.end - hit.start, "q": q})
    path += f"?{query}#hit"
    return request.build_absolute_uri(path) if request is not None else path


class SearchResultSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    truncated = serializers.BooleanField()
    results = SearchHitSerializer(many=True)


class SearchView(ProjectScopedViewSet):
    """Keyword-in-context search over the project's documents and field notes (`?q=`).

    At most 200 hits, in document-title order; `truncated` says whether there were more.
    Words match their other forms ("charged" finds "charges"), "quoted phrases" match in order,
    `-word` leaves out documents with that word and `or` between two terms takes either.
    """

    serializer_class = SearchHitSerializer
    queryset = Document.objects.none()  # for the schema only; the search starts from the project
    pagination_class = None
    filter_backends: list[Any] = []
    schema = ObjectSchema()

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True, description='Words, "phrases"')],
        responses=SearchResultSerializer,
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        q = request.query_params.get("q", "")
        result = selectors.document_search(project=self.project, q=q)
        hits = self.get_serializer(result.hits, many=True).data
        return Response({"count": len(hits), "truncated": result.truncated, "results": hits})
