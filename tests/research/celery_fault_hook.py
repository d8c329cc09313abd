"""Loaded into the worker of tests/research/test_celery_faults.py (`celery worker -I ...`) only.

It pauses `observations.document_process` inside its writing transaction (the sentences are
inserted, not yet committed) the first time it gets there, so the test can kill the worker
mid-task, and it records each run there. Nothing in the application refers to this module.

Environment: VERBATIM_FAULT_DIR (where `paused` holds the pid of the process that paused and
`runs` gets a line per run), VERBATIM_FAULT_PREFIX (a Redis key prefix, so the short
visibility timeout of this worker cannot redeliver other tests' tasks), VERBATIM_FAULT_QUEUE.
"""

import os
import time
from pathlib import Path
from typing import Any

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
    paused = _DIR / "paused"
    if not paused.exists():
        paused.write_text(str(os.getpid()))
        time.sleep(120)  # killed long before this ends
    return _detect(**kwargs)


pii.pii_detect = _paused_detect
