"""A real Celery worker killed mid-task: the job still completes exactly once, with no duplicate
rows (issue 8.4). Needs the real broker and database: Redis (`CELERY_BROKER_URL`) and PostgreSQL
(`DATABASE_URL`), which CI's second run provides. Without them these tests are skipped with
that reason; `.ci/run` checks that its PostgreSQL + Redis run did execute them.

The worker is a separate process (`celery -A config worker --pool=prefork -c 1`) on the test
database, consuming a queue unique to the test. tests/research/celery_fault_hook.py, loaded
into it, pauses `observations.document_process` inside its writing transaction (sentences
inserted, not committed), so the kill lands mid-task. What brings the task back:
- the pool child killed: the worker itself requeues it (`task_reject_on_worker_lost`);
- the whole worker killed: the message stays unacknowledged in Redis (`task_acks_late`) and a
  new worker restores it after the visibility timeout (3 s here, CELERY_VISIBILITY_TIMEOUT).
Each redelivery that finds its job still running counts an interruption; a job whose every run
kills its pool child (the hook's `kill` file) fails after VERBATIM_JOB_MAX_INTERRUPTIONS runs and
its message is acknowledged, so the worker is not kept busy with it for ever. A run past its
hard time limit is killed by the worker and fails the job at once, saying so, without a retry.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection, transaction

from config.celery import app as celery_app
from observations import services
from observations.models import Document, Sentence
from observations.tasks import document_process
from research.jobs import interrupted_error, job_create, time_limit_error
from research.models import Job
from tests.conftest import Team

NEEDS = (
    "needs the real broker and database: CELERY_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL)"
)
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-worker"),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis")
        or "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason=NEEDS,
    ),
]

ROOT = Path(__file__).resolve().parents[2]
BOUND = 60.0  # seconds any one wait may take before the test fails instead of hanging
TEXT = " ".join(
    f"Sentence {n} says the invite email for account {n} never arrived." for n in range(40)
)


@pytest.fixture
def fault(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The project's app publishing to a queue of this test under a key prefix of its own (the
    hook gives the worker the same), and what the worker subprocesses need."""
    queue = f"verbatim-fault-{uuid.uuid4().hex}"
    prefix = f"{queue}:"
    app: Celery = celery_app
    overrides: dict[str, Any] = {
        "task_always_eager": False,
        "task_default_queue": queue,
        "task_default_exchange": queue,
        "task_default_routing_key": queue,
        "broker_transport_options": {
            **app.conf.broker_transport_options,
            "global_keyprefix": prefix,
        },
    }
    saved = {key: app.conf[key] for key in overrides}
    app.conf.update(overrides)
    app._pool = None  # forget connections made with the old settings
    app.__dict__.pop("amqp", None)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        yield {"app": app, "queue": queue, "prefix": prefix, "dir": tmp_path, "workers": workers}
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        app.conf.update(saved)
        app._pool = None
        app.__dict__.pop("amqp", None)
        # Leave nothing behind on a shared Redis: every key of this test has its prefix.
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        keys = list(broker.scan_iter(match=f"{prefix}*"))
        if keys:
            broker.delete(*keys)


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def _start_worker(fault: dict[str, Any], name: str) -> subprocess.Popen[bytes]:
    """A worker process (in a session of its own, so the test can kill it with its pool)."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "VERBATIM_FAULT_DIR": str(fault["dir"]),
        "VERBATIM_FAULT_PREFIX": fault["prefix"],
        "VERBATIM_FAULT_QUEUE": fault["queue"],
        "PYTHONPATH": str(ROOT),
    }
    log = (fault["dir"] / f"{name}.log").open("wb")
    worker = subprocess.Popen(  # noqa: S603  # our own interpreter and fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "-c",
            "1",
            "-Q",
            fault["queue"],
            "-n",
            f"{name}@%h",
            "-I",
            "tests.research.celery_fault_hook",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    fault["workers"].append(worker)
    return worker


def _wait(what: str, fault: dict[str, Any], check: Any) -> Any:
    deadline = time.monotonic() + BOUND
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = "\n".join(p.read_text()[-2000:] for p in fault["dir"].glob("*.log"))
            pytest.fail(f"{what} did not happen within {BOUND:.0f}s; worker logs:\n{logs}")
        time.sleep(0.2)


def _paused_pid(fault: dict[str, Any]) -> int:
    paused = fault["dir"] / "paused"
    text = _wait(
        "the task pausing mid-transaction", fault, lambda: paused.exists() and paused.read_text()
    )
    return int(text)


def _queued_reprocessing(team: Team) -> tuple[Document, int, Job]:
    """A processed document (inline), its sentence count, then its sentences removed and a
    processing job for it published to the test's worker."""
    document, expected, job = _reprocessing(team)
    document_process.delay(str(job.pk))
    return document, expected, job


