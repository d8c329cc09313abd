"""API for observation sessions, field notes and documents."""

from typing import Any

from django_filters import rest_framework as filters
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from observations import selectors, services
from observations.models import Document, FieldNote, ObservationSession, SpeakerTurn
from research.api.base import MemberField, ProjectRelatedField, ProjectScopedViewSet, request_user
from research.api.serializers import job_payload
from research.models import User
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
    author = serializers.SlugRelatedField[User](slug_field="username", read_only=True)

    class Meta:
        model = FieldNote
        fields: tuple[str, ...] = (
            "id",
            "observed_at",
            "kind",
            "text",
            "participant",
            "author",
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
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = (
            "id",
            "char_count",
            "status",
            "source_name",
            "created_at",
            "updated_at",
        )


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


class SessionFilter(filters.FilterSet):
    channel = filters.ChoiceFilter(choices=ObservationSession._meta.get_field("channel").choices)
    journey_stage = filters.CharFilter()
    started_after = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = ObservationSession
        fields: tuple[str, ...] = ("channel", "journey_stage")


class SessionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    ProjectScopedViewSet,
):
    """Observation sessions: where, when, channel, journey stage, observer, who was present."""

    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    write_need = Capability.CAPTURE

    def scoped_queryset(self) -> Any:
        return selectors.session_list(project=self.project)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        session = services.session_create(project=self.project, **data)
        return Response(
            self.get_serializer(access_object(self.get_queryset(), session.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        session = self.get_object()
        serializer = self.get_serializer(session, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.session_update(session=session, **serializer.validated_data)
        return Response(self.get_serializer(access_object(self.get_queryset(), session.pk)).data)

    def perform_destroy(self, instance: Any) -> None:
        services.session_delete(session=instance)


class NoteViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, ProjectScopedViewSet):
    """Field notes of one observation session."""

    serializer_class = NoteSerializer
    write_need = Capability.CAPTURE

    def scoped_queryset(self) -> Any:
        session = access_object(self.project.sessions.all(), self.kwargs["session_pk"])
        self.session = session
        return selectors.note_list(session=session)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.scoped_queryset()  # resolves the session inside the project, or 404
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.note_create(
            session=self.session, author=request_user(request), **serializer.validated_data
        )
        return Response(self.get_serializer(note).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        note = self.get_object()
        serializer = self.get_serializer(note, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        note = services.note_update(note=note, **serializer.validated_data)
        return Response(self.get_serializer(note).data)

    def perform_destroy(self, instance: Any) -> None:
        services.note_delete(note=instance)


class DocumentFilter(filters.FilterSet):
    class Meta:
        model = Document
        fields: tuple[str, ...] = ("kind", "participant", "session", "status")


class DocumentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    ProjectScopedViewSet,
):
    """Codable texts. Created from JSON text here; file import has its own route."""

    filterset_class = DocumentFilter
    write_need = Capability.CAPTURE

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return DocumentCreateSerializer
        if self.action == "list":
            return DocumentSerializer
        return DocumentDetailSerializer

    def scoped_queryset(self) -> Any:
        if self.action == "list":
            return selectors.document_list(project=self.project)
        return selectors.document_detail_list(project=self.project)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        turns = [services.TurnInput(**turn) for turn in data.pop("turns", [])]
        document, job = services.document_create(
            project=self.project, creator=request_user(request), turns=turns, **data
        )
        document = access_object(selectors.document_detail_list(project=self.project), document.pk)
        body = DocumentDetailSerializer(document, context=self.get_serializer_context()).data
        return Response({**body, "job": job_payload(job, request)}, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        document = self.get_object()
        serializer = DocumentSerializer(
            document, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.document_update(document=document, **serializer.validated_data)
        return Response(self.get_serializer(self.get_object()).data)

    def perform_destroy(self, instance: Any) -> None:
        services.document_delete(document=instance)
