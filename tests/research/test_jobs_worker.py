"""Jobs run by a real Celery worker, not inline.

The rest of the suite runs tasks eagerly (no broker configured), which never exercises the path
production takes: the API creates the job, `transaction.on_commit` publishes the task to the
broker, a separate worker thread with its own database connection picks it up and reports into
the job record, and the client polls `GET /api/v1/jobs/{id}/`.

These tests start an in-process worker (`celery.contrib.testing.worker.start_worker`) on the
project's own Celery app, consuming from the configured broker: `CELERY_BROKER_URL` when set
(Redis in CI), otherwise Kombu's in-memory transport, so they also run for a newcomer with no
broker. The worker listens on a queue unique to the test, so two runs sharing one Redis cannot
take each other's tasks.

The worker thread opens its own database connection, hence `transaction=True`: the job and the
document must be committed for it to see them. On SQLite that rules out pytest-django's usual
test database, an in-memory database in shared-cache mode
(`file:memorydb_default?mode=memory&cache=shared`): the worker thread does see it, but shared
cache locks per table and reports a conflict as SQLITE_LOCKED at once, without the busy timeout.
When the worker saves the job while the test's poll reads it, one side fails with
`OperationalError: database table is locked: research_job`: the worker (the job never finishes)
or the poll (a 500), in about one job in thirty when tried. This module therefore swaps in a
file-based test database for its own tests (see `django_db_setup` below), where a writer waits
for readers, as on a real database.
"""

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_prerun
from django.conf import settings
from django.db import connections, transaction
from django.db.backends.sqlite3.creation import DatabaseCreation as SQLiteCreation
from rest_framework.test import APIClient

from config.celery import app as celery_app
from observations import services
from observations.models import Document
from research.models import Job
from tests.conftest import Team, client_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-worker"),
]

WAIT_SECONDS = 30.0
FINISHED = {Job.Status.SUCCEEDED.value, Job.Status.FAILED.value}


