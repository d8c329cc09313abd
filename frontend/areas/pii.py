"""Pages of the PII area: review detected personal data, keep the known-names list, and apply
replacements. Owners only (MANAGE_PROJECT), reads included: the page shows real values.

Decisions are plain POST forms that redirect back to the review page; when htmx sends them the
view answers with the candidate's row (and the counts, out of band) so the page updates in place.
Applying runs the same background job as the API and shows its summary.
"""

from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from frontend.forms import apply_service_errors
from frontend.views import AuthedRequest
from observations import pii_selectors
from observations.models import PiiCandidate, PiiKind
from observations.services import pii as pii_services
from research.audit import OBJECT_PII_KEY, audit_record
from research.jobs import job_create, job_enqueue
from research.models import AuditEvent, Job
from research.permissions import ProjectAccess, access_object, access_project
from research.roles import Capability

# The most candidates one page shows; the rest wait for the next look (or a filter).
PAGE_LIMIT = 300
SOURCE_LABELS = {"ner": "name recogniser", "regex": "pattern", "known": "your list"}
KIND_PLURALS = {
    PiiKind.EMAIL: "e-mail addresses",
    PiiKind.PHONE: "phone numbers",
    PiiKind.CARD: "card numbers",
    PiiKind.PERSON: "person names",
    PiiKind.KNOWN_NAME: "listed names",
}
SINGULARS = {
    "e-mail addresses": "e-mail address",
    "phone numbers": "phone number",
    "card numbers": "card number",
    "person names": "person name",
    "listed names": "listed name",
}
SHOW_CHOICES = [
    ("pending", "To review"),
    ("accepted", "To replace"),
    ("rejected", "Kept as is"),
    ("", "All"),
]


