"""Reads for PII review: candidates with the words around them, the key table, the preview of
an apply. Owner-only data: callers check `Capability.MANAGE_PROJECT` first.

The detected value and its context are cut from the document text by the database (`Substr`), so
a list never loads whole documents, and they are shown only while the candidate belongs to the
document's current text: an applied candidate points into an old version and shows nothing.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Greatest, Substr

from observations.models import PiiCandidate, PiiKeyEntry, PiiKnownName
from research.models import Project

CONTEXT_CHARS = 60

_CURRENT = Q(text_version=F("document__text_version")) & ~Q(status=PiiCandidate.Status.APPLIED)


def _cut(start: Any, length: Any) -> Case:
    # Substr is 1-based; only current candidates get text.
    return Case(
        When(_CURRENT, then=Substr("document__text", start, length)),
        default=Value(""),
        output_field=CharField(),
    )


def pii_candidate_list(
    *,
    project: Project,
    document: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    current_only: bool = False,
) -> QuerySet[PiiCandidate]:
    """The project's candidates in document and text order, annotated with `is_current`,
    `value`, `before` and `after` (up to CONTEXT_CHARS characters each side)."""
    context_start = Greatest(F("start") - CONTEXT_CHARS, Value(0))
    queryset = (
        PiiCandidate.objects.filter(document__project=project)
        .select_related("key", "decided_by")
        .annotate(
            document_title=F("document__title"),
            is_current=ExpressionWrapper(_CURRENT, output_field=BooleanField()),
            value=_cut(F("start") + 1, F("end") - F("start")),
            before=_cut(context_start + 1, F("start") - context_start),
            after=_cut(F("end") + 1, Value(CONTEXT_CHARS)),
        )
        .order_by("document__title", "document_id", "start", "id")
    )
    if document is not None:
        queryset = queryset.filter(document_id=document)
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if current_only:
        queryset = queryset.filter(_CURRENT | Q(status=PiiCandidate.Status.APPLIED))
    return queryset


def pii_known_name_list(*, project: Project) -> QuerySet[PiiKnownName]:
    """The owner's list of real names, alphabetical."""
    return project.pii_known_names.order_by("name", "id")


def pii_key_list(*, project: Project) -> QuerySet[PiiKeyEntry]:
    """The key table: real value to pseudonym, by kind."""
    return project.pii_keys.order_by("kind", "created_at", "id")


@dataclass(frozen=True)
class ApplyPreview:
    """What applying the accepted candidates would change."""

    per_kind: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    stale: int = 0

    @property
    def total(self) -> int:
        return sum(self.per_kind.values())


def pii_apply_preview(*, project: Project) -> ApplyPreview:
    """Counts per kind and documents affected by the accepted candidates of current texts;
    `stale` counts accepted ones whose document changed since (they will be skipped)."""
    rows = PiiCandidate.objects.filter(
        document__project=project, status=PiiCandidate.Status.ACCEPTED
    ).values_list("kind", "document_id", "text_version", "document__text_version")
    per_kind: Counter[str] = Counter()
    documents: set[int] = set()
    stale = 0
    for kind, document_id, version, current in rows:
        if version != current:
            stale += 1
            continue
        per_kind[kind] += 1
        documents.add(document_id)
    return ApplyPreview(per_kind=dict(per_kind), documents=len(documents), stale=stale)


def pii_status_counts(*, project: Project) -> dict[str, int]:
    """How many candidates of the current texts are pending, accepted and rejected, and how
    many values were replaced so far (`applied`)."""
    counts = dict.fromkeys(PiiCandidate.Status.values, 0)
    rows = (
        PiiCandidate.objects.filter(document__project=project)
        .filter(_CURRENT | Q(status=PiiCandidate.Status.APPLIED))
        .values_list("status")
        .annotate(n=Count("id"))
    )
    for status, n in rows:
        counts[status] = n
    return counts


def pii_pending_by_kind(*, project: Project) -> dict[str, int]:
    """Pending candidates of the current texts per kind (for the "accept all" shortcuts)."""
    rows = (
        PiiCandidate.objects.filter(document__project=project, status=PiiCandidate.Status.PENDING)
        .filter(text_version=F("document__text_version"))
        .values_list("kind")
        .annotate(n=Count("id"))
    )
    return dict(rows)
