"""The document list, the reader (opened at a spot) and the search page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from frontend.areas.documents import clock
from observations.models import Document
from research.jobs import job_create, job_fail
from tests.conftest import Team, client_for
from tests.factories import (
    DocumentFactory,
    ExcerptFactory,
    FieldNoteFactory,
    ParticipantFactory,
    SessionFactory,
    SpeakerTurnFactory,
)

pytestmark = pytest.mark.django_db

INTERVIEWER = "Can you tell me about the first bill?"
ANSWER = "The first bill was a shock: roaming charges I never agreed to."


def reader_url(team: Team, document: Document, **params: object) -> str:
    url = reverse("frontend:document-detail", kwargs={"slug": team.project.slug, "pk": document.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def transcript(team: Team, turns: int = 2) -> Document:
    """A transcript alternating interviewer and participant P07, one line per turn."""
    participant = ParticipantFactory.create(project=team.project, pseudonym="P07")
    lines = [INTERVIEWER if i % 2 == 0 else ANSWER for i in range(turns)]
    text = "\n".join(lines)
    document = DocumentFactory.create(project=team.project, title="Call with P07", text=text)
    cursor = 0
    for index, line in enumerate(lines):
        SpeakerTurnFactory.create(
            document=document,
            index=index,
            start=cursor,
            end=cursor + len(line),
            speaker="Dana" if index % 2 == 0 else "Anna",
            interviewer=team.researcher if index % 2 == 0 else None,
            participant=None if index % 2 == 0 else participant,
            started_at_ms=index * 61_000 + (3_600_000 if index == 3 else 0),
        )
        cursor += len(line) + 1
    return document


def test_clock_shows_hours_only_when_past_an_hour():
    assert clock(61_000) == "01:01"
    assert clock(3_725_000) == "1:02:05"
    assert clock(None) == ""


def test_reader_shows_turns_with_speakers_and_timestamps_when_document_has_turns(team: Team):
    document = transcript(team, turns=4)
    html = client_for(team.coder).get(reader_url(team, document)).content.decode()
    assert html.count('class="block block--participant') == 2
    assert html.count('class="block block--interviewer') == 2
    assert "Dana (interviewer)" in html
    assert '<span class="block__speaker">P07</span> <time class="block__when">01:01</time>' in html
    assert "1:03:03" in html  # the fourth turn, past the hour
    assert ANSWER in html
    assert INTERVIEWER in html


def test_reader_marks_the_spot_when_opened_with_at_and_len(team: Team):
    document = transcript(team)
    at = document.text.index("roaming charges")
    response = client_for(team.manager).get(reader_url(team, document, at=at, len=15))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<mark id="hit">roaming charges</mark> I never agreed to.' in html
    assert html.count("<mark") == 1
    assert 'href="#hit"' in html


def test_reader_links_back_to_results_when_opened_from_a_search_hit(team: Team):
    document = transcript(team)
    html = client_for(team.manager).get(reader_url(team, document, at=3, q="bill")).content.decode()
    search = reverse("frontend:search", kwargs={"slug": team.project.slug})
    assert f'<a href="{search}?q=bill">← Results for “bill”</a>' in html


def test_reader_marks_the_word_when_len_is_missing(team: Team):
    document = transcript(team)
    at = document.text.index("shock")
    html = client_for(team.manager).get(reader_url(team, document, at=at)).content.decode()
    assert '<mark id="hit">shock</mark>' in html


def test_reader_ignores_the_spot_when_at_is_outside_the_text(team: Team):
    document = transcript(team)
    for at in ("99999", "-3", "abc"):
        response = client_for(team.manager).get(reader_url(team, document, at=at))
        assert response.status_code == 200
        assert "<mark" not in response.content.decode()


def test_reader_keeps_user_text_escaped_when_text_holds_markup(team: Team):
    text = "Before <script>alert(1)</script> after <b>bold</b>"
    document = DocumentFactory.create(project=team.project, title="<i>Title</i>", text=text)
    at = text.index("<script>")
    html = client_for(team.manager).get(reader_url(team, document, at=at, len=8)).content.decode()
    assert "<script>alert" not in html
    assert "<b>bold" not in html
    assert "<i>Title" not in html
    assert '<mark id="hit">&lt;script&gt;</mark>alert(1)&lt;/script&gt;' in html


def test_reader_shows_paragraphs_when_document_has_no_turns(team: Team):
    text = "First paragraph.\n\nSecond paragraph,\nstill second.\n\n\nThird."
    document = DocumentFactory.create(project=team.project, kind="survey", text=text)
    html = client_for(team.manager).get(reader_url(team, document)).content.decode()
    texts = re.findall(r'<p class="block__text">(.*?)</p>', html, re.S)
    assert texts == ["First paragraph.", "Second paragraph,\nstill second.", "Third."]


def test_reader_shows_each_note_when_field_notes_have_ranges(team: Team):
    session = SessionFactory.create(project=team.project)
    first, second = "Customer waits at the counter.", "Asks twice about the PIN."
    text = f"{first}\n{second}"
    document = DocumentFactory.create(
        project=team.project, kind=Document.Kind.FIELD_NOTES, session=session, text=text
    )
    FieldNoteFactory.create(session=session, text=first, document_start=0, document_end=len(first))
    FieldNoteFactory.create(
        session=session,
        text=second,
        kind="question",
        document_start=len(first) + 1,
        document_end=len(text),
    )
    html = client_for(team.manager).get(reader_url(team, document)).content.decode()
    assert html.count("block block--note") == 2
    assert '<span class="block__speaker">Question</span>' in html


def test_reader_counts_coded_excerpts_when_some_need_review(team: Team):
    document = transcript(team)
    ExcerptFactory.create(document=document, coder=team.coder)
    ExcerptFactory.create(document=document, coder=team.coder, needs_review=True)
    html = client_for(team.manager).get(reader_url(team, document)).content.decode()
    assert "2 excerpts coded" in html
    assert "1 needs review" in html


def test_reader_is_404_when_caller_is_an_outsider(team: Team):
    document = transcript(team)
    assert client_for(team.outsider).get(reader_url(team, document)).status_code == 404


def test_reader_is_404_when_document_is_in_another_project(team: Team):
    foreign = DocumentFactory.create(project=team.other_project)
    assert client_for(team.owner).get(reader_url(team, foreign)).status_code == 404


def test_reader_query_count_is_constant_when_transcript_has_many_turns(team: Team):
    def queries_for(turns: int) -> int:
        document = transcript(team, turns=turns)
        client = client_for(team.manager)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reader_url(team, document, at=5))
        assert response.status_code == 200
        assert response.content.decode().count('class="block ') == turns
        document.delete()
        team.project.participants.all().delete()
        return len(queries)

    assert queries_for(4) == queries_for(1500)


def test_document_list_shows_documents_when_filtered_by_kind(team: Team):
    transcript(team)
    DocumentFactory.create(project=team.project, kind="survey", title="Survey answer 12")
    DocumentFactory.create(project=team.other_project, title="Not ours")
    url = reverse("frontend:document-list", kwargs={"slug": team.project.slug})
    html = client_for(team.coder).get(url).content.decode()
    assert "Call with P07" in html
    assert "Survey answer 12" in html
    assert "Not ours" not in html
    filtered = client_for(team.coder).get(url, {"kind": "survey"}).content.decode()
    assert "Survey answer 12" in filtered
    assert "Call with P07" not in filtered


def test_search_page_links_hits_to_the_spot_when_words_are_found(team: Team):
    document = transcript(team)
    url = reverse("frontend:search", kwargs={"slug": team.project.slug})
    html = client_for(team.manager).get(url, {"q": "roaming"}).content.decode()
    at = document.text.index("roaming")
    assert f"{reader_url(team, document)}?at={at}&amp;len=7&amp;q=roaming#hit" in html
    assert '<strong class="hit__match">roaming</strong>' in html
    assert "1 hit for" in html


def test_search_page_shows_a_hint_when_query_is_empty(team: Team):
    url = reverse("frontend:search", kwargs={"slug": team.project.slug})
    html = client_for(team.manager).get(url).content.decode()
    assert "Quotes find an exact phrase" in html


def test_search_page_says_nothing_found_when_no_document_matches(team: Team):
    transcript(team)
    url = reverse("frontend:search", kwargs={"slug": team.project.slug})
    html = client_for(team.manager).get(url, {"q": "zebra"}).content.decode()
    assert "Nothing found for “zebra”" in html


def test_document_list_query_count_is_constant_when_documents_grow(team: Team):
    url = reverse("frontend:document-list", kwargs={"slug": team.project.slug})
    client = client_for(team.manager)

    def queries_for(documents: int) -> int:
        for _ in range(documents):
            participant = ParticipantFactory.create(project=team.project)
            document = DocumentFactory.create(project=team.project, participant=participant)
            SpeakerTurnFactory.create(document=document, index=0)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries)

    assert queries_for(1) == queries_for(12)


def test_reader_shows_speaker_labels_once_when_document_was_imported(team: Team):
    from observations.importers import parse_file
    from observations.services import TurnInput, document_create

    raw = (
        b"Call on 3 March\nDana: Hello there, thanks for joining.\nAnna: Hi, happy to help.\n"
        b"Dana: How was the first week?\nAnna: Slow, the SIM took three days.\n"
    )
    parsed = parse_file("call.txt", raw)[0]
    assert parsed.text[parsed.turns[0].start :].startswith("Hello there")  # turns are the words
    turns = [TurnInput(start=t.start, end=t.end, speaker=t.speaker) for t in parsed.turns]
    document, _ = document_create(
        project=team.project, creator=team.owner, title="Call", text=parsed.text, turns=turns
    )
    html = client_for(team.coder).get(reader_url(team, document)).content.decode()
    assert "Call on 3 March" in html  # text before the first turn is still shown
    assert "Hello there, thanks for joining." in html
    # The block header names the speaker; the "Dana: " label line is not repeated as a paragraph.
    assert "Dana:" not in html
    assert "Anna:" not in html
    assert html.count(">Dana<") + html.count(">Dana ") >= 1


def test_reader_offers_coding_only_when_role_can_code(team: Team):
    document = transcript(team)
    assert (
        "Code this document"
        in client_for(team.coder).get(reader_url(team, document)).content.decode()
    )
    manager_html = client_for(team.manager).get(reader_url(team, document)).content.decode()
    assert "Code this document" not in manager_html
    assert "See the coding" in manager_html  # managers read the coded document, read-only


def test_reader_says_why_processing_failed_when_the_job_recorded_it(team: Team):
    document = DocumentFactory.create(
        project=team.project, text=ANSWER, status=Document.Status.FAILED
    )
    job = job_create(
        kind="document_process", project=team.project, user=None, params={"document": document.pk}
    )
    job_fail(job=job, error="Text <b>too</b> long for the pipeline")
    html = client_for(team.coder).get(reader_url(team, document)).content.decode()
    assert 'id="processing-error"' in html
    assert "Text &lt;b&gt;too&lt;/b&gt; long for the pipeline" in html


def test_reader_shows_no_failure_when_document_is_ready(team: Team):
    document = DocumentFactory.create(project=team.project, text=ANSWER)
    html = client_for(team.coder).get(reader_url(team, document)).content.decode()
    assert document.status == Document.Status.READY
    assert 'id="processing-error"' not in html
