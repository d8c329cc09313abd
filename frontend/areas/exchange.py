"""The REFI-QDA exchange page: download the project (.qdpx) or codebook (.qdc), upload one.

The upload runs the same import job as the API (coding.refi.upload). The page redirects to
itself with `?job=`; with no broker the job has finished by then and the page shows its report,
otherwise exchange.js follows the job's progress and reloads when it ends.
"""

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from coding.refi.export_cases import case_loss
from coding.refi.upload import JOB_KIND, refi_import_queue
from frontend.views import AuthedRequest
from research.models import Job
from research.permissions import access_project
from research.roles import Capability

# What a REFI-QDA export never holds, whatever the project (the counted part is case_loss()).
ALWAYS_LOST = (
    "Pattern rules of codes, and whether a code is archived.",
    "Excerpt review flags and which suggestion an excerpt came from.",
    "Document file names and recording dates.",
)
REPORT_KINDS = ("codes", "documents", "excerpts", "memos", "participants", "users", "members")


@login_required
@require_http_methods(["GET", "POST"])
def exchange_page(request: AuthedRequest, slug: str) -> HttpResponse:
    need = Capability.IMPORT if request.method == "POST" else Capability.READ
    access = access_project(request.user, slug, need=need)
    project = access.project
    form_errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            form_errors.append("Choose a .qdpx project or a .qdc codebook.")
        else:
            try:
                queued = refi_import_queue(
                    project=project,
                    user=request.user,
                    name=upload.name or "upload.qdpx",
                    chunks=upload.chunks(),
                    size=upload.size or 0,
                    head=upload,
                )
            except ValidationError as exc:
                form_errors += exc.messages
            else:
                url = reverse("frontend:exchange", kwargs={"slug": slug})
                return redirect(f"{url}?job={queued.pk}")
    can_export = access.role.can(Capability.EXPORT)
    job = _job(request, project.pk)
    return render(
        request,
        "frontend/exchange/exchange.html",
        {
            "project": project,
            "can_export": can_export,
            "can_import": access.role.can(Capability.IMPORT),
            "losses": [*case_loss(project), *ALWAYS_LOST] if can_export else [],
            "job": job,
            "report_rows": _report_rows(job),
            "form_errors": form_errors,
        },
        status=400 if form_errors else 200,
    )


def _job(request: AuthedRequest, project_id: int) -> Job | None:
    job_id = request.GET.get("job", "")
    try:
        uuid.UUID(job_id)
    except ValueError:
        return None  # a malformed id is simply no job
    return Job.objects.filter(project_id=project_id, kind=JOB_KIND, pk=job_id).first()


def _report_rows(job: Job | None) -> list[tuple[str, int | str, int | str]]:
    """(kind, created, reused) for the report's table; "–" where a kind is never reused."""
    result = job.result if job is not None and isinstance(job.result, dict) else {}
    created, reused = result.get("created") or {}, result.get("reused") or {}
    return [(kind, created.get(kind, 0), reused.get(kind, "–")) for kind in REPORT_KINDS]


urlpatterns = [
    path("p/<slug:slug>/exchange/", exchange_page, name="exchange"),
]
