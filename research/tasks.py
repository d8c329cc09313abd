"""Celery tasks for research: each takes a job id, loads its input, and calls one service."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from research.jobs import job_run, job_succeed
from research.models import Job
from research.tasking import job_task, removed_unless_retried


def upload_path(job_id: str) -> Path:
    """Where an uploaded segmentation file waits for its task (shared with the worker)."""
    return Path(settings.MEDIA_ROOT) / "segmentation-uploads" / job_id


@job_task("research.segmentation_import")
def segmentation_import(job_id: str) -> None:
    """Import the file saved for the job (params: name, file_name, columns, types); on bad input
    the job fails with the validation rows in `result.errors`. The file is removed either way,
    except for a transient error, whose retry reads it again. The job is marked succeeded in the
    import's own transaction, so a redelivery after the commit cannot import the file twice."""
    from research.services_segmentation import segmentation_import as run_import

    def work(job: Job) -> dict[str, Any]:
        assert job.project is not None
        path = upload_path(str(job.pk))
        params = job.params
        try:
            with removed_unless_retried(path), transaction.atomic():
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
                result = {
                    "segmentation": segmentation.pk,
                    "version": segmentation.version,
                    "customers": segmentation.customer_count,
                    "segments": segmentation.segments.count(),
                }
                job_succeed(job=job, result=result)
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
        return result

    job_run(job_id=job_id, work=work)
