"""Every task retries only on named transient errors, with backoff; the broker's visibility
timeout outlasts the longest task; a redelivered or retried job does its work once; and an
unreachable broker gives a quick 503 and a failed job, never a hang (issue 8.4)."""

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.conf import settings
from django.db import OperationalError, connection

from coding.models import Suggester
from coding.suggest.services import suggester_train
from config.celery import app as celery_app
from observations.models import Document
from research import tasks as research_tasks
from research.jobs import job_create, job_run
from research.models import Job, Segmentation
from research.tasking import (
    MAX_RETRIES,
    QUEUE_UNAVAILABLE,
    TRANSIENT_ERRORS,
    VerbatimTask,
    job_task,
    removed_unless_retried,
)
from tests.conftest import Team, client_for

APPS = ("research.", "observations.", "coding.")
calls: list[str] = []


@job_task("tests.flaky")
def flaky(job_id: str) -> None:
    """Fails with a transient error twice, then succeeds (or ValueError with params.fatal)."""

    def work(job: Job) -> dict[str, Any]:
        calls.append(job_id)
        if job.params.get("fatal"):
            raise ValueError("not transient")
        if len(calls) <= job.params.get("failures", 2):
            raise OperationalError("server closed the connection unexpectedly")
        return {"calls": len(calls)}

    job_run(job_id=job_id, work=work)


def _ours() -> list[Any]:
    celery_app.loader.import_default_modules()
    return [t for name, t in celery_app.tasks.items() if name.startswith(APPS)]


def test_every_task_retries_only_on_named_transient_errors_with_backoff() -> None:
    tasks = _ours()
    assert {t.name for t in tasks} >= {
        "observations.document_process",
        "observations.pii_apply",
        "coding.suggester_train",
        "coding.suggestions_generate",
        "coding.refi_import",
        "coding.hypotheses_reevaluate",
        "research.segmentation_import",
    }
    for task in tasks:
        assert isinstance(task, VerbatimTask), task.name
        assert tuple(task.autoretry_for) == TRANSIENT_ERRORS, task.name
        assert Exception not in task.autoretry_for
        assert task.retry_backoff, task.name
        assert task.retry_jitter, task.name
        assert task.max_retries == MAX_RETRIES


def test_visibility_timeout_exceeds_the_longest_hard_time_limit() -> None:
    limits = [t.time_limit or settings.CELERY_TASK_TIME_LIMIT for t in _ours()]
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_TASK_ACKS_LATE
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert 0 < settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    assert visibility > max(limits)


def test_transient_error_is_retried_and_the_job_succeeds_once(team: Team) -> None:
    calls.clear()
    job = job_create(kind="test", project=team.project, user=None, params={"failures": 2})
    flaky.delay(str(job.pk))
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.result == {"calls": 3}
    assert calls == [str(job.pk)] * 3


def test_job_fails_when_transient_errors_outlast_the_retries(team: Team) -> None:
    calls.clear()
    job = job_create(kind="test", project=team.project, user=None, params={"failures": 99})
    flaky.delay(str(job.pk))
    job.refresh_from_db()
    assert len(calls) == MAX_RETRIES + 1
    assert job.status == Job.Status.FAILED
    assert "OperationalError" in job.error
    assert f"after {MAX_RETRIES} retries" in job.error


def test_other_errors_are_not_retried(team: Team) -> None:
    calls.clear()
    job = job_create(kind="test", project=team.project, user=None, params={"fatal": True})
    flaky.delay(str(job.pk))
    job.refresh_from_db()
    assert calls == [str(job.pk)]
    assert job.status == Job.Status.FAILED
    assert "ValueError: not transient" in job.error


def test_upload_is_kept_for_a_retry_and_removed_otherwise(tmp_path: Path) -> None:
    kept, removed, done = tmp_path / "kept", tmp_path / "removed", tmp_path / "done"
    for path in (kept, removed, done):
        path.write_bytes(b"x")
    with pytest.raises(OperationalError), removed_unless_retried(kept):
        raise OperationalError("gone")
    with pytest.raises(ValueError, match="bad"), removed_unless_retried(removed):
        raise ValueError("bad")
    with removed_unless_retried(done):
        pass
    assert [kept.exists(), removed.exists(), done.exists()] == [True, False, False]


def test_segmentation_import_redelivered_after_its_commit_imports_once(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_create(
        kind="segmentation_import",
        project=team.project,
        user=team.owner,
        params={
            "name": "Churn",
            "file_name": "s.csv",
            "customer_column": "id",
            "segment_column": "segment",
        },
    )
    path = research_tasks.upload_path(str(job.pk))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"id,segment\nc1,A\nc2,B\n")

    def killed(**kwargs: Any) -> None:  # the worker dies between the import's commit and this
        raise SystemExit("worker killed")

    monkeypatch.setattr("research.jobs.job_succeed", killed)
    with pytest.raises(SystemExit):
        research_tasks.segmentation_import(str(job.pk))
    monkeypatch.undo()
    research_tasks.segmentation_import(str(job.pk))  # redelivered

    assert Segmentation.objects.filter(project=team.project).count() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.result is not None
    assert job.result["customers"] == 2


def test_suggester_training_rerun_for_a_job_reuses_its_version_row(team: Team) -> None:
    job = job_create(kind="suggester_train", project=team.project, user=team.owner)
    Suggester.objects.create(project=team.project, version=1, job=job)  # a run that died

    with pytest.raises(Exception, match="coded passages"):
        suggester_train(project=team.project, job=job)

    assert list(Suggester.objects.values_list("version", "status")) == [(1, "failed")]


# --- the broker is down --------------------------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung broker."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def _broker(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    app = celery_app
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.update(broker_url=url, task_always_eager=False)
    app._pool = None
    app.__dict__.pop("amqp", None)
    try:
        yield app
    finally:
        app.conf.update(saved)
        app._pool = None
        app.__dict__.pop("amqp", None)


@pytest.fixture(params=["refused", "silent"])
def broker_down(
    request: pytest.FixtureRequest, silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Celery]:
    port = 1 if request.param == "refused" else silent_port
    yield from _broker(f"redis://127.0.0.1:{port}/0", monkeypatch)


def _post_in_thread(team: Team) -> Any:
    """Post a document from another thread; None if it has not answered in 30 s (a hang:
    the broker timeouts in settings bound it to a few seconds)."""
    answers: list[Any] = []
    client = client_for(team.researcher)
    url = f"/api/v1/projects/{team.project.slug}/documents/"

    def post() -> None:
        try:
            answers.append(client.post(url, {"title": "Call", "text": "Hi."}, format="json"))
        finally:
            connection.close()  # this thread's own; left open it blocks the test DB's removal

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    thread.join(30)
    return answers[0] if answers else None


@pytest.mark.django_db(transaction=True)
def test_enqueue_with_the_broker_down_answers_503_and_fails_the_job(
    team: Team, broker_down: Celery
) -> None:
    response = _post_in_thread(team)

    assert response is not None, "the request hung on the unreachable broker"
    assert response.status_code == 503, response.content
    assert response.json() == {"detail": QUEUE_UNAVAILABLE, "errors": []}
    assert response.json()["detail"].startswith("The task queue is unreachable")
    job = Job.objects.get(kind="document_process")
    assert job.status == Job.Status.FAILED
    assert job.error == QUEUE_UNAVAILABLE
    assert job.finished_at is not None
    # The document itself was saved (the commit came first); it can be reprocessed later.
    assert Document.objects.filter(project=team.project, title="Call").count() == 1
