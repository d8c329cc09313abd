"""Celery tasks for observations: each takes a job id, loads, and calls one service."""

from typing import Any

from celery import shared_task

from observations import services
from observations.models import Document
from research.jobs import job_run
from research.models import Job


@shared_task(name="observations.document_process")
def document_process(job_id: str) -> None:
    """Run the NLP ingest on the document named in the job's params, with progress in the job."""

    def work(job: Job) -> dict[str, Any]:
        document = Document.objects.get(pk=job.params["document"], project=job.project)
        result = services.document_process(document=document, job=job)
        if not result.get("stale"):
            # Suggestions for the new text (issue 6); queued, so a failure there cannot fail
            # the processing, and nothing is queued when nothing could be suggested.
            from coding.suggest.services import suggestions_after_processing

            suggestions_after_processing(document=document)
        return result

    job_run(job_id=job_id, work=work)


@shared_task(name="observations.pii_apply")
def pii_apply(job_id: str) -> None:
    """Replace the project's accepted PII candidates with pseudonyms (params: `documents`, a
    list of ids or None for all), reporting counts, never values, in the job result."""
    from observations.services.pii import pii_apply as apply

    def work(job: Job) -> dict[str, Any]:
        assert job.project is not None
        ids = job.params.get("documents")
        documents = None if ids is None else list(job.project.documents.filter(pk__in=ids))
        return apply(project=job.project, user=job.created_by, documents=documents).as_dict()

    job_run(job_id=job_id, work=work)
