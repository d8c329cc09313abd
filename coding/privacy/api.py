"""Privacy routes: erase a participant, read the audit log. Owners only (MANAGE_PROJECT)."""

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from coding.privacy.erasure import participant_erase
from research.api.base import ProjectScopedViewSet, request_user
from research.audit import audit_event_list
from research.models import AuditEvent
from research.permissions import access_object
from research.roles import Capability


class EraseSerializer(serializers.Serializer[Any]):
    pseudonym = serializers.CharField(
        help_text="The participant's pseudonym, typed again to confirm the erasure."
    )


class ParticipantEraseViewSet(ProjectScopedViewSet):
    """Erase a participant everywhere (GDPR). Irreversible; confirm with their pseudonym."""

    serializer_class = EraseSerializer
    read_need = Capability.MANAGE_PROJECT
    write_need = Capability.MANAGE_PROJECT

    @extend_schema(
        request=EraseSerializer,
        responses={200: inline_serializer("ErasureDone", {"erased": serializers.DictField()})},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        participant = access_object(self.project.participants.all(), kwargs["pk"])
        form = EraseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if form.validated_data["pseudonym"].strip() != participant.pseudonym:
            raise serializers.ValidationError(
                {"pseudonym": "Does not match the participant's pseudonym: nothing was erased."}
            )
        counts = participant_erase(
            participant=participant, user=request_user(request), request=request
        )
        return Response({"erased": counts})


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields: tuple[str, ...] = (
            "id",
            "at",
            "username",
            "action",
            "object_type",
            "object_id",
            "ip",
            "detail",
        )
        read_only_fields = fields


class AuditEventViewSet(mixins.ListModelMixin, ProjectScopedViewSet):
    """The project's audit log, newest first: reads of transcripts and the PII key, erasures,
    retention deletions. Owners only; append-only."""

    serializer_class = AuditEventSerializer
    read_need = Capability.MANAGE_PROJECT

    def scoped_queryset(self) -> Any:
        return audit_event_list(project=self.project)


def privacy_routes() -> list[URLPattern]:
    """`participants/{id}/erase/` (POST) and `audit/` (GET) under a project."""
    return [
        path(
            "projects/<slug:slug>/participants/<str:pk>/erase/",
            ParticipantEraseViewSet.as_view({"post": "create"}),
            name="participant-erase",
        ),
        path(
            "projects/<slug:slug>/audit/",
            AuditEventViewSet.as_view({"get": "list"}),
            name="audit-list",
        ),
    ]
