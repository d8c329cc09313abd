"""Privacy pages (owners): the retention period, the audit log, and erasing a participant.

Erasure asks first: the confirmation page lists what will go, from the same plan the service
follows (coding.privacy.erasure), and the owner types the pseudonym to confirm.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from coding.privacy.erasure import erasure_plan, participant_erase
from frontend.forms import apply_service_errors
from frontend.views import AuthedRequest
from research import services
from research.audit import OBJECT_PROJECT, audit_event_list, audit_record
from research.models import AuditEvent
from research.permissions import access_object, access_project
from research.roles import Capability

LOG_LIMIT = 200
PLAN_LABELS = {
    "documents": "documents where they are the participant, with their excerpts and memos",
    "shared_turns": "turns they speak in other documents (masked as “[erased]”)",
    "excerpts": "excerpts on their documents",
    "memos": "memos on their documents and excerpts",
    "suggestions": "suggestions on their documents",
    "field_notes": "field notes about or naming them",
    "pii_key_entries": "PII key entries",
    "pii_known_names": "known real names",
    "segment_overrides": "segments set by hand for them",
}


class RetentionForm(forms.Form):
    retention_days = forms.IntegerField(
        label="Delete raw material after (days)",
        required=False,
        min_value=1,
        max_value=36500,
        help_text="Counted from when a document or note entered Verbatim. Empty: keep.",
    )


class EraseForm(forms.Form):
    pseudonym = forms.CharField(label="Type the pseudonym to confirm", max_length=64)


@login_required
@require_http_methods(["GET", "POST"])
def privacy_page(request: AuthedRequest, slug: str) -> HttpResponseBase:
    access = access_project(request.user, slug, need=Capability.MANAGE_PROJECT)
    project = access.project
    form = RetentionForm(request.POST or None, initial={"retention_days": project.retention_days})
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(
                project=project, retention_days=form.cleaned_data["retention_days"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            audit_record(
                action=AuditEvent.Action.RETENTION_CHANGE,
                project=project,
                user=request.user,
                object_type=OBJECT_PROJECT,
                object_id=project.pk,
                request=request,
                detail={"retention_days": project.retention_days or 0},
            )
            messages.success(request, "Retention period saved.")
            return redirect(reverse("frontend:privacy", kwargs={"slug": slug}))
    context = {
        "project": project,
        "form": form,
        "participants": list(project.participants.order_by("pseudonym")),
        "events": list(audit_event_list(project=project)[:LOG_LIMIT]),
        "log_limit": LOG_LIMIT,
    }
    return render(
        request, "frontend/privacy/privacy.html", context, status=400 if form.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def participant_erase_page(request: AuthedRequest, slug: str, pk: int) -> HttpResponse:
    access = access_project(request.user, slug, need=Capability.MANAGE_PROJECT)
    participant = access_object(access.project.participants.all(), pk)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["pseudonym"].strip() != participant.pseudonym:
            form.add_error("pseudonym", "Does not match the pseudonym: nothing was erased.")
        else:
            participant_erase(participant=participant, user=request.user, request=request)
            messages.success(request, "The participant was erased everywhere.")
            return redirect(reverse("frontend:privacy", kwargs={"slug": slug}))
    plan = erasure_plan(participant)
    counts = plan.counts()
    context = {
        "project": access.project,
        "participant": participant,
        "form": form,
        "rows": [(PLAN_LABELS[key], counts[key]) for key in PLAN_LABELS],
        "documents": plan.documents,
    }
    return render(
        request, "frontend/privacy/erase.html", context, status=400 if form.errors else 200
    )


urlpatterns = [
    path("p/<slug:slug>/privacy/", privacy_page, name="privacy"),
    path(
        "p/<slug:slug>/participants/<int:pk>/erase/",
        participant_erase_page,
        name="participant-erase",
    ),
]
