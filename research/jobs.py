"""Job records: how every long task reports status and progress to the API and the pages.

A caller creates the job inside its transaction and enqueues the task with `job_enqueue`, which
waits for the commit (the worker must see the job row). With no broker configured the task runs
inline at commit, so the job has finished by the time the request returns.
"""

from collections.abc import Callable
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from research.models import Job, Project, User


class _Task(Protocol):
    def delay(self, *args: Any, **kwargs: Any) -> Any: ...


def job_create(
    *,
    kind: str,
    project: Project | None,
    user: User | None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Create a queued job record."""
    return Job.objects.create(kind=kind, project=project, created_by=user, params=params or {})


def job_enqueue(*, job: Job, task: _Task) -> Job:
    """Run `task(job_id)` once the surrounding transaction commits (at once outside one)."""
    job_id = str(job.pk)
    transaction.on_commit(lambda: task.delay(job_id))
    return job


def job_start(*, job_id: str) -> Job | None:
    """Mark a queued job running and return it; None if it already finished (a redelivery)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        job.status = Job.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
        return job


def job_progress(*, job: Job, progress: float, message: str = "") -> None:
    """Record progress in [0, 1] (clamped) so pollers see it while the task still runs."""
    job.progress = min(1.0, max(0.0, progress))
    job.message = message[:255]
    Job.objects.filter(pk=job.pk).update(progress=job.progress, message=job.message)


def job_succeed(*, job: Job, result: dict[str, Any] | None = None) -> None:
    """Mark the job succeeded with its result."""
    job.status = Job.Status.SUCCEEDED
    job.progress = 1.0
    job.result = result or {}
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "progress", "result", "finished_at"])


def job_fail(*, job: Job, error: str) -> None:
    """Mark the job failed with a message a person can act on."""
    job.status = Job.Status.FAILED
    job.error = error
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])


def job_run(*, job_id: str, work: Callable[[Job], dict[str, Any] | None]) -> None:
    """Run `work(job)` for a job: start it, then record success, or failure with the error text.

    Redelivered jobs that already finished are skipped, which keeps tasks idempotent. Expected
    problems should raise `ValidationError`; anything else is recorded and re-raised.
    """
    from django.core.exceptions import ValidationError

    job = job_start(job_id=job_id)
    if job is None:
        return
    try:
        result = work(job)
    except ValidationError as exc:
        job_fail(job=job, error="; ".join(exc.messages))
        return
    except Exception as exc:
        job_fail(job=job, error=f"Unexpected error: {type(exc).__name__}: {exc}")
        raise
    job_succeed(job=job, result=result)
