"""Search: the pure hit finder, and the API across a project's documents and field notes."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from observations.models import Document
from observations.search import context, find_hits, parse_query, stem
from observations.selectors import _search_candidates
from tests.conftest import Team, client_for
from tests.factories import (
    DocumentFactory,
    FieldNoteFactory,
    ParticipantFactory,
    SessionFactory,
    SpeakerTurnFactory,
)

TEXT = "The shop charged me twice. My SIM card charges were wrong, and nobody called back."


def hits(text: str, q: str) -> list[str]:
    return [text[a:b] for a, b in find_hits(text, parse_query(q).positive_terms)]


def url(slug: str = "onboarding-calls") -> str:
    return reverse("api:search", kwargs={"slug": slug})


# --- the pure hit finder ---


def test_find_hits_matches_word_forms_when_query_word_is_inflected():
    assert hits(TEXT, "charged") == ["charged", "charges"]
    assert stem("charging") == "charg"


def test_find_hits_ignores_case_when_text_is_upper_case():
    assert hits("CALLED the SHOP", "shop called") == ["CALLED", "SHOP"]


def test_find_hits_returns_offsets_into_text_when_words_repeat():
    assert find_hits("card, card", parse_query("card").positive_terms) == [(0, 4), (6, 10)]


def test_find_hits_matches_whole_phrase_only_when_quoted():
    assert hits(TEXT, '"sim card"') == ["SIM card"]
    assert hits("the card sim", '"sim card"') == []
    assert hits("sim-card", '"sim card"') == ["sim-card"]


def test_find_hits_does_not_match_inside_words_when_stem_is_not_a_prefix():
    assert hits("discard the scard", "card") == []


def test_find_hits_handles_accents_when_text_is_not_ascii():
    text = "Émilie a payé à l'accueil; ÉMILIE était pressée. Straße"
    assert hits(text, "émilie") == ["Émilie", "ÉMILIE"]
    assert hits(text, "straße") == ["Straße"]
    # Python offsets count code points, so the hit's slice is exactly the word.
    start, end = find_hits(text, parse_query("payé").positive_terms)[0]
    assert text[start:end] == "payé"


def test_find_hits_skips_excluded_words_when_query_has_minus():
    query = parse_query("charged -wrong")
    assert [t.words for t in query.positive_terms] == [("charged",)]
    assert len(query.clauses) == 2


def test_parse_query_groups_alternatives_when_or_joins_words():
    query = parse_query("refund or credit voucher")
    assert [[t.words for t in clause] for clause in query.clauses] == [
        [("refund",), ("credit",)],
        [("voucher",)],
    ]


def test_context_cuts_at_word_boundaries_when_text_is_long():
    text = "alpha " * 30 + "MATCH" + " omega" * 30
    start = text.index("MATCH")
    before, after = context(text, start, start + 5)
    assert before.startswith("…alpha")
    assert before.endswith("alpha ")
    assert after.startswith(" omega")
    assert after.endswith("omega…")
    assert 50 <= len(before) <= 62
    assert 50 <= len(after) <= 62


# --- the API ---


@pytest.mark.django_db
def test_search_returns_hits_with_context_and_speaker_when_words_occur(team: Team):
    participant = ParticipantFactory.create(project=team.project, pseudonym="P07")
    document = DocumentFactory.create(project=team.project, title="Call with P07", text=TEXT)
    SpeakerTurnFactory.create(
        document=document, index=0, start=0, end=len(TEXT), participant=participant, speaker="Anna"
    )
    response = client_for(team.manager).get(url(), {"q": "charged"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["truncated"] is False
    first = body["results"][0]
    assert first["document"] == document.pk
    assert first["document_title"] == "Call with P07"
    assert (first["start"], first["end"], first["match"]) == (9, 16, "charged")
    assert first["context_before"] == "The shop "
    assert first["context_after"].startswith(" me twice.")
    assert first["speaker"] == "P07"
    assert first["url"].endswith(
        reverse("frontend:document-detail", kwargs={"slug": team.project.slug, "pk": document.pk})
        + "?at=9&len=7&q=charged#hit"
    )


@pytest.mark.django_db
def test_search_never_returns_other_projects_documents_when_they_hold_the_same_words(team: Team):
    DocumentFactory.create(project=team.other_project, title="Secret", text=TEXT)
    mine = DocumentFactory.create(project=team.project, title="Mine", text=TEXT)
    body = client_for(team.coder).get(url(), {"q": '"SIM card"'}).json()
    assert {hit["document"] for hit in body["results"]} == {mine.pk}
    assert body["count"] == 1


@pytest.mark.django_db
def test_search_finds_field_notes_when_a_note_holds_the_words(team: Team):
    notes = DocumentFactory.create(
        project=team.project,
        kind=Document.Kind.FIELD_NOTES,
        title="Store visit — field notes",
        text="[10:05] Customer waits at the counter holding the SIM pack.",
    )
    body = client_for(team.researcher).get(url(), {"q": "counter"}).json()
    assert [(hit["document"], hit["kind"], hit["match"]) for hit in body["results"]] == [
        (notes.pk, "field_notes", "counter")
    ]


@pytest.mark.django_db
def test_search_requires_every_word_when_query_has_several(team: Team):
    DocumentFactory.create(project=team.project, title="Both", text="roaming charges abroad")
    DocumentFactory.create(project=team.project, title="One", text="roaming only")
    body = client_for(team.owner).get(url(), {"q": "roaming charges"}).json()
    assert {hit["document_title"] for hit in body["results"]} == {"Both"}


@pytest.mark.django_db
def test_search_leaves_out_documents_when_they_hold_an_excluded_word(team: Team):
    DocumentFactory.create(project=team.project, title="Refund", text="refund given as voucher")
    DocumentFactory.create(project=team.project, title="Plain", text="refund paid to card")
    body = client_for(team.owner).get(url(), {"q": "refund -voucher"}).json()
    assert {hit["document_title"] for hit in body["results"]} == {"Plain"}


@pytest.mark.django_db
def test_search_query_count_is_constant_when_hits_grow(team: Team):
    def count_queries(documents: int) -> tuple[int, int]:
        for _n in range(documents):
            doc = DocumentFactory.create(project=team.project, text=TEXT * 3)
            SpeakerTurnFactory.create(document=doc, index=0, start=0, end=len(TEXT) * 3)
        client = client_for(team.manager)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url(), {"q": "charged"})
        assert response.status_code == 200
        return len(queries), response.json()["count"]

    few, few_hits = count_queries(1)
    many, many_hits = count_queries(9)
    assert many_hits > few_hits
    assert many == few


@pytest.mark.django_db
def test_search_caps_hits_and_says_so_when_there_are_too_many(team: Team):
    DocumentFactory.create(project=team.project, text="card " * 300)
    body = client_for(team.manager).get(url(), {"q": "card"}).json()
    assert body["count"] == 200
    assert body["truncated"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["", "   ", '""', "-only", "bill\x00"])
def test_search_answers_400_on_q_when_query_has_no_words(team: Team, q: str):
    response = client_for(team.manager).get(url(), {"q": q})
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["q"]


@pytest.mark.django_db
def test_search_is_404_when_caller_is_not_a_member(team: Team):
    DocumentFactory.create(project=team.project, text=TEXT)
    response = client_for(team.outsider).get(url(), {"q": "charged"})
    assert response.status_code == 404


@pytest.mark.django_db
def test_search_finds_other_word_forms_when_document_lacks_the_query_form(team: Team):
    DocumentFactory.create(project=team.project, title="Bill", text="Roaming charges were high.")
    body = client_for(team.manager).get(url(), {"q": "charged"}).json()
    assert [hit["match"] for hit in body["results"]] == ["charges"]


@pytest.mark.django_db
def test_search_index_exists_only_when_database_is_postgresql():
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, Document._meta.db_table)
    assert ("document_text_search_gin" in indexes) == (connection.vendor == "postgresql")


@pytest.mark.django_db
def test_search_keeps_context_inside_the_turn_when_hit_follows_another_speaker(team: Team):
    question, answer = "Did the bill surprise you?", "Yes, the roaming charges did."
    text = f"{question}\n{answer}"
    document = DocumentFactory.create(project=team.project, text=text)
    SpeakerTurnFactory.create(
        document=document, index=0, start=0, end=len(question), interviewer=team.researcher
    )
    SpeakerTurnFactory.create(
        document=document, index=1, start=len(question) + 1, end=len(text), speaker="Anna"
    )
    hit = client_for(team.manager).get(url(), {"q": "roaming"}).json()["results"][0]
    assert hit["context_before"] == "Yes, the "
    assert hit["context_after"] == " charges did."
    assert hit["speaker"] == "Anna"


@pytest.mark.django_db
def test_search_names_the_note_participant_when_hit_is_in_a_field_note(team: Team):
    session = SessionFactory.create(project=team.project)
    first, second = "Waits at the counter.", "Asks whether roaming is included."
    text = f"{first}\n{second}"
    DocumentFactory.create(
        project=team.project, kind=Document.Kind.FIELD_NOTES, session=session, text=text
    )
    participant = ParticipantFactory.create(project=team.project, pseudonym="P11")
    FieldNoteFactory.create(session=session, document_start=0, document_end=len(first))
    FieldNoteFactory.create(
        session=session,
        participant=participant,
        document_start=len(first) + 1,
        document_end=len(text),
    )
    hit = client_for(team.manager).get(url(), {"q": "roaming"}).json()["results"][0]
    assert hit["context_before"] == "Asks whether "
    assert hit["speaker"] == "P11"


@pytest.mark.django_db
def test_search_finds_stop_words_when_query_has_nothing_else(team: Team):
    DocumentFactory.create(project=team.project, title="Neg", text="It was not what I expected.")
    DocumentFactory.create(project=team.project, title="Pos", text="It was what I expected.")
    body = client_for(team.manager).get(url(), {"q": "not"}).json()
    assert [(hit["document_title"], hit["match"]) for hit in body["results"]] == [("Neg", "not")]


@pytest.mark.django_db
def test_search_takes_either_word_when_query_joins_them_with_or(team: Team):
    DocumentFactory.create(project=team.project, title="A", text="They gave me a refund.")
    DocumentFactory.create(project=team.project, title="B", text="A credit on the next bill.")
    DocumentFactory.create(project=team.project, title="C", text="Nothing at all.")
    body = client_for(team.manager).get(url(), {"q": "refund or credit"}).json()
    assert [hit["match"] for hit in body["results"]] == ["refund", "credit"]


@pytest.mark.django_db
def test_search_prefilters_through_the_gin_index_when_database_is_postgresql(team: Team):
    DocumentFactory.create(project=team.project, text=TEXT)
    with CaptureQueriesContext(connection) as queries:
        candidates = list(_search_candidates(team.project, parse_query('"sim card" charged')))
    assert len(candidates) == 1
    statements = [query["sql"] for query in queries.captured_queries]
    if connection.vendor == "postgresql":
        (full_text,) = [sql for sql in statements if "@@" in sql]
        # Exactly as the selector runs it: the plan must go through the GIN index, never a
        # sequential scan that tokenises every text.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {full_text}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Bitmap Index Scan on document_text_search_gin" in plan
        assert not any("LIKE" in sql for sql in statements)
    else:
        assert any("LIKE" in sql for sql in statements)
