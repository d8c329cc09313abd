"""API for segmentation snapshots: import (a job), list, segments, match report, compare, and a
participant's manual segment."""

import json
from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from research.api.base import ProjectScopedViewSet, request_user
from research.api.serializers import job_payload
from research.jobs import job_create, job_enqueue
from research.models import Job, Participant, Segmentation
from research.permissions import access_object
from research.roles import Capability
from research.segmentation_files import METRIC_TYPES
from research.selectors_segmentation import segment_summaries
from research.services_segmentation import (
    participant_match_report,
    participant_segment_set,
    segmentation_compare,
    segmentation_delete,
)

_ANY = serializers.DictField()
_MATCHES = ("matched", "unmatched", "ambiguous")


class SegmentationSerializer(serializers.ModelSerializer[Segmentation]):
    class Meta:
        model = Segmentation
        fields: tuple[str, ...] = (
            "id",
            "name",
            "version",
            "imported_at",
            "source_name",
            "customer_column",
            "segment_column",
            "customer_count",
            "metric_types",
        )
        read_only_fields = fields


class SegmentationUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()
    name = serializers.CharField(max_length=128)
    customer_column = serializers.CharField(max_length=128)
    segment_column = serializers.CharField(max_length=128)
    types = serializers.CharField(
        required=False, help_text='JSON object {column: "numeric"|"categorical"|"date"}.'
    )

    def validate_file(self, value: Any) -> Any:
        from django.conf import settings

        if not value.name.lower().endswith((".csv", ".txt", ".tsv", ".xlsx")):
            raise serializers.ValidationError("Unsupported file type: upload a .csv or .xlsx file.")
        if value.size > settings.VERBATIM_MAX_UPLOAD_BYTES * 10:
            raise serializers.ValidationError("The file is too large.")
        return value

    def validate_types(self, value: str) -> dict[str, str]:
        try:
            types = json.loads(value)
        except ValueError:
            raise serializers.ValidationError("Give the types as a JSON object.") from None
        if not isinstance(types, dict) or not all(
            isinstance(k, str) and v in METRIC_TYPES for k, v in types.items()
        ):
            raise serializers.ValidationError("Map column names to numeric, categorical or date.")
        return types


class SegmentationViewSet(ProjectScopedViewSet):
    """Snapshots of the project's customer segmentation."""

    serializer_class = SegmentationSerializer
    write_needs = {"create": Capability.IMPORT, "destroy": Capability.IMPORT}

    def scoped_queryset(self) -> Any:
        return self.project.segmentations.order_by("name", "-version")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        segmentation_delete(segmentation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={"multipart/form-data": SegmentationUploadSerializer},
        responses={202: inline_serializer("SegmentationImportQueued", {"job": _ANY})},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from research.tasks import segmentation_import, upload_path

        form = SegmentationUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        upload = data["file"]
        with transaction.atomic():
            job = job_create(
                kind="segmentation_import",
                project=self.project,
                user=request_user(request),
                params={
                    "name": data["name"],
                    "file_name": upload.name,
                    "customer_column": data["customer_column"],
                    "segment_column": data["segment_column"],
                    "types": data.get("types") or {},
                },
            )
            path = upload_path(str(job.pk))
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            job_enqueue(job=job, task=segmentation_import)
        # With no broker the task ran at commit: show its outcome.
        job = Job.objects.get(pk=job.pk)
        return Response({"job": job_payload(job, request)}, status=status.HTTP_202_ACCEPTED)


class SegmentationDetailViewSet(ProjectScopedViewSet):
    """Read-only views of one snapshot: its segments, the match report, a comparison."""

    serializer_class = SegmentationSerializer
    pagination_class = None  # segments, match and compare answer whole, unpaginated

    def scoped_queryset(self) -> Any:
        return self.project.segmentations.all()

    @extend_schema(
        responses={
            200: inline_serializer("SegmentSummary", {"id": serializers.IntegerField()}, many=True)
        }
    )
    def segments(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(segment_summaries(segmentation=self.get_object()))

    @extend_schema(
        responses={
            200: inline_serializer(
                "SegmentationMatch",
                {name: serializers.ListField(child=serializers.DictField()) for name in _MATCHES},
            )
        }
    )
    def match(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(
            participant_match_report(project=self.project, segmentation=self.get_object())
        )

    @extend_schema(
        parameters=[OpenApiParameter("with", int, required=True)],
        responses={200: inline_serializer("SegmentationCompare", {"moves": _ANY})},
    )
    def compare(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        segmentation = self.get_object()
        other_id = request.query_params.get("with", "")
        if not other_id:
            raise serializers.ValidationError({"with": "Give the id of the snapshot to compare."})
        other = access_object(self.get_queryset(), other_id)
        return Response(segmentation_compare(segmentation, other))


class ParticipantSegmentSerializer(serializers.Serializer[Any]):
    segmentation = serializers.IntegerField()
    segment = serializers.CharField(allow_null=True, help_text="Segment name; null clears it.")


class ParticipantSegmentViewSet(ProjectScopedViewSet):
    """Set a participant's segment by hand for a snapshot they are missing from."""

    serializer_class = ParticipantSegmentSerializer
    write_need = Capability.IMPORT

    def scoped_queryset(self) -> Any:
        return Participant.objects.filter(project=self.project)

    @extend_schema(
        request=ParticipantSegmentSerializer,
        responses={200: inline_serializer("ParticipantSegment", {"segment": _ANY})},
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        participant = self.get_object()
        form = ParticipantSegmentSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        segmentation = access_object(
            self.project.segmentations.all(), form.validated_data["segmentation"]
        )
        name = form.validated_data["segment"]
        segment = None
        if name is not None:
            segment = segmentation.segments.filter(name=name).first()
            if segment is None:
                raise serializers.ValidationError({"segment": f"No segment {name!r} here."})
        participant_segment_set(participant=participant, segmentation=segmentation, segment=segment)
        return Response(
            {"participant": participant.pk, "segmentation": segmentation.pk, "segment": name}
        )
