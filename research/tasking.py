"""How every Celery task is declared and published: one place for retries and broker failures.

Tasks are declared with `verbatim_task` (or `job_task` for those that take a job id). Both retry
only on the named transient errors below (a database or broker connection that dropped, a lock
or serialisation conflict), with exponential backoff, jitter and a bound; any other error fails
at once. Redelivery after a worker died mid-task comes from `acks_late` and
`reject_on_worker_lost` (config/settings.py), so every task must be idempotent: its writes are
all-or-nothing, or replace what an earlier run wrote (see ARCHITECTURE.md, background work).
For job tasks that redelivery is bounded: after VERBATIM_JOB_MAX_INTERRUPTIONS runs whose worker
died, the job is marked failed and the next delivery is acknowledged without running the work
(research.jobs.job_start). Time limits are not retried: past the soft limit the job fails with
a message saying so (research.jobs.job_run); past the hard limit the pool child is killed and
Celery acknowledges the message and calls `on_failure` below, which says the same.

Publishing goes through `enqueue`, which turns "the broker is unreachable" into
`QueueUnavailable` within seconds (the broker timeouts in settings), which the API answers
with a 503.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kombu.exceptions
import psycopg
import redis.exceptions
from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

# Errors that say "try again later", not "this input is wrong". Django wraps the driver's errors
# in its own classes; code that reaches the psycopg connection directly sees psycopg's.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)
# What publishing raises when the broker cannot be reached (Celery wraps the transport's errors).
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)
MAX_RETRIES = 5
RETRY_BACKOFF_MAX = 600  # seconds; the delays are 1, 2, 4, 8, 16 s (each jittered) before that
QUEUE_UNAVAILABLE = (
    "The task queue is unreachable, so the work was not started. Try again in a few minutes; "
    "if this persists, the broker (Redis) needs attention."
)


class QueueUnavailable(Exception):
    """The broker could not be reached to publish a task (the API answers 503)."""

    def __init__(self, message: str = QUEUE_UNAVAILABLE) -> None:
        super().__init__(message)


class VerbatimTask(Task):
    """Base of every task: on final failure of a job task, the job is marked failed."""

    takes_job = False

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        # job_run marks the job failed itself, except after the last retry of a transient error,
        # where it left the job queued for the retry that now never comes, and at the hard time
        # limit, where the worker killed the process running it (Celery calls this in the worker).
        if self.takes_job and args:
            from research.jobs import job_fail_unfinished, time_limit_error

            if isinstance(exc, TimeLimitExceeded):
                # Celery passes the limit that applied (a call may set its own).
                limit = exc.args[0] if exc.args else settings.CELERY_TASK_TIME_LIMIT
                error = time_limit_error(int(limit))
            else:
                error = f"Gave up after {self.request.retries} retries: {type(exc).__name__}: {exc}"
            job_fail_unfinished(job_id=str(args[0]), error=error)


def verbatim_task(name: str, *, takes_job: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """Declare a task named `name` that retries only on TRANSIENT_ERRORS, with backoff.

    The result is a Celery task (untyped: Celery ships no types), called with `enqueue`."""

    def decorate(function: Callable[..., Any]) -> Any:
        return shared_task(
            name=name,
            base=VerbatimTask,
            takes_job=takes_job,
            autoretry_for=TRANSIENT_ERRORS,
            retry_backoff=True,
            retry_backoff_max=RETRY_BACKOFF_MAX,
            retry_jitter=True,
            max_retries=MAX_RETRIES,
        )(function)

    return decorate


def job_task(name: str) -> Callable[[Callable[..., Any]], Any]:
    """Declare a task whose first argument is a job id (see `research.jobs.job_run`)."""
    return verbatim_task(name, takes_job=True)


def enqueue(task: Any, *args: Any) -> Any:
    """Publish `task(*args)`; raises QueueUnavailable within seconds when the broker is down.

    With no broker configured the task runs inline, as `delay` does."""
    try:
        return task.delay(*args)
    except BROKER_ERRORS as exc:
        raise QueueUnavailable() from exc


@contextmanager
def removed_unless_retried(path: Path) -> Iterator[None]:
    """Remove the file `path` when the block ends, unless a transient error (which the task
    retries, reading the file again) ends it."""
    try:
        yield
    except TRANSIENT_ERRORS:
        raise
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)
