"""Loaded into the worker of tests/research/test_celery_faults.py (`celery worker -I ...`) only.

It pauses `observations.document_process` inside its writing transaction (the sentences are
inserted, not yet committed) the first time it gets there, so the test can kill the worker
mid-task, and it records each run there. When the file `kill` names the job being run, the pool
child instead kills itself with SIGKILL there, on every run (a task that always takes its
worker down: a segfault, the out-of-memory killer). Nothing in the application refers to this
module. The pause outlasts a soft time limit, as work stuck in C code would, so that only the
hard limit ends it.

Environment: VERBATIM_FAULT_DIR (where `paused` holds the pid of the process that paused, `kill`
the id of a job whose every run is killed, and `runs` gets a line per run),
VERBATIM_FAULT_PREFIX (a Redis key prefix, so the short visibility timeout of this worker cannot
redeliver other tests' tasks), VERBATIM_FAULT_QUEUE.
"""

import os
import signal
import time
from pathlib import Path
from typing import Any

from celery import current_task
from celery.exceptions import SoftTimeLimitExceeded

from config.celery import app
from observations.services import pii

_DIR = Path(os.environ["VERBATIM_FAULT_DIR"])
_detect = pii.pii_detect

_queue = os.environ["VERBATIM_FAULT_QUEUE"]
app.conf.update(
    broker_transport_options={
        **app.conf.broker_transport_options,
        "global_keyprefix": os.environ["VERBATIM_FAULT_PREFIX"],
    },
    # Follow-up tasks the worker queues go to the test's queue too, not to the shared default.
    task_default_queue=_queue,
    task_default_exchange=_queue,
    task_default_routing_key=_queue,
)


def _paused_detect(**kwargs: Any) -> Any:
    with (_DIR / "runs").open("a") as runs:
        runs.write(f"{os.getpid()}\n")
    kill = _DIR / "kill"
    if kill.exists() and kill.read_text() == str(current_task.request.args[0]):
        os.kill(os.getpid(), signal.SIGKILL)
    paused = _DIR / "paused"
    if not paused.exists():
        paused.write_text(str(os.getpid()))
        try:
            time.sleep(120)  # killed long before this ends
        except SoftTimeLimitExceeded:
            # Stuck where the soft limit cannot stop it (in C code, say): the hard limit must.
            time.sleep(120)
    return _detect(**kwargs)


pii.pii_detect = _paused_detect