def _reprocessing(team: Team) -> tuple[Document, int, Job]:
    """As `_queued_reprocessing`, but the job is not published yet."""
    celery_app.conf.task_always_eager = True
    document, _ = services.document_create(
        project=team.project, creator=team.researcher, title="Call with Ana", text=TEXT
    )
    expected = Sentence.objects.filter(document=document).count()
    Sentence.objects.filter(document=document).delete()
    celery_app.conf.task_always_eager = False
    with transaction.atomic():
        job = job_create(
            kind="document_process",
            project=team.project,
            user=team.researcher,
            params={"document": document.pk},
        )
    return document, expected, job


def _finished(job: Job) -> Job | None:
    job.refresh_from_db()
    return job if job.is_finished else None


def _assert_once(document: Document, expected: int, job: Job, fault: dict[str, Any]) -> None:
    assert job.status == Job.Status.SUCCEEDED, job.error
    sentences = Sentence.objects.filter(document=document)
    assert expected > 10
    assert sentences.count() == expected
    assert sentences.values("start").distinct().count() == expected
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    # It ran twice (killed, then again) in two different processes, and succeeded once.
    runs = (fault["dir"] / "runs").read_text().split()
    assert len(runs) == 2
    assert runs[0] != runs[1]


def test_job_completes_once_when_the_pool_child_is_killed_mid_task(
    team: Team, fault: dict[str, Any]
) -> None:
    worker = _start_worker(fault, "first")
    document, expected, job = _queued_reprocessing(team)
    child = _paused_pid(fault)
    assert child != worker.pid
    # Sentences were inserted in the paused transaction: nothing is visible yet.
    assert not Sentence.objects.filter(document=document).exists()

    os.kill(child, signal.SIGKILL)

    job = _wait("the job finishing", fault, lambda: _finished(job))
    _assert_once(document, expected, job, fault)
    assert job.interruptions == 1
    assert worker.poll() is None  # the worker carried on with a new pool child


def test_job_completes_once_on_a_new_worker_when_the_whole_worker_is_killed(
    team: Team, fault: dict[str, Any]
) -> None:
    first = _start_worker(fault, "first")
    document, expected, job = _queued_reprocessing(team)
    _paused_pid(fault)

    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool child: nothing requeues
    first.wait()
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING
    assert not Sentence.objects.filter(document=document).exists()

    # A worker sweeps for unacked messages past the visibility timeout when it starts, then only
    # about every 100 s (kombu: unacked_restore_interval x unacked_restore_throttle). Start the new
    # one once the 3 s timeout has surely passed, as a restarted production worker would be.
    time.sleep(5)
    _start_worker(fault, "second")
    job = _wait("the job finishing on the new worker", fault, lambda: _finished(job))
    _assert_once(document, expected, job, fault)
    assert job.interruptions == 1


def _idle(fault: dict[str, Any]) -> bool:
    """Nothing of the test's queue is waiting or delivered-but-unacknowledged in Redis."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    waiting = list(broker.scan_iter(match=f"{fault['prefix']}{fault['queue']}*"))
    return not waiting and broker.hlen(f"{fault['prefix']}unacked") == 0


def test_job_fails_after_the_bound_when_every_run_kills_the_pool_child(
    team: Team, fault: dict[str, Any]
) -> None:
    worker = _start_worker(fault, "first")
    document, _, job = _reprocessing(team)
    (fault["dir"] / "kill").write_text(str(job.pk))
    document_process.delay(str(job.pk))

    job = _wait("the job failing", fault, lambda: _finished(job))
    bound = settings.VERBATIM_JOB_MAX_INTERRUPTIONS
    assert bound >= 2
    assert job.status == Job.Status.FAILED
    assert job.interruptions == bound
    assert job.error == interrupted_error(bound)
    assert f"stopped {bound} times" in job.error
    assert "not tried again" in job.error
    # The delivery that failed the job was acknowledged: nothing is left to deliver again.
    _wait("the queue emptying", fault, lambda: _idle(fault))
    runs = (fault["dir"] / "runs").read_text().split()
    assert len(runs) == bound
    assert len(set(runs)) == bound  # each run in a new pool child, each killed
    assert not Sentence.objects.filter(document=document).exists()
    assert worker.poll() is None


def test_job_fails_once_with_the_time_limit_when_its_run_passes_the_hard_limit(
    team: Team, fault: dict[str, Any]
) -> None:
    worker = _start_worker(fault, "first")
    document, _, job = _reprocessing(team)
    limit = 15  # seconds; the hook holds the run for 120 and outlasts the soft limit
    document_process.apply_async((str(job.pk),), time_limit=limit, soft_time_limit=limit - 5)
    _paused_pid(fault)

    job = _wait("the job failing", fault, lambda: _finished(job))
    assert job.status == Job.Status.FAILED
    assert job.error == time_limit_error(limit)
    assert f"took longer than the time limit of {limit} seconds" in job.error
    assert job.interruptions == 0
    # Acknowledged, not redelivered: the run is not tried again.
    _wait("the queue emptying", fault, lambda: _idle(fault))
    assert len((fault["dir"] / "runs").read_text().split()) == 1
    job.refresh_from_db()
    assert job.interruptions == 0
    assert not Sentence.objects.filter(document=document).exists()
    assert worker.poll() is None
