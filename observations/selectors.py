"""Reads of sessions, notes and documents. Query counts do not grow with rows."""

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q, QuerySet

from observations import search
from observations.models import Document, FieldNote, ObservationSession, SpeakerTurn
from research.models import Project
from research.permissions import access_object


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


# --- Search and the document reader ---------------------------------------------------------

SEARCH_LIMIT = 200


@dataclass(frozen=True)
class SearchHit:
    """One occurrence of the query's words: `[start, end)` in the document, with its context."""

    document_id: int
    document_title: str
    kind: str
    start: int
    end: int
    context_before: str
    match: str
    context_after: str
    speaker: str

    @property
    def kind_label(self) -> str:
        return (
            str(Document.Kind(self.kind).label) if self.kind in Document.Kind.values else self.kind
        )


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    truncated: bool  # more hits exist than `limit`


def _has_lexemes(raw: str) -> bool:
    """Whether PostgreSQL's english configuration keeps any word of `raw` (stop words such as
    "not" or "how" alone make an empty full-text query, which would match nothing)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT numnode(websearch_to_tsquery('english', %s))", [raw])
        row = cursor.fetchone()
    return bool(row and row[0])


def _search_candidates(
    project: Project, raw: str, query: search.Query
) -> tuple[QuerySet[Document], bool]:
    """The project's documents that may match, and whether `search.matches` must still decide."""
    documents = project.documents.only(
        "id", "project", "session", "title", "kind", "text"
    ).order_by("title", "id")
    if connection.vendor == "postgresql" and _has_lexemes(raw):
        # Same expression as the GIN index of migration 0004, so the index serves this filter.
        matching = documents.alias(search=SearchVector("text", config="english")).filter(
            search=SearchQuery(raw, search_type="websearch", config="english")
        )
        return matching, False
    # SQLite, or a query of stop words only: a prefilter by stems, then `search.matches` decides.
    # SQLite's LIKE folds ASCII case only, so clauses with non-ASCII words are left to Python.
    for clause in query.clauses:
        wanted = [term for term in clause if not term.negated]
        if not wanted or any(not term_word.isascii() for t in wanted for term_word in t.words):
            continue
        either = Q()
        for term in wanted:
            both = Q()
            for word_stem in term.stems():
                both &= Q(text__icontains=word_stem)
            either |= both
        documents = documents.filter(either)
    return documents, True


Container = tuple[str, int, int]  # speaker label, start, end of the turn or note holding a hit


def _containers(found: list[tuple[Document, int, int]]) -> dict[tuple[int, int], Container]:
    """The turn (or field note) holding each hit, keyed by `(document_id, start)`: at most one
    query for turns and one for notes, whatever the number of hits."""
    out: dict[tuple[int, int], Container] = {}
    turns_where, notes_where = Q(), Q()
    for document, start, _ in found:
        turns_where |= Q(document_id=document.pk, start__lte=start, end__gt=start)
        if document.kind == Document.Kind.FIELD_NOTES and document.session_id is not None:
            notes_where |= Q(
                session_id=document.session_id, document_start__lte=start, document_end__gt=start
            )
    if found:
        turns = SpeakerTurn.objects.filter(turns_where).select_related("participant", "interviewer")
        for turn in turns:
            for document, start, _ in found:
                if document.pk == turn.document_id and turn.start <= start < turn.end:
                    out[(document.pk, start)] = (turn_speaker(turn), turn.start, turn.end)
    if notes_where:
        notes = FieldNote.objects.filter(notes_where).select_related("participant")
        for note in notes:
            lo, hi = note.document_start or 0, note.document_end or 0
            for document, start, _ in found:
                if document.session_id == note.session_id and lo <= start < hi:
                    label = note.participant.pseudonym if note.participant else ""
                    out.setdefault((document.pk, start), (label, lo, hi))
    return out


def turn_speaker(turn: SpeakerTurn) -> str:
    """How a turn's speaker is shown: the participant's pseudonym, else the name in the
    transcript; an interviewer is marked as such."""
    if turn.participant_id is not None and turn.participant is not None:
        return turn.participant.pseudonym
    if turn.interviewer_id is not None and turn.interviewer is not None:
        return f"{turn.speaker or turn.interviewer.get_username()} (interviewer)"
    return turn.speaker


def document_search(*, project: Project, q: str, limit: int = SEARCH_LIMIT) -> SearchResult:
    """Keyword-in-context hits of `q` in the project's documents (field notes included), in
    document-title order, at most `limit`. At most four queries, whatever the number of hits.

    Raises `ValidationError` on "q" when the query has no word to look for.
    """
    query = search.parse_query(q)
    if not query or len(q) > 500:
        raise ValidationError(
            {"q": "Type one or more words to search for (at most 500 characters)."}
        )
    found: list[tuple[Document, int, int]] = []
    truncated = False
    candidates, must_check = _search_candidates(project, q, query)
    for document in candidates:
        if must_check and not search.matches(document.text, query):
            continue
        for start, end in search.find_hits(document.text, query.positive_terms):
            if len(found) == limit:
                truncated = True
                break
            found.append((document, start, end))
        if truncated:
            break
    containers = _containers(found)
    hits = []
    for document, start, end in found:
        speaker, lo, hi = containers.get((document.pk, start), ("", 0, len(document.text)))
        before, after = search.context(document.text, start, end, lo=lo, hi=hi)
        hits.append(
            SearchHit(
                document_id=document.pk,
                document_title=document.title,
                kind=document.kind,
                start=start,
                end=end,
                context_before=before,
                match=document.text[start:end],
                context_after=after,
                speaker=speaker,
            )
        )
    return SearchResult(hits=hits, truncated=truncated)


@dataclass(frozen=True)
class Reader:
    """What the reader page shows of one document: the text with its turns and note ranges."""

    document: Document
    turns: list[SpeakerTurn]
    notes: list[FieldNote]


def document_reader(*, project: Project, pk: object) -> Reader:
    """The project's document `pk` with its speaker turns (one query, speakers joined) and, for
    field notes, the notes that have a range in it. Raises `Http404` outside the project."""
    document = access_object(project.documents.select_related("participant", "session"), pk)
    turns = list(document.turns.select_related("participant", "interviewer").order_by("index"))
    notes: list[FieldNote] = []
    if document.kind == Document.Kind.FIELD_NOTES and document.session_id is not None:
        notes = list(
            FieldNote.objects.filter(
                session_id=document.session_id,
                session__project=project,
                document_start__isnull=False,
                document_end__isnull=False,
            )
            .select_related("participant")
            .order_by("document_start", "id")
        )
    return Reader(document=document, turns=turns, notes=notes)