@pytest.fixture(scope="module")
def django_db_setup(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """For this module only, on SQLite, move the test database from memory to a file.

    The in-memory database lives only while a connection to it is open, so its connection is
    detached (not closed) for the module and put back afterwards, with the settings."""
    connection = connections["default"]
    memory_name = connection.settings_dict["NAME"]
    if connection.vendor != "sqlite" or not SQLiteCreation.is_in_memory_db(memory_name):
        yield
        return
    test_settings = connection.settings_dict["TEST"]
    saved_test_name = test_settings.get("NAME")
    memory_database = connection.connection
    connection.connection = None
    test_settings["NAME"] = str(tmp_path_factory.mktemp("worker-db") / "test.sqlite3")
    try:
        with django_db_blocker.unblock():
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        yield
    finally:
        with django_db_blocker.unblock():
            connection.creation.destroy_test_db(memory_name, verbosity=0)
        test_settings["NAME"] = saved_test_name
        connection.connection = memory_database


def _drop_cached_connections(app: Celery) -> None:
    """Make the app forget its broker connection pool and its cached queue and exchange
    declarations, so changed broker and queue settings take effect (and are undone afterwards).
    The pools themselves are Kombu's, shared per broker URL: they are left open, not closed."""
    app._pool = None
    app.__dict__.pop("amqp", None)


@pytest.fixture(scope="module")
def worker_app(django_db_setup: None) -> Iterator[Celery]:
    """The project's Celery app with a running worker thread; tasks go through the broker.

    One worker serves the module's tests (starting and stopping one takes seconds); it is idle
    between tests, while pytest-django empties the database."""
    app = celery_app
    queue = f"verbatim-test-{uuid.uuid4().hex}"
    broker_url = settings.CELERY_BROKER_URL or "memory://"
    transport_options = dict(app.conf.broker_transport_options)
    if broker_url.startswith("memory://"):
        transport_options["polling_interval"] = 0.05  # the default polls once a second
    overrides: dict[str, Any] = {
        "task_always_eager": False,
        "broker_url": broker_url,
        "broker_transport_options": transport_options,
        "task_default_queue": queue,
        "task_default_exchange": queue,
        "task_default_routing_key": queue,
        # No broadcast/pidbox queues on a shared broker, and leave pytest's logging alone.
        "worker_enable_remote_control": False,
        "worker_hijack_root_logger": False,
    }
    saved = {key: app.conf[key] for key in overrides}
    app.conf.update(overrides)
    _drop_cached_connections(app)
    try:
        with start_worker(
            app,
            pool="solo",
            concurrency=1,
            queues=[queue],
            perform_ping_check=False,  # the ping needs a result backend; the project has none
            loglevel="WARNING",
            shutdown_timeout=30.0,
        ):
            yield app
        # Leave nothing behind on a shared broker: re-declare the queue on this connection (so
        # Kombu knows its bindings) and delete it with them.
        with app.connection_for_write() as connection:
            bound = app.amqp.queues[queue].bind(connection.default_channel)
            bound.declare()
            bound.delete()
    finally:
        _drop_cached_connections(app)
        app.conf.update(saved)


@pytest.fixture
def worker(worker_app: Celery) -> Iterator[Celery]:
    """The running worker's app, with tasks sent to it rather than run inline for this test
    (again per test, in case a function-scoped fixture made tasks inline)."""
    eager = worker_app.conf.task_always_eager
    worker_app.conf.task_always_eager = False
    yield worker_app
    worker_app.conf.task_always_eager = eager


@pytest.fixture
def task_runs() -> Iterator[list[dict[str, Any]]]:
    """How each task started in this test ran: name, eager or not, thread, queue."""
    runs: list[dict[str, Any]] = []

    def record(task: Any = None, **kwargs: Any) -> None:
        request = task.request
        runs.append(
            {
                "name": task.name,
                "eager": bool(request.is_eager),
                "thread": threading.get_ident(),
                "queue": (request.delivery_info or {}).get("routing_key"),
            }
        )

    task_prerun.connect(record, weak=False)
    yield runs
    task_prerun.disconnect(record)


def _wait_for_job(client: APIClient, job_id: str) -> dict[str, Any]:
    """Poll the job's API until it finishes; fail (not hang) after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        response = client.get(f"/api/v1/jobs/{job_id}/")
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        if body["status"] in FINISHED:
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {body['status']!r} after {WAIT_SECONDS:.0f}s")
        time.sleep(0.05)


INTERVIEWER = "How did the first week go?\n"
PARTICIPANT = "The invite email never arrived, so I set up the account myself.\n"
TEXT = INTERVIEWER + PARTICIPANT


def test_worker_processes_a_posted_document(
    worker: Celery, task_runs: list[dict[str, Any]], team: Team
) -> None:
    client = client_for(team.researcher)
    turns = [
        {"speaker": "Interviewer", "start": 0, "end": len(INTERVIEWER)},
        {"speaker": "Participant", "start": len(INTERVIEWER), "end": len(TEXT)},
    ]

    response = client.post(
        f"/api/v1/projects/{team.project.slug}/documents/",
        {"title": "Call with Ana", "text": TEXT, "turns": turns},
        format="json",
    )

    assert response.status_code == 201, response.content
    job = response.json()["job"]
    body = _wait_for_job(client, job["id"])
    assert body["status"] == "succeeded", body
    assert body["progress"] == 1.0
    assert body["error"] == ""
    assert body["result"]["turns"] == 2
    assert body["result"]["characters"] == len(TEXT)
    document = Document.objects.get(pk=response.json()["id"])
    assert document.status == Document.Status.READY
    assert Job.objects.get(pk=job["id"]).started_at is not None
    # It went through the broker: the worker thread ran it from the test's queue, not inline.
    assert task_runs == [
        {
            "name": "observations.document_process",
            "eager": False,
            "thread": task_runs[0]["thread"],
            "queue": worker.conf.task_default_queue,
        }
    ]
    assert task_runs[0]["thread"] != threading.get_ident()


def test_failing_task_marks_the_job_failed_and_the_worker_carries_on(
    worker: Celery, team: Team
) -> None:
    client = client_for(team.researcher)
    # The document is deleted before the transaction commits, so the task is published only
    # after the deletion: the worker finds the job but not its document.
    with transaction.atomic():
        document, job = services.document_create(
            project=team.project, creator=team.researcher, title="Deleted", text=TEXT
        )
        document.delete()

    body = _wait_for_job(client, str(job.pk))

    assert body["status"] == "failed", body
    assert "does not exist" in body["error"]
    assert Job.objects.get(pk=job.pk).finished_at is not None

    # The exception did not take the worker down: the next job still runs.
    response = client.post(
        f"/api/v1/projects/{team.project.slug}/documents/",
        {"title": "Call with Ben", "text": TEXT},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = _wait_for_job(client, response.json()["job"]["id"])
    assert body["status"] == "succeeded", body
    assert body["result"]["characters"] == len(TEXT)
    assert body["result"]["turns"] == 0
