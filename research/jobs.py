"""Job records: how every long task reports status and progress to the API and the pages.

A caller creates the job inside its transaction and enqueues the task with `job_enqueue`, which
waits for the commit (the worker must see the job row). With no broker configured the task runs
inline at commit, so the job has finished by the time the request returns. When the broker is
unreachable the job is marked failed and `QueueUnavailable` reaches the caller (a 503).

A task may run more than once for one job (redelivered after a worker died, or retried after a
transient error): `job_run` skips a job that already finished and otherwise runs the work again,
so the work must be idempotent (research.tasking).
"""

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from research.models import Job, Project, User
from research.tasking import TRANSIENT_ERRORS, QueueUnavailable, enqueue


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
    """Run `task(job_id)` once the surrounding transaction commits (at once outside one).

    If the broker cannot be reached, the job is marked failed (never left queued with no task)
    and QueueUnavailable is raised from the commit, after the caller's writes are saved."""
    job_id = str(job.pk)

    def publish() -> None:
        try:
            enqueue(task, job_id)
        except QueueUnavailable as exc:
            job_fail_unfinished(job_id=job_id, error=str(exc))
            raise

    transaction.on_commit(publish)
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


def job_fail_unfinished(*, job_id: str, error: str) -> bool:
    """Mark the job failed with `error` unless it already finished; True if it was marked."""
    marked = (
        Job.objects.filter(pk=job_id)
        .exclude(status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED])
        .update(status=Job.Status.FAILED, error=error, finished_at=timezone.now())
    )
    return bool(marked)


def job_retry_later(*, job: Job, error: BaseException) -> None:
    """Put a job whose work hit a transient error back to queued, saying so, for the retry.

    Best effort: the database itself may be what is unreachable."""
    with contextlib.suppress(*TRANSIENT_ERRORS):
        Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.QUEUED,
            message=f"Retrying after a temporary error: {type(error).__name__}"[:255],
        )


def job_run(*, job_id: str, work: Callable[[Job], dict[str, Any] | None]) -> None:
    """Run `work(job)` for a job: start it, then record success, or failure with the error text.

    Redelivered jobs that already finished are skipped, which keeps tasks idempotent. Expected
    problems should raise `ValidationError`; a transient error (research.tasking) leaves the
    job queued and is re-raised for the task's retry; anything else is recorded and re-raised.
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
    except TRANSIENT_ERRORS as exc:
        job_retry_later(job=job, error=exc)
        raise
    except Exception as exc:
        job_fail(job=job, error=f"Unexpected error: {type(exc).__name__}: {exc}")
        raise
    job_succeed(job=job, result=result)
