"""`POST projects/{slug}/refi/`: import a REFI-QDA project (.qdpx) or codebook (.qdc) as a job.

Mixed into `coding.refi_api.RefiViewSet` (which answers GET with the export), needing IMPORT.
A file that is plainly not importable (wrong type, empty, too big, a .qdpx that is no zip) is a
400 at once; anything found while reading fails the job with the reader's message, and nothing
is written. The job's `result` is the import report (coding.refi.importer.ImportReport).
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from coding.refi.upload import refi_import_queue
from research.api.base import request_user
from research.api.serializers import job_payload
from research.models import Job


class RefiUploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="A REFI-QDA project (.qdpx) or codebook (.qdc).")


class RefiImportMixin:
    """The import half of the REFI-QDA exchange view."""

    project: Any

    @extend_schema(
        summary="Import a REFI-QDA project (.qdpx) or codebook (.qdc)",
        request={"multipart/form-data": RefiUploadSerializer},
        responses={202: inline_serializer("RefiImportQueued", {"job": serializers.DictField()})},
        examples=[
            OpenApiExample(
                "Report (the job's result)",
                response_only=True,
                status_codes=["202"],
                value={
                    "job": {
                        "id": "…",
                        "status": "succeeded",
                        "progress": 1.0,
                        "url": "…/api/v1/jobs/…/",
                        "error": "",
                        "result": {
                            "created": {"codes": 12, "documents": 3, "excerpts": 140},
                            "reused": {"codes": 2, "participants": 1, "users": 2},
                            "placeholder_users": ["ann.other"],
                            "not_carried": ["2 PictureSelection(s): Verbatim holds text only"],
                        },
                    }
                },
            )
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = RefiUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        try:
            job = refi_import_queue(
                project=self.project,
                user=request_user(request),
                name=upload.name or "upload.qdpx",
                chunks=upload.chunks(),
                size=upload.size or 0,
                head=upload,
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        # With no broker the task ran at commit: show its outcome.
        job = Job.objects.get(pk=job.pk)
        return Response({"job": job_payload(job, request)}, status=status.HTTP_202_ACCEPTED)
