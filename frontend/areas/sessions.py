"""Pages of the sessions area: plan and log observation sessions, quick capture of field notes,
and the project's journey stages.

Quick capture posts notes with `fetch` to the capture page itself and gets JSON back (201); the
same URL takes a plain form POST and redirects back, so the page works without JavaScript.
"""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from frontend.areas.session_forms import (
    JourneyStagesForm,
    NoteForm,
    SessionForm,
    participant_choices,
)
from frontend.forms import apply_service_errors
from frontend.views import AuthedRequest
from observations.models import Document, FieldNote, ObservationSession
from observations.selectors import note_list, session_list
from observations.services import (
    note_create,
    note_delete,
    note_update,
    session_create,
    session_update,
)
from observations.services.notes import KIND_LABELS, note_prefix
from research.permissions import ProjectAccess, access_object, access_project
from research.roles import Capability
from research.services import project_update

GET_POST = require_http_methods(["GET", "POST"])


def _access(request: AuthedRequest, slug: str) -> ProjectAccess:
    need = Capability.READ if request.method == "GET" else Capability.CAPTURE
    return access_project(request.user, slug, need=need)


@login_required
@GET_POST
def session_list_page(request: AuthedRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    project = access.project
    form = SessionForm(request.POST or None, project=project, initial=_new_session_initial(request))
    if request.method == "POST" and form.is_valid():
        try:
            session = session_create(project=project, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Planned “{session.title}”.")
            return redirect("frontend:session-detail", slug=project.slug, pk=session.pk)
    context = {
        "project": project,
        "sessions": list(session_list(project=project)),
        "form": form,
        "may_capture": access.can(Capability.CAPTURE),
        "now": timezone.now(),
    }
    status = 400 if form.errors else 200
    return render(request, "frontend/sessions/session_list.html", context, status=status)


def _new_session_initial(request: AuthedRequest) -> dict[str, Any]:
    now = timezone.localtime().replace(second=0, microsecond=0)
    return {"started_at": now, "observer": request.user.pk}


def _document_url(slug: str, document: Document | None) -> str:
    """The field-notes document's reader page, if that page exists (it lives in another area)."""
    if document is None:
        return ""
    try:
        return reverse("frontend:document-detail", kwargs={"slug": slug, "pk": document.pk})
    except NoReverseMatch:
        return ""


@login_required
@GET_POST
def session_detail(request: AuthedRequest, slug: str, pk: int) -> HttpResponse:
    access = _access(request, slug)
    project = access.project
    session = access_object(session_list(project=project), pk)
    form = SessionForm(
        request.POST or None, project=project, initial=SessionForm.initial_for(session)
    )
    if request.method == "POST" and form.is_valid():
        try:
            session_update(session=session, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Saved the session.")
            return redirect("frontend:session-detail", slug=project.slug, pk=session.pk)
    document = session.documents.filter(kind=Document.Kind.FIELD_NOTES).only("id").first()
    may_capture = access.can(Capability.CAPTURE)
    context = {
        "project": project,
        "session": session,
        "notes": _note_rows(session),
        "form": form,
        "may_capture": may_capture,
        "kinds": list(KIND_LABELS.items()),
        "participant_choices": participant_choices(session) if may_capture else [],
        "document": document,
        "document_url": _document_url(project.slug, document),
    }
    return render(
        request,
        "frontend/sessions/session_detail.html",
        context,
        status=400 if form.errors else 200,
    )


def _note_rows(session: ObservationSession) -> list[dict[str, Any]]:
    return [_note_payload(note) for note in note_list(session=session)]


def _note_payload(note: FieldNote) -> dict[str, Any]:
    return {
        "id": note.pk,
        "participant_id": note.participant_id,
        "observed_at": note.observed_at.isoformat(),
        "time": _clock(note.observed_at),
        "kind": note.kind,
        "kind_label": KIND_LABELS.get(note.kind, note.get_kind_display()),
        "participant": note.participant.pseudonym if note.participant else "",
        "author": note.author.username if note.author else "",
        "text": note.text,
        "prefix": note_prefix(note),
    }


def _wants_json(request: AuthedRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@GET_POST
def session_capture(request: AuthedRequest, slug: str, session_pk: int) -> HttpResponse:
    access = _access(request, slug)
    project = access.project
    session = access_object(project.sessions.prefetch_related("participants"), session_pk)
    form = NoteForm(request.POST or None, session=session, initial=_new_note_initial())
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            note = note_create(session=session, author=request.user, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if _wants_json(request):
                return JsonResponse(_note_payload(note), status=201)
            messages.success(request, "Saved the note.")
            return redirect("frontend:session-capture", slug=project.slug, session_pk=session.pk)
    if request.method == "POST" and _wants_json(request):
        errors = [
            {"field": field, "message": message}
            for field, messages_ in form.errors.items()
            for message in messages_
        ]
        return JsonResponse({"detail": "The note was not saved.", "errors": errors}, status=400)
    context = {
        "project": project,
        "session": session,
        "notes": _note_rows(session),
        "form": form,
        "kinds": list(KIND_LABELS.items()),
        "may_capture": access.can(Capability.CAPTURE),
    }
    return render(
        request, "frontend/sessions/capture.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def session_note(request: AuthedRequest, slug: str, session_pk: int, note_pk: int) -> HttpResponse:
    """Correct or delete one note from the session page; the field-notes document follows."""
    access = access_project(request.user, slug, need=Capability.CAPTURE)
    session = access_object(access.project.sessions.prefetch_related("participants"), session_pk)
    note = access_object(note_list(session=session), note_pk)
    back = redirect("frontend:session-detail", slug=access.project.slug, pk=session.pk)
    if request.POST.get("action") == "delete":
        note_delete(note=note, user=request.user)
        messages.success(request, "Deleted the note. Excerpts on its words are flagged for review.")
        return back
    day = timezone.localtime(note.observed_at).date()
    form = NoteForm(request.POST, session=session, day=day)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "client_id"}
        if _clock(data["observed_at"]) == _clock(note.observed_at):
            del data["observed_at"]  # the minute is unchanged: keep the seconds it was taken at
        try:
            note_update(note=note, user=request.user, **data)
        except ValidationError as exc:
            messages.error(request, "The note was not changed: " + " ".join(exc.messages))
        else:
            messages.success(request, "Saved the note.")
        return back
    problems = " ".join(str(m) for errors in form.errors.values() for m in errors)
    messages.error(request, f"The note was not changed: {problems}")
    return back


def _clock(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def _new_note_initial() -> dict[str, Any]:
    return {"observed_at": timezone.localtime().strftime("%H:%M")}


@login_required
@GET_POST
def journey_stages(request: AuthedRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    project = access.project
    initial = {"stages": "\n".join(project.journey_stages or [])}
    form = JourneyStagesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            project_update(project=project, journey_stages=form.cleaned_data["stages"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Saved the journey stages.")
            return redirect("frontend:journey-stages", slug=project.slug)
    context = {
        "project": project,
        "form": form,
        "stages": project.journey_stages or [],
        "may_capture": access.can(Capability.CAPTURE),
    }
    return render(
        request,
        "frontend/sessions/journey_stages.html",
        context,
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("p/<slug:slug>/sessions/", session_list_page, name="session-list"),
    path("p/<slug:slug>/sessions/<int:pk>/", session_detail, name="session-detail"),
    # `session_pk`, not `pk`: the capture page is about a session but is not its detail view.
    path(
        "p/<slug:slug>/sessions/<int:session_pk>/capture/",
        session_capture,
        name="session-capture",
    ),
    path(
        "p/<slug:slug>/sessions/<int:session_pk>/notes/<int:note_pk>/",
        session_note,
        name="session-note",
    ),
    path("p/<slug:slug>/settings/journey-stages/", journey_stages, name="journey-stages"),
]
