"""Celery tasks for coding: each takes its input by id and calls one service."""

from typing import Any

from research.jobs import job_run
from research.models import Job
from research.tasking import job_task, verbatim_task


@verbatim_task("coding.hypotheses_reevaluate")
def hypotheses_reevaluate(project_id: int) -> int:
    """Re-evaluate the project's hypotheses whose data changed (see `coding.hypotheses`)."""
    from coding.hypotheses import reevaluate_project

    return reevaluate_project(project_id)


@job_task("coding.suggester_train")
def suggester_train(job_id: str) -> None:
    """Train the project's next suggester version, with progress in the job."""
    from coding.suggest.services import suggester_train as train

    def work(job: Job) -> dict[str, Any]:
        assert job.project is not None
        suggester = train(project=job.project, job=job)
        return {
            "suggester": suggester.pk,
            "version": suggester.version,
            "trained_on": suggester.trained_on,
            "overall": suggester.metrics.get("overall"),
        }

    job_run(job_id=job_id, work=work)


@job_task("coding.suggestions_generate")
def suggestions_generate(job_id: str) -> None:
    """Make suggestions (params: `documents`, ids or None for all ready; `refresh_model`)."""
    from coding.suggest.generate import generate

    def work(job: Job) -> dict[str, Any]:
        assert job.project is not None
        outcome = generate(
            project=job.project,
            documents=job.params.get("documents"),
            refresh_model=bool(job.params.get("refresh_model")),
            job=job,
        )
        return outcome.as_dict()

    job_run(job_id=job_id, work=work)


@job_task("coding.refi_import")
def refi_import(job_id: str) -> None:
    """Import the REFI-QDA file stored for the job (coding.refi.upload); the report is the
    job's result, and a file that cannot be read fails the job with the reader's message."""
    from coding.refi.upload import refi_import_run

    def work(job: Job) -> dict[str, Any]:
        return refi_import_run(job=job)

    job_run(job_id=job_id, work=work)


@verbatim_task("coding.retention_run")
def retention_run() -> dict[str, dict[str, int]]:
    """Delete raw material older than each project's retention period (coding.privacy)."""
    from coding.privacy.retention import retention_run as run

    return run()
