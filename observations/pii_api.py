"""API for PII pseudonymisation under `projects/{slug}/pii/`. Owners only, reads included:
candidates show the detected values and the key table holds the real ones."""

from typing import Any, ClassVar

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from observations import pii_selectors
from observations.models import PiiCandidate, PiiKeyEntry, PiiKnownName
from observations.services import pii as pii_services
from research.api.base import ProjectScopedViewSet, ServiceViewSet, request_user
from research.api.serializers import job_payload
from research.audit import OBJECT_PII_KEY, audit_record
from research.jobs import job_create, job_enqueue
from research.models import AuditEvent, Job
from research.roles import Capability


class PiiCandidateSerializer(serializers.ModelSerializer[PiiCandidate]):
    document_title = serializers.CharField(read_only=True)
    is_current = serializers.BooleanField(
        read_only=True, help_text="False once the document text changed or it was applied."
    )
    value = serializers.CharField(
        read_only=True, help_text="The detected text; empty unless the candidate is current."
    )
    before = serializers.CharField(read_only=True, help_text="Up to 60 characters before.")
    after = serializers.CharField(read_only=True, help_text="Up to 60 characters after.")
    pseudonym = serializers.CharField(
        source="key.pseudonym", read_only=True, default=None, allow_null=True
    )
    decided_by = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="username", read_only=True, allow_null=True
    )
    status = serializers.ChoiceField(
        choices=[
            PiiCandidate.Status.PENDING,
            PiiCandidate.Status.ACCEPTED,
            PiiCandidate.Status.REJECTED,
        ]
    )

    class Meta:
        model = PiiCandidate
        fields: tuple[str, ...] = (
            "id",
            "document",
            "document_title",
            "text_version",
            "is_current",
            "kind",
            "source",
            "start",
            "end",
            "value",
            "before",
            "after",
            "status",
            "pseudonym",
            "decided_by",
            "created_at",
        )
        read_only_fields: tuple[str, ...] = tuple(f for f in fields if f != "status")


class PiiCandidateViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    ProjectScopedViewSet,
):
    """Detected personal data waiting for an owner's decision. Filters: `document`, `status`,
    `kind`, `current` (true: only candidates of the current texts and applied ones)."""

    serializer_class = PiiCandidateSerializer
    read_need = Capability.MANAGE_PROJECT
    write_need = Capability.MANAGE_PROJECT
    http_method_names = ["get", "patch", "head", "options"]

    def scoped_queryset(self) -> Any:
        params = self.request.query_params
        document = params.get("document")
        return pii_selectors.pii_candidate_list(
            project=self.project,
            document=int(document) if document and document.isdigit() else None,
            status=params.get("status") or None,
            kind=params.get("kind") or None,
            current_only=params.get("current") in ("1", "true", "yes"),
        )

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        candidate = serializer.instance
        assert isinstance(candidate, PiiCandidate)
        if "status" not in serializer.validated_data:
            raise serializers.ValidationError({"status": ["Send accepted or rejected."]})
        pii_services.pii_decide(
            candidate=candidate,
            status=serializer.validated_data["status"],
            user=request_user(self.request),
        )
        serializer.instance = self.refetch(candidate)


class PiiKnownNameSerializer(serializers.ModelSerializer[PiiKnownName]):
    class Meta:
        model = PiiKnownName
        fields: tuple[str, ...] = ("id", "name", "pseudonym", "created_at")
        read_only_fields: tuple[str, ...] = ("id", "created_at")
        validators: list[Any] = []  # uniqueness (case-insensitive) is checked by the service
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "name": {"trim_whitespace": False},
            "pseudonym": {"required": False, "allow_blank": True},
        }


class PiiKnownNameViewSet(ServiceViewSet):
    """Real names the owner lists so they are always found; optional chosen pseudonym."""

    serializer_class = PiiKnownNameSerializer
    read_need = Capability.MANAGE_PROJECT
    write_need = Capability.MANAGE_PROJECT

    def scoped_queryset(self) -> Any:
        return pii_selectors.pii_known_name_list(project=self.project)

    def create_object(self, data: dict[str, Any]) -> PiiKnownName:
        return pii_services.pii_known_name_create(project=self.project, **data)

    def update_object(self, obj: PiiKnownName, data: dict[str, Any]) -> PiiKnownName:
        return pii_services.pii_known_name_update(known_name=obj, **data)

    def delete_object(self, obj: PiiKnownName) -> None:
        pii_services.pii_known_name_delete(known_name=obj)


class PiiKeyEntrySerializer(serializers.ModelSerializer[PiiKeyEntry]):
    class Meta:
        model = PiiKeyEntry
        fields: tuple[str, ...] = ("id", "kind", "real_value", "pseudonym", "created_at")
        read_only_fields = fields


class PiiKeyViewSet(mixins.ListModelMixin, ProjectScopedViewSet):
    """The key table from real values to pseudonyms. Owners only; never exported."""

    serializer_class = PiiKeyEntrySerializer
    read_need = Capability.MANAGE_PROJECT

    def scoped_queryset(self) -> Any:
        return pii_selectors.pii_key_list(project=self.project)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        audit_record(
            action=AuditEvent.Action.READ_PII_KEY,
            project=self.project,
            user=request.user,
            object_type=OBJECT_PII_KEY,
            request=request,
        )
        return response


# The largest id a BigAutoField holds: a larger one would overflow the database driver (a 500).
MAX_ID = 2**63 - 1


class PiiApplySerializer(serializers.Serializer[Any]):
    documents = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        help_text="Only these documents; all documents with accepted candidates if omitted.",
    )


class PiiApplyViewSet(ProjectScopedViewSet):
    """Replace every accepted candidate with its pseudonym, in a background job."""

    serializer_class = PiiApplySerializer
    write_need = Capability.MANAGE_PROJECT
    read_need = Capability.MANAGE_PROJECT

    @extend_schema(
        request=PiiApplySerializer,
        responses={
            202: inline_serializer("PiiApplyQueued", {"job": serializers.DictField()}),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from observations.tasks import pii_apply as pii_apply_task

        form = PiiApplySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        documents = form.validated_data.get("documents")
        if documents is not None:
            found = set(
                self.project.documents.filter(pk__in=documents).values_list("pk", flat=True)
            )
            missing = [pk for pk in documents if pk not in found]
            if missing:
                raise serializers.ValidationError(
                    {"documents": [f"No document {pk} in this project." for pk in missing]}
                )
        with transaction.atomic():
            job = job_create(
                kind="pii_apply",
                project=self.project,
                user=request_user(request),
                params={"documents": documents},
            )
            job_enqueue(job=job, task=pii_apply_task)
        # With no broker the task ran at commit: show its outcome.
        job = Job.objects.get(pk=job.pk)
        return Response({"job": job_payload(job, request)}, status=status.HTTP_202_ACCEPTED)
