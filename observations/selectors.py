"""Reads of sessions, notes and documents. Query counts do not grow with rows."""

import operator
from dataclasses import dataclass
from functools import reduce

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet

from observations import search
from observations.models import Document, FieldNote, ObservationSession, Sentence, SpeakerTurn
from research.models import Job, Project
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


def _stop_terms(terms: list[search.Term]) -> set[search.Term]:
    """The terms PostgreSQL's english configuration reduces to nothing (stop words such as "not"
    or "how" alone): a full-text query of them would match no document. One query."""
    if not terms:
        return set()
    select = ", ".join(["numnode(plainto_tsquery('english', %s))"] * len(terms))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select}", [" ".join(term.words) for term in terms])
        row = cursor.fetchone() or ()
    return {term for term, nodes in zip(terms, row, strict=True) if not nodes}


def _full_text_ids(project: Project, tsquery: SearchQuery) -> list[int]:
    """Ids of the project's documents matching `tsquery`, through the GIN index of migration
    0004 (same expression: `SearchVector("text", config="english")`).

    The planner prices `to_tsvector` as cheap whatever the text's length, so left alone it scans
    the project's rows and tokenises every transcript on every search (seconds for a hundred
    interviews, against well under a millisecond through the index). Hence the project filter
    is written so no index serves it (`project_id + 0`) and sequential scans are off for this one
    statement: the GIN index is the only way left.
    """
    matching = (
        Document.objects.alias(
            search=SearchVector("text", config="english"), in_project=F("project_id") + 0
        )
        .filter(search=tsquery, in_project=project.pk)
        .values_list("id", flat=True)
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        try:
            return list(matching)
        finally:
            cursor.execute("RESET enable_seqscan")


def _search_candidates(project: Project, query: search.Query) -> QuerySet[Document]:
    """The project's documents that may match `query`: a superset, `search.matches` decides.

    Each clause (its terms OR-ed) narrows the set: on PostgreSQL by full-text search, a phrase
    as all its words (phrase search would make PostgreSQL re-tokenise every candidate); on
    SQLite, or for stop words, by `icontains` of the stems. Exclusions are left to Python.
    """
    documents = project.documents.only(
        "id", "project", "session", "title", "kind", "text"
    ).order_by("title", "id")
    postgres = connection.vendor == "postgresql"
    stop = _stop_terms(query.positive_terms) if postgres else set()
    tsquery: SearchQuery | None = None
    for clause in query.clauses:
        wanted = [term for term in clause if not term.negated]
        if not wanted:
            continue
        if postgres and not stop.intersection(wanted):
            either = reduce(
                operator.or_,
                (
                    SearchQuery(" ".join(term.words), search_type="plain", config="english")
                    for term in wanted
                ),
            )
            tsquery = either if tsquery is None else tsquery & either
        elif all(word.isascii() for term in wanted for word in term.words):
            # SQLite's LIKE folds ASCII case only: clauses with other letters are left to Python.
            either_q = Q()
            for term in wanted:
                both = Q()
                for word_stem in term.stems():
                    both &= Q(text__icontains=word_stem)
                either_q |= both
            documents = documents.filter(either_q)
    if tsquery is not None:
        documents = documents.filter(id__in=_full_text_ids(project, tsquery))
    return documents


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
    document-title order, at most `limit`. A fixed number of queries, whatever the number of hits.

    Raises `ValidationError` on "q" when the query has no word to look for.
    """
    query = search.parse_query(q)
    if not query or len(q) > 500 or "\x00" in q:
        raise ValidationError(
            {"q": "Type one or more words to search for (at most 500 characters)."}
        )
    found: list[tuple[Document, int, int]] = []
    truncated = False
    # In chunks, so a common word stops loading texts once the limit is reached.
    for document in _search_candidates(project, query).iterator(chunk_size=50):
        if not search.matches(document.text, query):
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


def sentence_list(*, document: Document) -> QuerySet[Sentence]:
    """The document's sentences in text order, as the last NLP ingest stored them.

    They belong to `document.nlp_version`; when that is behind `document.text_version`, the
    offsets refer to an older text and a new ingest is on its way.
    """
    return document.sentences.order_by("index")


def document_processing_error(*, document: Document) -> str:
    """Why the document's latest processing failed, as its job recorded it; "" when it did not
    fail (one query, only then)."""
    if document.status != Document.Status.FAILED:
        return ""
    job = (
        Job.objects.filter(
            project_id=document.project_id,
            kind="document_process",
            params__document=document.pk,
            status=Job.Status.FAILED,
        )
        .order_by("-created_at")
        .values_list("error", flat=True)
        .first()
    )
    return job or "The reason was not recorded."
