"""Serializers for projects, members, participants and jobs. Validation of shape only; rules
that need the project live in `research.services`."""

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from research.models import Job, Membership, Participant, Project
from research.roles import Role


class ProjectSerializer(serializers.ModelSerializer[Project]):
    role = serializers.SerializerMethodField(help_text="Your role in this project.")

    class Meta:
        model = Project
        fields: tuple[str, ...] = (
            "id",
            "slug",
            "name",
            "description",
            "language",
            "journey_stages",
            "retention_days",
            "role",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = ("id", "created_at", "updated_at")
        extra_kwargs: dict[str, Any] = {"slug": {"validators": []}}

    def get_role(self, project: Project) -> str | None:
        return getattr(project, "my_role", None)

    def validate_journey_stages(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise serializers.ValidationError("Must be a list of non-empty names.")
        return [v.strip() for v in value]


class ProjectUpdateSerializer(ProjectSerializer):
    class Meta(ProjectSerializer.Meta):
        read_only_fields: tuple[str, ...] = ("id", "slug", "created_at", "updated_at")


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    username = serializers.CharField(source="user.username")
    display_name = serializers.CharField(source="user.__str__", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields: tuple[str, ...] = ("id", "username", "display_name", "role", "created_at")
        read_only_fields: tuple[str, ...] = ("id", "created_at")


class MembershipUpdateSerializer(MembershipSerializer):
    username = serializers.CharField(source="user.username", read_only=True)


class ParticipantSerializer(serializers.ModelSerializer[Participant]):
    attributes = serializers.DictField(required=False)
    consent = serializers.DictField(required=False)

    class Meta:
        model = Participant
        fields: tuple[str, ...] = (
            "id",
            "pseudonym",
            "customer_ref",
            "attributes",
            "consent",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = ("id", "created_at", "updated_at")
        # Uniqueness within the project is the service's rule (it knows the project).
        validators: list[Any] = []


class JobSerializer(serializers.ModelSerializer[Job]):
    url = serializers.SerializerMethodField()
    project = serializers.SlugRelatedField[Project](slug_field="slug", read_only=True)

    class Meta:
        model = Job
        fields: tuple[str, ...] = (
            "id",
            "kind",
            "project",
            "status",
            "progress",
            "message",
            "result",
            "error",
            "interruptions",
            "url",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_url(self, job: Job) -> str:
        path = reverse("api:job-detail", kwargs={"pk": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


def job_payload(job: Job, request: Any) -> dict[str, Any]:
    """The `{"job": {...}}` body of a 202, as API.md defines it."""
    data = JobSerializer(job, context={"request": request}).data
    return {key: data[key] for key in ("id", "status", "progress", "url", "error", "result")}
