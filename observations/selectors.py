"""Reads of sessions, notes and documents. Query counts do not grow with rows."""

from django.db.models import Count, QuerySet

from observations.models import Document, FieldNote, ObservationSession
from research.models import Project


def session_list(*, project: Project) -> QuerySet[ObservationSession]:
    """The project's sessions, newest first, with observer, participants and note counts."""
    return (
        project.sessions.select_related("observer")
        .prefetch_related("participants")
        .annotate(note_count=Count("notes", distinct=True))
        .order_by("-started_at", "id")
    )


def note_list(*, session: ObservationSession) -> QuerySet[FieldNote]:
    """A session's field notes in the order they were observed."""
    return session.notes.select_related("participant", "author").order_by("observed_at", "id")


def document_list(*, project: Project) -> QuerySet[Document]:
    """The project's documents without their text, each with `turn_count`."""
    return (
        project.documents.defer("text")
        .select_related("participant")
        .annotate(turn_count=Count("turns"))
        .order_by("title", "id")
    )


def document_detail_list(*, project: Project) -> QuerySet[Document]:
    """Documents with text and speaker turns loaded, for detail views."""
    return (
        project.documents.select_related("participant")
        .prefetch_related("turns__participant", "turns__interviewer")
        .annotate(turn_count=Count("turns"))
    )
