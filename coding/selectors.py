"""Reads of the codebook, excerpts and memos. Query counts do not grow with rows."""

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from coding.models import Code, Excerpt, Memo
from research.models import Project


def code_list(*, project: Project) -> QuerySet[Code]:
    """The project's codebook, each code with `excerpt_count` (its own excerpts only)."""
    return project.codes.annotate(excerpt_count=Count("excerpts")).order_by(
        "position", "name", "id"
    )


def excerpt_list(*, project: Project) -> QuerySet[Excerpt]:
    """The project's excerpts in document order, with code and coder loaded."""
    return project.excerpts.select_related("code", "coder").order_by(
        "document_id", "start", "end", "id"
    )


def memo_list(*, project: Project) -> QuerySet[Memo]:
    """The project's memos, most recently changed first."""
    return project.memos.select_related("author").order_by("-updated_at", "id")


def _count(queryset: QuerySet[Any]) -> Any:
    return Coalesce(
        Subquery(
            queryset.order_by().values("project").annotate(n=Count("pk")).values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def project_overview(*, project: Project) -> dict[str, int]:
    """Counts of participants, sessions, documents, codes and excerpts, in one query."""
    from observations.models import Document, ObservationSession
    from research.models import Participant

    counts = (
        Project.objects.filter(pk=project.pk)
        .annotate(
            n_participants=_count(Participant.objects.filter(project=OuterRef("pk"))),
            n_sessions=_count(ObservationSession.objects.filter(project=OuterRef("pk"))),
            n_documents=_count(Document.objects.filter(project=OuterRef("pk"))),
            n_codes=_count(Code.objects.filter(project=OuterRef("pk"))),
            n_excerpts=_count(Excerpt.objects.filter(project=OuterRef("pk"))),
        )
        .values("n_participants", "n_sessions", "n_documents", "n_codes", "n_excerpts")
        .get()
    )
    return {key.removeprefix("n_"): int(value) for key, value in counts.items()}