class KnownNameForm(forms.Form):
    name = forms.CharField(
        label="Real name",
        max_length=200,
        help_text="Found wherever it appears, in any letter case.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    pseudonym = forms.CharField(
        label="Pseudonym",
        max_length=100,
        required=False,
        help_text="For example P07. Leave blank and Verbatim numbers them: [Person 1].",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


def _owner(request: AuthedRequest, slug: str) -> ProjectAccess:
    return access_project(request.user, slug, need=Capability.MANAGE_PROJECT)


def _review_url(slug: str, anchor: str = "") -> str:
    url = reverse("frontend:pii-review", kwargs={"slug": slug})
    return f"{url}#{anchor}" if anchor else url


def _counts_context(access: ProjectAccess) -> dict[str, Any]:
    project = access.project
    pending = pii_selectors.pii_pending_by_kind(project=project)
    shortcuts = []
    for kind in (PiiKind.KNOWN_NAME, PiiKind.EMAIL, PiiKind.PHONE, PiiKind.CARD):
        n = pending.get(kind, 0)
        if n:
            label = KIND_PLURALS[kind] if n > 1 else SINGULARS[KIND_PLURALS[kind]]
            shortcuts.append((kind, f"Replace {'all ' if n > 1 else ''}{n} {label}"))
    return {
        "project": project,
        "counts": pii_selectors.pii_status_counts(project=project),
        "shortcuts": shortcuts,
    }


def _candidate_context(candidate: PiiCandidate) -> dict[str, Any]:
    """The candidate with its context cut at word boundaries, for a row of the review page."""
    before: str = getattr(candidate, "before", "")
    after: str = getattr(candidate, "after", "")
    if candidate.start > len(before) and " " in before:
        before = "…" + before[before.index(" ") :]
    if len(after) >= pii_selectors.CONTEXT_CHARS and " " in after:
        after = after[: after.rindex(" ")] + " …"
    return {
        "c": candidate,
        "value": getattr(candidate, "value", ""),
        "before": before.replace("\n", " "),
        "after": after.replace("\n", " "),
        "source_label": SOURCE_LABELS.get(candidate.source, candidate.source),
        "kind_label": PiiKind(candidate.kind).label,
        "length": candidate.end - candidate.start,
    }


def _read_keys(request: AuthedRequest, access: ProjectAccess) -> list[Any]:
    """The key table for the page; showing it is a read of the PII key, so it is audited."""
    keys = list(pii_selectors.pii_key_list(project=access.project))
    audit_record(
        action=AuditEvent.Action.READ_PII_KEY,
        project=access.project,
        user=request.user,
        object_type=OBJECT_PII_KEY,
        request=request,
    )
    return keys


@login_required
@require_http_methods(["GET", "POST"])
def pii_review(request: AuthedRequest, slug: str) -> HttpResponse:
    access = _owner(request, slug)
    project = access.project
    form = KnownNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            known = pii_services.pii_known_name_create(project=project, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Added “{known.name}”. Every text was searched for it.")
            return redirect(_review_url(slug, "known-names"))
    show = request.GET.get("show", "pending")
    show = show if show in dict(SHOW_CHOICES) else "pending"
    kind = request.GET.get("kind", "")
    kind = kind if kind in PiiKind.values else ""
    candidates = pii_selectors.pii_candidate_list(
        project=project, status=show or None, kind=kind or None, current_only=True
    ).exclude(status=PiiCandidate.Status.APPLIED)
    rows = list(candidates[: PAGE_LIMIT + 1])
    groups = []
    for document_id, group in groupby(rows[:PAGE_LIMIT], key=lambda c: c.document_id):
        items = list(group)
        title = getattr(items[0], "document_title", "")
        groups.append((document_id, title, [_candidate_context(c) for c in items]))
    job = _job(access, request.GET.get("job"))
    context = {
        **_counts_context(access),
        "form": form,
        "known_names": list(pii_selectors.pii_known_name_list(project=project)),
        "keys": _read_keys(request, access),
        "groups": groups,
        "more": len(rows) > PAGE_LIMIT,
        "page_limit": PAGE_LIMIT,
        "show": show,
        "kind": kind,
        "show_choices": SHOW_CHOICES,
        "kind_choices": [(k, KIND_PLURALS[PiiKind(k)]) for k in PiiKind.values],
        "job": job,
        "job_summary": _job_summary(job),
        "preview": pii_selectors.pii_apply_preview(project=project),
    }
    status = 400 if form.errors else 200
    return render(request, "frontend/pii/review.html", context, status=status)


def _replaced_text(job: Job | None) -> str:
    """ "3 person names and 1 e-mail address" from an apply job's result."""
    replaced = (job.result or {}).get("replaced", {}) if job is not None else {}
    parts = []
    for kind, n in sorted(replaced.items()):
        label = KIND_PLURALS.get(PiiKind(kind), kind) if kind in PiiKind.values else kind
        parts.append(f"{n} {SINGULARS.get(label, label) if n == 1 else label}")
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _job_summary(job: Job | None) -> list[str]:
    """Sentences about what an apply job did, leaving out what did not happen."""
    if job is None or job.status != Job.Status.SUCCEEDED:
        return []
    result = job.result or {}
    documents = _plural(result.get("documents", 0), "document", "documents")
    lines = [f"Replaced {_replaced_text(job) or 'nothing'} in {documents}."]
    flagged, moved = result.get("excerpts_flagged", 0), result.get("excerpts_moved", 0)
    if flagged:
        lines.append(
            f"{_plural(flagged, 'coded excerpt covers', 'coded excerpts cover')} a replaced "
            "value and waits for its coder to review it."
        )
    if moved:
        lines.append(f"{_plural(moved, 'coded excerpt', 'coded excerpts')} moved with the words.")
    if result.get("speakers_renamed"):
        renamed = _plural(result["speakers_renamed"], "speaker turn", "speaker turns")
        lines.append(f"{renamed} now show the speaker's pseudonym.")
    if result.get("skipped"):
        skipped = _plural(result["skipped"], "decision was", "decisions were")
        lines.append(f"{skipped} skipped: the text changed after it was found.")
    return lines


def _job(access: ProjectAccess, job_id: str | None) -> Job | None:
    if not job_id:
        return None
    try:
        return access_object(Job.objects.filter(project=access.project, kind="pii_apply"), job_id)
    except (Http404, ValidationError):  # a stale or malformed id in the address: no summary
        return None


@login_required
@require_POST
def pii_candidate(request: AuthedRequest, slug: str, candidate_id: int) -> HttpResponseBase:
    access = _owner(request, slug)
    candidate = access_object(
        pii_selectors.pii_candidate_list(project=access.project), candidate_id
    )
    status = request.POST.get("status", "")
    error = ""
    try:
        pii_services.pii_decide(candidate=candidate, status=status, user=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        fresh = access_object(
            pii_selectors.pii_candidate_list(project=access.project), candidate_id
        )
        context = {**_candidate_context(fresh), **_counts_context(access), "error": error}
        return render(request, "frontend/pii/candidate_swap.html", context)
    if error:
        messages.error(request, error)
    return redirect(_review_url(slug, f"c-{candidate_id}"))


@login_required
@require_POST
def pii_accept_kind(request: AuthedRequest, slug: str) -> HttpResponseBase:
    access = _owner(request, slug)
    kind = request.POST.get("kind", "")
    try:
        changed = pii_services.pii_decide_kind(
            project=access.project, kind=kind, status="accepted", user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        label = KIND_PLURALS.get(PiiKind(kind), kind) if kind in PiiKind.values else kind
        messages.success(request, f"Marked {changed} {label} to be replaced.")
    return redirect(_review_url(slug))


@login_required
@require_POST
def pii_known_name(request: AuthedRequest, slug: str, known_name_id: int) -> HttpResponseBase:
    access = _owner(request, slug)
    known = access_object(pii_selectors.pii_known_name_list(project=access.project), known_name_id)
    if request.POST.get("action") == "remove":
        name = known.name
        pii_services.pii_known_name_delete(known_name=known)
        messages.success(request, f"Removed “{name}” from the list.")
    else:
        try:
            pii_services.pii_known_name_update(
                known_name=known, pseudonym=request.POST.get("pseudonym", "")
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Saved the pseudonym for “{known.name}”.")
    return redirect(_review_url(slug, "known-names"))


@login_required
@require_http_methods(["GET", "POST"])
def pii_apply(request: AuthedRequest, slug: str) -> HttpResponseBase:
    access = _owner(request, slug)
    project = access.project
    preview = pii_selectors.pii_apply_preview(project=project)
    if request.method == "POST":
        if not preview.total:
            messages.error(request, "Nothing is marked to be replaced yet.")
            return redirect(_review_url(slug))
        from observations.tasks import pii_apply as pii_apply_task

        with transaction.atomic():
            job = job_create(
                kind="pii_apply", project=project, user=request.user, params={"documents": None}
            )
            job_enqueue(job=job, task=pii_apply_task)
        return redirect(f"{_review_url(slug)}?job={job.pk}#applied")
    per_kind = [(KIND_PLURALS[PiiKind(kind)], n) for kind, n in sorted(preview.per_kind.items())]
    context = {"project": project, "preview": preview, "per_kind": per_kind}
    return render(request, "frontend/pii/apply.html", context)


urlpatterns = [
    path("p/<slug:slug>/pii/", pii_review, name="pii-review"),
    path("p/<slug:slug>/pii/apply/", pii_apply, name="pii-apply"),
    path("p/<slug:slug>/pii/accept/", pii_accept_kind, name="pii-accept-kind"),
    path(
        "p/<slug:slug>/pii/candidates/<int:candidate_id>/",
        pii_candidate,
        name="pii-candidate",
    ),
    path(
        "p/<slug:slug>/pii/known-names/<int:known_name_id>/",
        pii_known_name,
        name="pii-known-name",
    ),
]
