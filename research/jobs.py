"""Job records: how every long task reports status and progress to the API and the pages.

A caller creates the job inside its transaction and enqueues the task with `job_enqueue`, which
waits for the commit (the worker must see the job row). With no broker configured the task runs
inline at commit, so the job has finished by the time the request returns. When the broker is
unreachable the job is marked failed and `QueueUnavailable` reaches the caller (a 503).

A task may run more than once for one job (redelivered after a worker died, or retried after a
transient error): `job_run` skips a job that already finished and otherwise runs the work again,
so the work must be idempotent (research.tasking).

Redelivery is bounded. A run that finds its job still running knows the previous run never
finished: its worker died (killed, or out of memory). `job_start` counts these interruptions
and, at VERBATIM_JOB_MAX_INTERRUPTIONS, marks the job failed and does not run the work again, so
a task that always kills its worker is not redelivered for ever. A retry after a transient error
puts the job back to queued first, so it is not counted. Time limits are no interruption: past
the soft limit `job_run` fails the job, and past the hard limit Celery acknowledges the message
and the task's `on_failure` does (research.tasking); neither is retried, and both say which
limit the work went over.
"""

import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
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
    """Mark a queued job running and return it; None if it must not run (again).

    None when the job is missing or already finished (a redelivery), and when this start finds
    the job still running for the VERBATIM_JOB_MAX_INTERRUPTIONS-th time: the job is then marked
    failed. Under the row lock, so two deliveries of one job count once each."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        if job.status == Job.Status.RUNNING:
            # Only a run whose worker died leaves the job running: every other end of a run
            # finishes the job or, for a transient error's retry, puts it back to queued.
            job.interruptions += 1
            if job.interruptions >= settings.VERBATIM_JOB_MAX_INTERRUPTIONS:
                job.status = Job.Status.FAILED
                job.error = interrupted_error(job.interruptions)
                job.finished_at = timezone.now()
                job.save(update_fields=["status", "error", "finished_at", "interruptions"])
                return None
        job.status = Job.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at", "interruptions"])
        return job


def _duration(seconds: int) -> str:
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def interrupted_error(times: int) -> str:
    """The error of a job whose worker stopped `times` times while running it."""
    return (
        f"The worker stopped {times} times while running this job (it was killed or ran out of "
        "memory), so it was not tried again. Try again with smaller input; if it keeps failing, "
        "the worker's logs and memory need attention."
    )


def time_limit_error(seconds: int) -> str:
    """The error of a job whose work took longer than the time limit of `seconds`."""
    return (
        f"The work took longer than the time limit of {_duration(seconds)} and was stopped; it "
        "was not tried again. Try again with smaller input, or ask the administrator to raise "
        "CELERY_TASK_TIME_LIMIT."
    )


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

    Redelivered jobs that already finished are skipped, which keeps tasks idempotent, and a job
    interrupted too often is failed instead (`job_start`). Expected problems should raise
    `ValidationError`; a transient error (research.tasking) leaves the job queued and is
    re-raised for the task's retry; the soft time limit is recorded as such and re-raised, not
    retried; anything else is recorded and re-raised.
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
    except SoftTimeLimitExceeded:
        # Not retried (it is no transient error): the same input would take as long again.
        job_fail(job=job, error=time_limit_error(settings.CELERY_TASK_SOFT_TIME_LIMIT))
        raise
    except Exception as exc:
        job_fail(job=job, error=f"Unexpected error: {type(exc).__name__}: {exc}")
        raise
    job_succeed(job=job, result=result)
