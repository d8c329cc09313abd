"""The inter-coder agreement page (issue 7): pick coders and unit, read agreement per code, then
reconcile each disputed passage side by side. Plain forms (GET to compare, POST to reconcile):
it works without JavaScript. The figures come from `coding.agreement.selectors`, the same as the
API's; reconciling goes through `coding.agreement.services`.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods
from rest_framework import serializers

from coding.agreement import selectors
from coding.agreement.api import parse_coders, parse_keep, parse_query
from coding.agreement.selectors import decision_list
from coding.agreement.services import StaleReconcile, agreement_reconcile
from coding.analysis import SOURCES
from frontend.views import AuthedRequest
from observations.models import Document
from research.models import Project
from research.permissions import access_object, access_project
from research.roles import Capability

UNIT_WORDS = {
    "character": "every character of the compared documents counts once per code",
    "sentence": "every sentence of the compared documents counts once per code; a coder marks "
    "a sentence when one of their excerpts overlaps it by at least one character",
}


def kappa_reading(value: float | None) -> str:
    """Landis & Koch's words for a kappa."""
    if value is None:
        return "undefined"
    for bound, word in ((0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate")):
        if value <= bound:
            return word
    return "substantial" if value <= 0.8 else "almost perfect"


def alpha_reading(value: float | None) -> str:
    """Krippendorff's thresholds: 0.8 reliable, 0.667 tentative conclusions only."""
    if value is None:
        return "undefined"
    if value >= 0.8:
        return "reliable"
    return "tentative only" if value >= 0.667 else "unreliable"


def _highlight(text: str, start: int, excerpts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The passage's text in pieces, each marked if one of the coder's excerpts covers it."""
    marks = [False] * len(text)
    for e in excerpts:
        for i in range(max(e["start"] - start, 0), min(e["end"] - start, len(text))):
            marks[i] = True
    pieces: list[dict[str, Any]] = []
    for char, mark in zip(text, marks, strict=True):
        if pieces and pieces[-1]["marked"] == mark:
            pieces[-1]["text"] += char
        else:
            pieces.append({"text": char, "marked": mark})
    return pieces


def _report(project: Project, params: QueryDict) -> tuple[dict[str, Any] | None, list[str]]:
    if not params.getlist("coder") and not params.get("coders"):
        return None, []
    query = params.copy()
    query["coders"] = ",".join(params.getlist("coder")) or params.get("coders", "")
    try:
        report = selectors.agreement_report(project=project, query=parse_query(project, query))
    except serializers.ValidationError as exc:
        detail: Any = exc.detail
        return None, [f"{k}: {' '.join(map(str, v))}" for k, v in detail.items()]
    except Http404:
        return None, ["A chosen document or segmentation is not in this project."]
    for row in [*report["codes"], report["overall"]]:
        row["kappa_reading"] = kappa_reading(row["cohen_kappa"])
        row["alpha_reading"] = alpha_reading(row["krippendorff_alpha"])
    for passage in report["disagreements"]:
        for coder in passage["coders"]:
            coder["pieces"] = _highlight(passage["text"], passage["start"], coder["excerpts"])
    return report, []


@login_required
@require_http_methods(["GET", "POST"])
def agreement_page(request: AuthedRequest, slug: str) -> HttpResponse:
    need = Capability.EDIT_OTHERS_WORK if request.method == "POST" else Capability.READ
    access = access_project(request.user, slug, need=need)
    project = access.project
    if request.method == "POST":
        return _reconcile(request, project)
    report, errors = _report(project, request.GET)
    chosen = request.GET.getlist("coder") or [
        c for c in request.GET.get("coders", "").split(",") if c
    ]
    return render(
        request,
        "frontend/agreement/page.html",
        {
            "project": project,
            "coders": selectors.coders_list(project),
            "chosen": chosen,
            "unit": request.GET.get("unit") or "character",
            "unit_words": UNIT_WORDS,
            "documents": project.documents.order_by("title", "id").values("id", "title"),
            "segmentations": project.segmentations.order_by("name", "-version"),
            "sources": SOURCES,
            "params": request.GET,
            "report": report,
            "errors": errors,
            "query_string": request.GET.urlencode(),
            "can_reconcile": access.can(Capability.EDIT_OTHERS_WORK),
            "decisions": decision_list(project=project, limit=20),
        },
    )


def _reason(exc: Exception) -> str:
    """A refusal in words, without the dict and list syntax the validation errors carry."""
    detail: Any = getattr(exc, "detail", None) or getattr(exc, "message_dict", None)
    if isinstance(detail, dict):
        parts: list[str] = []
        for messages_ in detail.values():
            items = messages_ if isinstance(messages_, list) else [messages_]
            parts.extend(str(item) for item in items)
        return " ".join(parts)
    if isinstance(exc, ValueError) and not isinstance(exc, ValidationError):
        return "the passage's start and end must be whole numbers."
    return " ".join(getattr(exc, "messages", [str(exc)]))


def _reconcile(request: AuthedRequest, project: Project) -> HttpResponse:
    post = request.POST
    back = reverse("frontend:agreement", kwargs={"slug": project.slug})
    back += "?" + post.get("query", "") if post.get("query") else ""
    try:
        code = access_object(project.codes.all(), post.get("code"))
        document: Document = access_object(project.documents.all(), post.get("document"))
        action = post.get("action", "")
        coders = parse_coders(project, post.get("coders", "")) if post.get("coders") else None
        # "Keep X's" names the coder (X may have no excerpt there); an excerpt id still works.
        raw_excerpt = post.get("excerpt")
        choice: dict[str, Any] = {"action": action, "coder": post.get("coder", "")}
        choice["excerpt"] = int(raw_excerpt) if raw_excerpt else None
        keep, keep_coder = parse_keep(project, choice, coders)
        agreement_reconcile(
            user=request.user,
            document=document,
            code=code,
            start=int(post.get("start", "")),
            end=int(post.get("end", "")),
            action=action,
            version=post.get("version") or None,
            keep=keep,
            keep_coder=keep_coder,
            coders=coders,
        )
    except StaleReconcile:
        messages.error(request, "That passage changed since it was shown; here it is as it is now.")
    except Http404:
        messages.error(request, "That passage, code or excerpt is not in this project.")
    except (ValidationError, serializers.ValidationError, ValueError) as exc:
        messages.error(request, f"Could not reconcile: {_reason(exc)}")
    else:
        messages.success(request, f"Reconciled a passage of {code.name!r} in {document.title!r}.")
    return redirect(back)


urlpatterns = [
    path("p/<slug:slug>/agreement/", agreement_page, name="agreement"),
]
