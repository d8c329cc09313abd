"""Editing a document's text after coding: excerpts, turns and note ranges follow their words."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coding.models import Excerpt
from observations.models import Document, PiiCandidate, Sentence, SpeakerTurn
from observations.services import document_set_text
from tests.conftest import client_for
from tests.factories import (
    DocumentFactory,
    ExcerptFactory,
    FieldNoteFactory,
    SessionFactory,
    SpeakerTurnFactory,
)

TEXT = "Interviewer: How was setup?\nCustomer: The SIM card never arrived, so I called twice."


def _excerpt(document: Document, words: str, **extra) -> Excerpt:
    start = document.text.index(words)
    return ExcerptFactory.create(document=document, start=start, end=start + len(words), **extra)


def _document(team, text: str = TEXT) -> Document:
    return DocumentFactory.create(project=team.project, text=text, char_count=len(text))


def _assert_anchored(excerpt: Excerpt) -> None:
    excerpt.refresh_from_db()
    assert excerpt.text == excerpt.document.text[excerpt.start : excerpt.end]
    assert not excerpt.needs_review


def test_excerpt_moves_with_its_words_when_text_is_inserted_before_it(team):
    document = _document(team)
    excerpt = _excerpt(document, "never arrived")
    edit = document_set_text(document=document, text=TEXT.replace("How was", "So, how was"))
    _assert_anchored(excerpt)
    assert excerpt.start == TEXT.index("never arrived") + len("So, h") - 1
    assert (edit.moved, edit.flagged) == (1, 0)
    document.refresh_from_db()
    assert (document.text_version, document.char_count) == (2, len(document.text))


def test_excerpt_stays_when_text_is_inserted_after_it_or_at_its_end(team):
    document = _document(team)
    excerpt = _excerpt(document, "SIM card")
    before = (excerpt.start, excerpt.end)
    edit = document_set_text(document=document, text=TEXT.replace("SIM card", "SIM card pack"))
    _assert_anchored(excerpt)
    assert (excerpt.start, excerpt.end) == before
    assert edit.moved == 0
    assert edit.flagged == 0


def test_excerpt_is_flagged_with_old_quote_when_text_inside_it_changes(team):
    document = _document(team)
    excerpt = _excerpt(document, "never arrived")
    edit = document_set_text(document=document, text=TEXT.replace("never arrived", "never came"))
    excerpt.refresh_from_db()
    assert excerpt.needs_review
    assert "never arrived" in excerpt.review_reason
    assert "changed by an edit on" in excerpt.review_reason
    assert excerpt.text == "never arrived"
    assert 0 <= excerpt.start < excerpt.end <= len(document.text)
    assert edit.flagged == 1


def test_excerpt_is_flagged_not_dropped_when_all_its_words_are_deleted(team):
    document = _document(team)
    excerpt = _excerpt(document, ", so I called twice")
    other = _excerpt(document, "How was setup?")
    document_set_text(document=document, text=TEXT.replace(", so I called twice", ""))
    excerpt.refresh_from_db()
    assert excerpt.needs_review
    assert excerpt.text == ", so I called twice"
    assert 0 <= excerpt.start < excerpt.end <= len(document.text)
    _assert_anchored(other)
    assert Excerpt.objects.filter(document=document).count() == 2


def test_text_is_normalised_and_empty_text_refused_when_setting_text(team):
    document = _document(team)
    document_set_text(document=document, text=TEXT.replace("\n", "\r\n") + " Cafe\u0301")
    document.refresh_from_db()
    assert document.text.endswith(" Café")
    assert "\r" not in document.text
    with pytest.raises(ValidationError) as error:
        document_set_text(document=document, text="  \n ")
    assert "text" in error.value.message_dict


def test_same_text_changes_nothing_when_set_again(team):
    document = _document(team)
    edit = document_set_text(document=document, text=TEXT)
    document.refresh_from_db()
    assert document.text_version == 1
    assert edit.job is None


def test_turns_grow_shrink_and_vanish_when_edited(team):
    document = _document(team)
    first_end = TEXT.index("\n")
    SpeakerTurnFactory.create(document=document, index=0, start=0, end=first_end)
    SpeakerTurnFactory.create(document=document, index=1, start=first_end + 1, end=len(TEXT))
    new = "Customer: The SIM card never arrived, so I called three times."
    edit = document_set_text(document=document, text=new)
    turns = list(SpeakerTurn.objects.filter(document=document).order_by("index"))
    assert [(t.index, t.start, t.end) for t in turns] == [(0, 0, len(new))]
    assert edit.turns_removed == 1


def test_turn_keeps_text_typed_at_its_end_when_edited(team):
    document = _document(team)
    first_end = TEXT.index("\n")
    turn = SpeakerTurnFactory.create(document=document, index=0, start=0, end=first_end)
    document_set_text(document=document, text=TEXT.replace("setup?", "setup? Easy?"))
    turn.refresh_from_db()
    assert document.text[turn.start : turn.end] == "Interviewer: How was setup? Easy?"


def test_field_note_ranges_follow_their_words_when_notes_document_is_edited(team):
    session = SessionFactory.create(project=team.project)
    text = "10:05 · Observation: Waits at the counter.\n\n10:07 · Quote: Where is the slot?"
    document = DocumentFactory.create(
        project=team.project, session=session, kind=Document.Kind.FIELD_NOTES, text=text
    )
    first = text.index("Waits")
    second = text.index("Where")
    note_a = FieldNoteFactory.create(
        session=session,
        text="Waits at the counter.",
        document_start=first,
        document_end=first + len("Waits at the counter."),
    )
    note_b = FieldNoteFactory.create(
        session=session, text="Where is the slot?", document_start=second, document_end=len(text)
    )
    new = text.replace("Waits at the counter.", "Waits a long time at the counter.")
    document_set_text(document=document, text=new)
    note_a.refresh_from_db()
    note_b.refresh_from_db()
    assert new[note_a.document_start : note_a.document_end] == "Waits a long time at the counter."
    assert new[note_b.document_start : note_b.document_end] == "Where is the slot?"
    assert note_a.text == "Waits a long time at the counter."


def test_field_note_range_is_cleared_when_its_words_are_deleted(team):
    session = SessionFactory.create(project=team.project)
    text = "10:05 · Observation: Waits.\n\n10:07 · Quote: Where is the slot?"
    document = DocumentFactory.create(
        project=team.project, session=session, kind=Document.Kind.FIELD_NOTES, text=text
    )
    start = text.index("Where")
    note = FieldNoteFactory.create(session=session, document_start=start, document_end=len(text))
    document_set_text(document=document, text=text[: text.index("\n\n")])
    note.refresh_from_db()
    assert (note.document_start, note.document_end) == (None, None)
    assert note.text == "Customer waits at the counter holding the SIM pack."


def test_sentences_and_pending_pii_are_cleared_when_text_changes(team):
    document = _document(team)
    Sentence.objects.create(document=document, index=0, start=0, end=10)
    PiiCandidate.objects.create(
        document=document, text_version=1, kind="person", start=0, end=5, source="ner"
    )
    decided = PiiCandidate.objects.create(
        document=document,
        text_version=1,
        kind="person",
        start=0,
        end=5,
        source="ner",
        status=PiiCandidate.Status.REJECTED,
    )
    edit = document_set_text(document=document, text=TEXT + " Bye.")
    assert not Sentence.objects.filter(document=document).exists()
    assert list(PiiCandidate.objects.filter(document=document)) == [decided]
    assert edit.job is not None


def test_queries_do_not_grow_with_excerpts_when_text_is_edited(team):
    def count_queries(excerpts: int) -> int:
        document = _document(team)
        for _ in range(excerpts):
            _excerpt(document, "never arrived")
            _excerpt(document, "SIM card")
        with CaptureQueriesContext(connection) as queries:
            document_set_text(document=document, text="Hello. " + TEXT.replace("SIM", "eSIM"))
        return len(queries)

    assert count_queries(1) == count_queries(30)


def _doc_url(team, document: Document) -> str:
    return f"/api/v1/projects/{team.project.slug}/documents/{document.pk}/"


def _excerpt_url(team, excerpt: Excerpt) -> str:
    return f"/api/v1/projects/{team.project.slug}/excerpts/{excerpt.pk}/"


def test_patch_text_reports_moved_and_flagged_when_researcher_edits(team):
    document = _document(team)
    kept = _excerpt(document, "called twice")
    lost = _excerpt(document, "never arrived")
    new = TEXT.replace("never arrived", "came late").replace("How", "So how")
    response = client_for(team.researcher).patch(
        _doc_url(team, document), {"text": new, "title": "Call 7"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["edit"] == {"moved": 1, "flagged": 1}
    assert body["title"] == "Call 7"
    assert body["char_count"] == len(new)
    _assert_anchored(kept)
    listed = client_for(team.coder).get(_excerpt_url(team, lost)).json()
    assert listed["needs_review"] is True
    assert "never arrived" in listed["review_reason"]


def test_patch_text_is_403_and_changes_nothing_when_coder_tries(team):
    document = _document(team)
    response = client_for(team.coder).patch(
        _doc_url(team, document), {"text": "Something else."}, format="json"
    )
    assert response.status_code == 403
    document.refresh_from_db()
    assert document.text == TEXT


def test_patch_text_is_400_with_field_when_text_is_blank(team):
    document = _document(team)
    title = document.title
    response = client_for(team.researcher).patch(
        _doc_url(team, document), {"text": "   ", "title": "Renamed"}, format="json"
    )
    assert response.status_code == 400
    assert any(error.get("field") == "text" for error in response.json()["errors"])
    document.refresh_from_db()
    assert (document.text, document.title) == (TEXT, title)


def test_coder_clears_review_and_quote_is_recopied_when_accepting_new_anchoring(team):
    document = _document(team)
    excerpt = _excerpt(document, "never arrived", coder=team.coder)
    document_set_text(document=document, text=TEXT.replace("never arrived", "never came"))
    excerpt.refresh_from_db()
    assert excerpt.needs_review
    client = client_for(team.coder)
    refused = client.patch(_excerpt_url(team, excerpt), {"needs_review": True}, format="json")
    assert refused.status_code == 400
    start = document.text.index("never came")
    response = client.patch(
        _excerpt_url(team, excerpt),
        {"needs_review": False, "start": start, "end": start + len("never came")},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["needs_review"] is False
    assert response.json()["review_reason"] == ""
    assert response.json()["text"] == "never came"
