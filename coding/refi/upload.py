"""An uploaded `.qdpx` or `.qdc` imported as a job: cheap checks at once, the rest in the task.

The upload is stored under MEDIA_ROOT (shared by web and workers, as segmentation uploads are)
until its task has run, then removed whatever happened (unless a transient error is retried).
The cheap checks (the file's name, its size, a `.qdpx` being a zip at all) answer the upload;
everything that needs the archive read fails the job with the reader's message, and nothing is
written.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from coding.refi.archive import RefiError
from coding.refi.importer import ImportReport, import_qda
from coding.refi.model import QdaProject
from research.jobs import job_create, job_enqueue, job_progress, job_succeed
from research.models import Job, Project, User
from research.tasking import removed_unless_retried

JOB_KIND = "refi_import"
EXTENSIONS = (".qdpx", ".qdc")
# Reading stops being cheap here; the import's own share of the job's progress follows.
READ_SHARE = 0.2


def upload_path(job_id: str) -> Path:
    """Where an uploaded REFI-QDA file waits for its task."""
    return Path(settings.MEDIA_ROOT) / "refi-uploads" / job_id


def max_upload_bytes() -> int:
    """The largest file accepted: a .qdpx is compressed, so its own size is bounded by what it
    may expand to (VERBATIM_REFI_MAX_BYTES)."""
    return int(settings.VERBATIM_REFI_MAX_BYTES)


def check_upload(name: str, size: int, head: IO[bytes]) -> None:
    """Raise ValidationError on `file` when the upload is plainly not importable."""
    lowered = name.lower()
    if not lowered.endswith(EXTENSIONS):
        raise ValidationError({"file": "Upload a REFI-QDA project (.qdpx) or codebook (.qdc)."})
    if size == 0:
        raise ValidationError({"file": f"{name} is empty."})
    if size > max_upload_bytes():
        raise ValidationError(
            {"file": f"{name} is larger than the {max_upload_bytes():,} bytes allowed."}
        )
    if lowered.endswith(".qdpx") and not zipfile.is_zipfile(head):
        raise ValidationError({"file": f"{name} is not a .qdpx (zip) archive, or it is damaged."})
    head.seek(0)


def refi_import_queue(
    *, project: Project, user: User, name: str, chunks: Any, size: int, head: IO[bytes]
) -> Job:
    """Check the upload, store it and queue its import (run after commit); the queued job.

    `chunks` yields the file's bytes; `head` is a seekable view of the same file for the checks.
    """
    check_upload(name, size, head)
    with transaction.atomic():
        job = job_create(kind=JOB_KIND, project=project, user=user, params={"file_name": name})
        path = upload_path(str(job.pk))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
        from coding.tasks import refi_import

        job_enqueue(job=job, task=refi_import)
    return job


def read_file(name: str, path: Path) -> QdaProject:
    """The project (or codebook) in a stored upload; ValidationError with the reader's message."""
    from coding.refi.reader import read_qdc, read_qdpx

    try:
        if name.lower().endswith(".qdc"):
            return read_qdc(path.read_bytes(), entry=name)
        with path.open("rb") as handle:
            return read_qdpx(handle)
    except RefiError as exc:
        raise ValidationError(f"{name}: {exc}") from None


def refi_import_run(*, job: Job) -> dict[str, Any]:
    """Read the job's stored file and import it into the job's project as the job's creator;
    the report as a dict. The stored file is removed either way, except for a transient error,
    whose retry reads it again."""
    assert job.project is not None  # the job was created for a project (refi_import_queue)
    if job.created_by is None:
        raise ValidationError("The account that started this import no longer exists.")
    name = str(job.params.get("file_name") or "upload.qdpx")
    path = upload_path(str(job.pk))
    with removed_unless_retried(path):
        job_progress(job=job, progress=0.0, message=f"Reading {name}")
        qda = read_file(name, path)
        # The job is marked succeeded in the import's transaction: a redelivery of the task
        # after the commit finds it finished and cannot import the file a second time.
        with transaction.atomic():
            report: ImportReport = import_qda(
                job.project,
                qda,
                user=job.created_by,
                source_name=name,
                progress=lambda done, message: job_progress(
                    job=job, progress=READ_SHARE + (1 - READ_SHARE) * done, message=message
                ),
            )
            result = {
                "file_name": name,
                "project_name": qda.name,
                "origin": qda.origin,
                **report.as_dict(),
            }
            job_succeed(job=job, result=result)
    return result
