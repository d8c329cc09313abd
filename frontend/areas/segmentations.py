"""Pages of the segmentation area: the project's customer segmentation snapshots.

The upload runs the same import job as the API; with no broker it has finished when the page
redirects, and the page shows the job's outcome (counts, or the rows to fix).
"""

import uuid

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from frontend.views import AuthedRequest
from research.jobs import job_create, job_enqueue
from research.models import Job
from research.permissions import access_project
from research.roles import Capability
from research.selectors_segmentation import segment_summaries
from research.services_segmentation import participant_match_report

ACCEPT = ".csv,.tsv,.txt,.xlsx"


@login_required
@require_http_methods(["GET", "POST"])
def segmentation_page(request: AuthedRequest, slug: str) -> HttpResponse:
    need = Capability.IMPORT if request.method == "POST" else Capability.READ
    access = access_project(request.user, slug, need=need)
    project = access.project
    form_errors: list[str] = []
    if request.method == "POST":
        from research.tasks import segmentation_import, upload_path

        upload = request.FILES.get("file")
        fields = {
            key: request.POST.get(key, "").strip()
            for key in ("name", "customer_column", "segment_column")
        }
        if upload is None:
            form_errors.append("Choose a CSV or XLSX file.")
        elif not (upload.name or "").lower().endswith((".csv", ".tsv", ".txt", ".xlsx")):
            form_errors.append("Unsupported file type: upload a .csv or .xlsx file.")
        form_errors += [f"Fill in {key.replace('_', ' ')}." for key, v in fields.items() if not v]
        if not form_errors and upload is not None:
            with transaction.atomic():
                queued = job_create(
                    kind="segmentation_import",
                    project=project,
                    user=request.user,
                    params={**fields, "file_name": upload.name or "upload.csv", "types": {}},
                )
                path_ = upload_path(str(queued.pk))
                path_.parent.mkdir(parents=True, exist_ok=True)
                with path_.open("wb") as out:
                    for chunk in upload.chunks():
                        out.write(chunk)
                job_enqueue(job=queued, task=segmentation_import)
            url = reverse("frontend:segmentation-list", kwargs={"slug": slug})
            return redirect(f"{url}?job={queued.pk}")
    job: Job | None = None
    job_id = request.GET.get("job", "")
    try:
        uuid.UUID(job_id)
    except ValueError:
        job_id = ""  # a malformed id is simply no job
    if job_id:
        job = Job.objects.filter(project=project, kind="segmentation_import", pk=job_id).first()
    snapshots = []
    for segmentation in project.segmentations.order_by("name", "-version"):
        snapshots.append(
            {
                "object": segmentation,
                "segments": segment_summaries(segmentation=segmentation),
                "match": participant_match_report(project=project, segmentation=segmentation),
            }
        )
    return render(
        request,
        "frontend/segmentations/list.html",
        {
            "project": project,
            "snapshots": snapshots,
            "can_import": access.role.can(Capability.IMPORT),
            "job": job,
            "form_errors": form_errors,
            "accept": ACCEPT,
        },
        status=400 if form_errors else 200,
    )


urlpatterns = [
    path("p/<slug:slug>/segmentations/", segmentation_page, name="segmentation-list"),
]
