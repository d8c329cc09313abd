"""API for observation sessions, field notes and documents."""

from typing import Any

from django_filters import rest_framework as filters
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from observations import selectors, services
from observations.models import Document, FieldNote, ObservationSession, SpeakerTurn
from research.api.base import MemberField, ProjectRelatedField, ServiceViewSet, request_user
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
        return services.note_update(note=obj, **data)

    def delete_object(self, obj: FieldNote) -> None:
        services.note_delete(note=obj)


class DocumentFilter(filters.FilterSet):
    class Meta:
        model = Document
        fields: tuple[str, ...] = ("kind", "participant", "session", "status")


class DocumentViewSet(ServiceViewSet):
    """Codable texts. Created from JSON text here; file import has its own route."""

    filterset_class = DocumentFilter
    write_need = Capability.CAPTURE

    def get_serializer_class(self) -> Any:
        return {
            "create": DocumentCreateSerializer,
            "list": DocumentSerializer,
            "partial_update": DocumentSerializer,
        }.get(self.action or "", DocumentDetailSerializer)

    def scoped_queryset(self) -> Any:
        if self.action == "list":
            return selectors.document_list(project=self.project)
        return selectors.document_detail_list(project=self.project)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().create(request, *args, **kwargs)
        response.data["job"] = job_payload(self.job, request)
        return response

    def create_object(self, data: dict[str, Any]) -> Document:
        turns = [services.TurnInput(**turn) for turn in data.pop("turns", [])]
        document, self.job = services.document_create(
            project=self.project, creator=request_user(self.request), turns=turns, **data
        )
        return document

    def update_object(self, obj: Document, data: dict[str, Any]) -> Document:
        return services.document_update(document=obj, **data)

    def delete_object(self, obj: Document) -> None:
        services.document_delete(document=obj)
