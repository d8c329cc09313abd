"""Celery tasks for observations: each takes a job id, loads, and calls one service."""

from typing import Any

from celery import shared_task

from observations import services
from observations.models import Document
from research.jobs import job_run
from research.models import Job


@shared_task(name="observations.document_process")
def document_process(job_id: str) -> None:
    """Process the document named in the job's params, reporting into the job record."""

    def work(job: Job) -> dict[str, Any]:
        document = Document.objects.get(pk=job.params["document"], project=job.project)
        return services.document_process(document=document)

    job_run(job_id=job_id, work=work)
