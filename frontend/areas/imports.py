"""Pages of the imports area: bring transcripts and survey files into a project.

With JavaScript, each chosen file is sent on its own to the review route (upload progress per
file), which answers an HTML card with the file's speakers and a mapping choice for each; the
confirmed batch then goes to the documents API in one multipart request (all or nothing).
Without JavaScript, the import page takes the same multipart form, imports with the default
speaker mapping, and redirects back listing what it created.
"""

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from frontend.views import AuthedRequest
from observations.importers import SUPPORTED_EXTENSIONS
from observations.importers.base import ParseOptions
from observations.selectors import document_list
from observations.services.imports import (
    FilePreview,
    ImportValidationError,
    UploadedFileLike,
    documents_import,
    documents_preview,
    survey_columns,
)
from observations.services.speakers import SpeakerTarget
from research.models import Participant, Project, User
from research.permissions import access_project
from research.roles import Capability

ACCEPT = ",".join(SUPPORTED_EXTENSIONS)


def _options(request: AuthedRequest) -> ParseOptions:
    post = request.POST
    columns = [c.strip() for c in post.getlist("text_columns") for c in c.split(",")]
    return ParseOptions(
        text_columns=tuple(c for c in columns if c),
        respondent_column=post.get("respondent_column", "").strip() or None,
        customer_ref_column=post.get("customer_ref_column", "").strip() or None,
    )


def _participant(project: Project, raw: str | None) -> Participant | None:
    if not raw or not raw.isdigit():
        return None
    return project.participants.filter(pk=int(raw)).first()


def _files(request: AuthedRequest) -> list[UploadedFileLike]:
    return [
        UploadedFileLike(name=upload.name or "upload", data=upload.read())
        for upload in request.FILES.getlist("file")
    ]


def document_url(slug: str, pk: int) -> str:
    """The document's reader page, or the project home while that page does not exist yet."""
    try:
        return reverse("frontend:document-detail", kwargs={"slug": slug, "pk": pk})
    except NoReverseMatch:
        return reverse("frontend:project-home", kwargs={"slug": slug})


def _members(project: Project) -> list[User]:
    return list(User.objects.filter(memberships__project=project).order_by("username"))


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: AuthedRequest, slug: str) -> HttpResponse:
    access = access_project(request.user, slug, need=Capability.IMPORT)
    project = access.project
    errors: list[dict[str, object]] = []
    if request.method == "POST":
        try:
            result = documents_import(
                project=project,
                user=request.user,
                files=_files(request),
                options=_options(request),
                participant=_participant(project, request.POST.get("participant")),
            )
        except ImportValidationError as exc:
            errors = exc.errors
        except ValidationError as exc:
            errors = [{"message": message} for message in exc.messages]
        else:
            ids = ",".join(str(document.pk) for document in result.documents)
            return redirect(f"{reverse('frontend:import', args=[project.slug])}?imported={ids}")
    imported_ids = [int(i) for i in request.GET.get("imported", "").split(",") if i.isdigit()]
    imported = (
        list(document_list(project=project).filter(pk__in=imported_ids)) if imported_ids else []
    )
    context = {
        "project": project,
        "accept": ACCEPT,
        "supported": ", ".join(SUPPORTED_EXTENSIONS),
        "participants": list(project.participants.all()),
        "errors": errors,
        "imported": [(document, document_url(project.slug, document.pk)) for document in imported],
        "api_url": reverse("api:document-list", kwargs={"slug": project.slug}),
        "document_url_template": document_url(project.slug, 999999999),
    }
    return render(request, "frontend/imports/import.html", context, status=400 if errors else 200)


@login_required
@require_POST
def import_review(request: AuthedRequest, slug: str) -> HttpResponse:
    """One file's review card: its speakers with a proposed mapping, or its problems."""
    access = access_project(request.user, slug, need=Capability.IMPORT)
    project = access.project
    files = _files(request)[:1]
    try:
        previews = documents_preview(
            project=project,
            user=request.user,
            files=files,
            options=_options(request),
            participant=_participant(project, request.POST.get("participant")),
        )
    except ImportValidationError as exc:
        previews = [FilePreview(name="", errors=exc.errors)]
    preview = previews[0]
    columns = survey_columns(files[0]) if files else []
    participants = list(project.participants.all())
    choices = [
        (
            "Interviewer (project member)",
            [(f"interviewer:{user.username}", _member_label(user)) for user in _members(project)],
        ),
        ("Participant", [(f"participant:{p.pk}", p.pseudonym) for p in participants]),
    ]
    context = {
        "preview": preview,
        "columns": columns,
        "options": _options(request),
        "speakers": [
            (speaker, _choice(target), _turns(preview, speaker))
            for speaker, target in preview.speakers.items()
        ],
        "choices": choices,
        "next_pseudonym": _next_pseudonym(participants),
        "uid": uuid.uuid4().hex[:8],  # ids for this card's labels, unique on the page
    }
    status = 200 if not preview.errors or columns else 400
    return render(request, "frontend/imports/_file_review.html", context, status=status)


def _choice(target: SpeakerTarget) -> str:
    """The value of the mapping select that stands for `target`."""
    if target.participant is not None:
        return f"participant:{target.participant.pk}"
    if target.interviewer is not None:
        return f"interviewer:{target.interviewer.username}"
    return ""


def _member_label(user: User) -> str:
    shown = str(user)
    return shown if shown == user.username else f"{shown} ({user.username})"


def _next_pseudonym(participants: list[Participant]) -> str:
    """A free pseudonym in the P01, P02... series, to suggest for a new participant."""
    taken = {p.pseudonym.upper() for p in participants}
    number = 1
    while f"P{number:02d}" in taken:
        number += 1
    return f"P{number:02d}"


def _turns(preview: FilePreview, speaker: str) -> int:
    return sum(1 for doc in preview.documents for turn in doc.turns if turn.speaker == speaker)


urlpatterns = [
    path("p/<slug:slug>/import/", import_page, name="import"),
    path("p/<slug:slug>/import/review/", import_review, name="import-review"),
]
