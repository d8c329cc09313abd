"""The suggestions page (issue 6): the review queue and how good the assistant is.

The queue itself is driven by suggestions.js from the suggestions API (one focused card, keys to
decide); the server renders what needs no script: the codebook the cards refer to (as a JSON data
block, never executed), the filters, the counts, the latest model and the acceptance figures in
plain words. Reading needs READ; the page shows deciding and training to CODE, as the API
requires.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.timesince import timesince
from django.views.decorators.http import require_safe

from coding.models import Code, Suggester, Suggestion
from coding.suggest.services import trusted
from frontend.views import AuthedRequest
from observations.models import Document
from research.models import Project
from research.permissions import access_project
from research.roles import Capability

# Below this many decisions an acceptance rate says little; the words say so.
FEW_DECISIONS = 5
TRUST_AT = 0.8  # accepted at least this share: "trust it"
REVIEW_BELOW = 0.5  # accepted less than this share: "review"


@dataclass(frozen=True)
class Acceptance:
    """How often coders accepted one source of suggestions, with a verdict in plain words."""

    label: str  # the code's path
    source: str  # "pattern “refund”", "model", "similar passages"
    color: str
    decided: int
    accepted: int

    @property
    def percent(self) -> int:
        return round(100 * self.accepted / self.decided) if self.decided else 0

    @property
    def verdict(self) -> str:
        """'trust it', 'check each one', 'review', or 'too few decisions to tell'."""
        if self.decided < FEW_DECISIONS:
            return "too few decisions to tell"
        rate = self.accepted / self.decided
        if rate >= TRUST_AT:
            return "trust it"
        if rate < REVIEW_BELOW:
            return "review"
        return "check each one"

    @property
    def words(self) -> str:
        if not self.decided:
            return "no decisions yet"
        return f"coders accepted {self.accepted} of {self.decided} ({self.percent}%)"


def _codebook(project: Project) -> dict[int, dict[str, Any]]:
    """Every code with its path ("Theme › Code"), colour and pattern texts. One query."""
    from coding.suggest.patterns import describe  # imports spaCy: not at URL loading time

    rows: dict[int, dict[str, Any]] = {
        r["id"]: dict(r)
        for r in Code.objects.filter(project=project).values(
            "id", "name", "parent_id", "color", "is_archived", "patterns", "position"
        )
    }
    out: dict[int, dict[str, Any]] = {}
    for pk, row in rows.items():
        names: list[str] = []
        at: dict[str, Any] | None = row
        for _ in range(50):  # the tree has no cycles; bound the walk anyway
            if at is None:
                break
            names.insert(0, at["name"])
            at = rows.get(at["parent_id"]) if at["parent_id"] else None
        patterns = row["patterns"] if isinstance(row["patterns"], list) else []
        out[pk] = {
            "id": pk,
            "name": row["name"],
            "path": " › ".join(names),
            "color": row["color"],
            "archived": row["is_archived"],
            "patterns": [describe(p) for p in patterns],
        }
    return out


SOURCES = {"model": "the model", "similar": "similar passages", "pattern": "pattern rules"}


def acceptance(
    project: Project, codes: dict[int, dict[str, Any]]
) -> tuple[list[Acceptance], list[Acceptance]]:
    """(per code and method, per pattern rule) acceptance of decided suggestions, from the same
    figures as the API's `suggestions/stats/`. Sources nobody decided on yet are left out; sorted
    by decisions, most first."""
    from coding.suggest import selectors  # imports spaCy: not at URL loading time

    stats = selectors.suggestion_stats(project=project)
    fallback = {"path": "(deleted code)", "color": "#888888"}

    def row(entry: dict[str, Any], source: str) -> Acceptance:
        code = codes.get(entry["code"], fallback)
        return Acceptance(
            label=code["path"],
            source=source,
            color=code["color"],
            decided=entry["decided"],
            accepted=entry["accepted"],
        )

    per_code = [
        row(e, SOURCES.get(e["method"], e["method"])) for e in stats["codes"] if e["decided"]
    ]
    per_pattern = [
        row(e, e["pattern_text"] if e["pattern_text"] is not None else "(a removed rule)")
        for e in stats["patterns"]
        if e["decided"]
    ]
    key = lambda a: (-a.decided, a.label.lower(), a.source)  # noqa: E731
    return sorted(per_code, key=key), sorted(per_pattern, key=key)


def _model(project: Project, codes: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The latest ready model with its per-code cross-validated figures, and a training one."""
    latest = (
        Suggester.objects.filter(project=project, status=Suggester.Status.READY)
        .defer("artefact")
        .order_by("-version")
        .first()
    )
    training = (
        Suggester.objects.filter(project=project, status=Suggester.Status.TRAINING)
        .defer("artefact")
        .order_by("-version")
        .first()
    )
    metrics: list[dict[str, Any]] = []
    if latest is not None:
        for key, figures in (latest.metrics or {}).items():
            if not str(key).isdigit() or not isinstance(figures, dict):
                continue  # "overall", "skipped"
            code = codes.get(int(key))
            if code is None:
                continue
            metrics.append(
                {
                    "code": code,
                    "precision": figures.get("precision"),
                    "recall": figures.get("recall"),
                    "f1": figures.get("f1"),
                    "support": figures.get("support"),
                    "trusted": trusted(figures),
                }
            )
        metrics.sort(key=lambda m: m["code"]["path"].lower())
    overall = (latest.metrics or {}).get("overall") if latest else None
    trained_ago = ""
    if latest is not None:
        age = timesince(latest.finished_at or latest.created_at)
        trained_ago = "just now" if age.startswith("0\xa0") else f"{age} ago"
    return {
        "latest": latest,
        "trained_ago": trained_ago,
        "metrics": metrics,
        "overall": overall if isinstance(overall, dict) else None,
        "min_precision": round(100 * settings.VERBATIM_SUGGEST_MIN_PRECISION),
        "training": training,
        "training_job": str(training.job_id) if training and training.job_id else "",
    }


@login_required
@require_safe
def suggestions_page(request: AuthedRequest, slug: str) -> HttpResponse:
    access = access_project(request.user, slug)
    project = access.project
    codes = _codebook(project)
    counts = Suggestion.objects.filter(project=project).aggregate(
        pending=Count("id", filter=Q(status=Suggestion.Status.PENDING)),
        accepted=Count("id", filter=Q(status=Suggestion.Status.ACCEPTED)),
        rejected=Count("id", filter=Q(status=Suggestion.Status.REJECTED)),
    )
    documents = (
        Document.objects.filter(project=project, suggestions__isnull=False)
        .distinct()
        .order_by("title", "id")
        .values("id", "title")
    )
    per_code, per_pattern = acceptance(project, codes)
    context = {
        "project": project,
        "codes_json": list(codes.values()),
        "code_options": sorted(
            (c for c in codes.values() if not c["archived"]), key=lambda c: c["path"].lower()
        ),
        "documents": list(documents),
        "counts": counts,
        "per_code": per_code,
        "per_pattern": per_pattern,
        "model": _model(project, codes),
        "can_decide": access.can(Capability.CODE),
        # The API lets coders start a training from the queue (suggesters/ POST needs CODE).
        "can_train": access.can(Capability.CODE),
        "methods": Suggestion.Method.choices,
    }
    return render(request, "frontend/suggestions/queue.html", context)


urlpatterns = [
    path("p/<slug:slug>/suggestions/", suggestions_page, name="suggestions"),
]
