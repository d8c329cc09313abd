"""Celery tasks for research: each takes a job id, loads its input, and calls one service."""

from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError

from research.jobs import job_run
from research.models import Job


def upload_path(job_id: str) -> Path:
    """Where an uploaded segmentation file waits for its task (shared with the worker)."""
    return Path(settings.MEDIA_ROOT) / "segmentation-uploads" / job_id


@shared_task(name="research.segmentation_import")
def segmentation_import(job_id: str) -> None:
    """Import the file saved for the job (params: name, file_name, columns, types); on bad input
    the job fails with the validation rows in `result.errors`. The file is removed either way."""
    from research.services_segmentation import segmentation_import as run_import

    def work(job: Job) -> dict[str, Any]:
        assert job.project is not None
        path = upload_path(str(job.pk))
        params = job.params
        try:
            segmentation = run_import(
                project=job.project,
                user=job.created_by,
                name=params["name"],
                file_name=params["file_name"],
                data=path.read_bytes(),
                customer_column=params["customer_column"],
                segment_column=params["segment_column"],
                type_overrides=params.get("types") or None,
                job=job,
            )
        except ValidationError as exc:
            rows = getattr(exc, "errors", None)
            if rows is None and hasattr(exc, "error_dict"):
                rows = [
                    {"field": field, "message": message}
                    for field, messages in exc.message_dict.items()
                    for message in messages
                ]
            Job.objects.filter(pk=job.pk).update(result={"errors": rows or []})
            raise
        finally:
            path.unlink(missing_ok=True)
        return {
            "segmentation": segmentation.pk,
            "version": segmentation.version,
            "customers": segmentation.customer_count,
            "segments": segmentation.segments.count(),
        }

    job_run(job_id=job_id, work=work)
