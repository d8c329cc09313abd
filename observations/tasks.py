"""Celery tasks for observations: each takes a job id, loads, and calls one service."""

import logging
from typing import Any

from observations import services
from observations.models import Document
from observations.signals import document_processed
from research.jobs import job_run
from research.models import Job
from research.tasking import job_task

logger = logging.getLogger(__name__)


@job_task("observations.document_process")
def document_process(job_id: str) -> None:
    """Run the NLP ingest on the document named in the job's params, with progress in the job."""

    def work(job: Job) -> dict[str, Any]:
        document = Document.objects.get(pk=job.params["document"], project=job.project)
        result = services.document_process(document=document, job=job)
        if not result.get("stale"):
            # Apps above observations react (coding queues suggestions for the new text);
            # send_robust: a receiver's failure cannot fail the processing.
            for receiver, error in document_processed.send_robust(
                sender=Document, document=document
            ):
                if isinstance(error, Exception):
                    logger.error("document_processed receiver %r failed: %s", receiver, error)
        return result

    job_run(job_id=job_id, work=work)


@job_task("observations.pii_apply")
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
