"""A job's redelivery is bounded: a run that finds its job still running counts the worker's
death as an interruption, and at VERBATIM_JOB_MAX_INTERRUPTIONS the job fails instead of running
again; retries after transient errors do not count; time limits fail the job with a message
that says so, without a retry (issue 8.4). The real worker's side: test_celery_faults.py."""

from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

from research.jobs import interrupted_error, job_create, job_run, job_start, time_limit_error
from research.models import Job
from research.tasking import job_task
from tests.conftest import Team, client_for

slow_calls: list[str] = []


@job_task("tests.slow")
def slow(job_id: str) -> None:
    """Its work always runs past the soft time limit."""

    def work(job: Job) -> dict[str, Any]:
        slow_calls.append(job_id)
        raise SoftTimeLimitExceeded()

    job_run(job_id=job_id, work=work)


def test_job_start_counts_an_interruption_when_the_job_is_still_running(team: Team) -> None:
    job = job_create(kind="test", project=team.project, user=None)
    first = job_start(job_id=str(job.pk))
    assert first is not None
    assert first.interruptions == 0
    # The first run's worker died: the redelivery finds the job still running.
    again = job_start(job_id=str(job.pk))
    assert again is not None
    assert again.status == Job.Status.RUNNING
    assert again.interruptions == 1
    assert again.started_at == first.started_at
    job.refresh_from_db()
    assert job.interruptions == 1


def test_job_fails_without_running_when_interruptions_reach_the_bound(team: Team) -> None:
    bound = settings.VERBATIM_JOB_MAX_INTERRUPTIONS
    assert bound >= 2
    job = job_create(kind="test", project=team.project, user=None)
    for interrupted in range(bound):
        started = job_start(job_id=str(job.pk))
        assert started is not None
        assert started.interruptions == interrupted
    ran: list[Job] = []

    def work(running: Job) -> dict[str, Any]:
        ran.append(running)
        return {}

    job_run(job_id=str(job.pk), work=work)
    assert ran == []
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.interruptions == bound
    assert job.finished_at is not None
    assert job.error == interrupted_error(bound)
    assert f"The worker stopped {bound} times while running this job" in job.error
    assert "out of memory" in job.error
    assert "not tried again" in job.error
    assert job_start(job_id=str(job.pk)) is None  # any later delivery is acknowledged too


def test_interruptions_are_not_counted_when_transient_errors_are_retried(team: Team) -> None:
    job = job_create(kind="test", project=team.project, user=None)
    attempts = settings.VERBATIM_JOB_MAX_INTERRUPTIONS + 2

    def flaky(running: Job) -> dict[str, Any]:
        raise OperationalError("server closed the connection unexpectedly")

    for _ in range(attempts):
        with pytest.raises(OperationalError):
            job_run(job_id=str(job.pk), work=flaky)
        job.refresh_from_db()
        assert job.status == Job.Status.QUEUED
    job_run(job_id=str(job.pk), work=lambda running: {"done": True})
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.interruptions == 0


def test_job_fails_once_with_the_time_limit_when_work_passes_the_soft_limit(team: Team) -> None:
    slow_calls.clear()
    job = job_create(kind="test", project=team.project, user=None)
    slow.delay(str(job.pk))
    job.refresh_from_db()
    assert slow_calls == [str(job.pk)]  # not retried
    assert job.status == Job.Status.FAILED
    assert job.error == time_limit_error(settings.CELERY_TASK_SOFT_TIME_LIMIT)
    minutes = settings.CELERY_TASK_SOFT_TIME_LIMIT // 60
    assert f"took longer than the time limit of {minutes} minutes" in job.error
    assert "Unexpected" not in job.error
    assert "SoftTimeLimitExceeded" not in job.error
    assert job.interruptions == 0


def test_job_fails_with_the_time_limit_when_the_hard_limit_killed_its_run(team: Team) -> None:
    job = job_create(kind="test", project=team.project, user=None)
    assert job_start(job_id=str(job.pk)) is not None
    # What the worker calls when the pool child ran past CELERY_TASK_TIME_LIMIT and was killed.
    limit = settings.CELERY_TASK_TIME_LIMIT
    slow.on_failure(TimeLimitExceeded(limit), "task-id", (str(job.pk),), {}, None)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == time_limit_error(limit)
    assert f"took longer than the time limit of {limit // 60} minutes" in job.error


def test_job_endpoint_shows_interruptions_when_a_worker_died(team: Team) -> None:
    job = job_create(kind="test", project=team.project, user=team.owner)
    job_start(job_id=str(job.pk))
    job_start(job_id=str(job.pk))
    body = client_for(team.owner).get(f"/api/v1/jobs/{job.pk}/").json()
    assert body["status"] == "running"
    assert body["interruptions"] == 1
