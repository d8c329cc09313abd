"""The coding workspace page: who sees it, who sees coding controls, and that the text it renders
carries offsets covering the document exactly, escaped."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from observations.models import Document
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    FieldNoteFactory,
    SessionFactory,
    SpeakerTurnFactory,
)

pytestmark = pytest.mark.django_db

XSS = "<img src=x onerror=alert(1)>"


def transcript(project, lines: list[str], gap: str = "\n") -> Document:
    text = gap.join(lines)
    document = DocumentFactory.create(project=project, title="Call with P07", text=text)
    cursor = 0
    for index, line in enumerate(lines):
        SpeakerTurnFactory.create(
            document=document,
            index=index,
            start=cursor,
            end=cursor + len(line),
            speaker="Anna" if index % 2 else "Interviewer",
            started_at_ms=index * 15_000,
        )
        cursor += len(line) + len(gap)
    return document


def _url(document: Document) -> str:
    return reverse("frontend:document-code", args=[document.project.slug, document.pk])


class _Offsets(HTMLParser):
    """Collects (data-start, text) of every element carrying data-start (not nested here)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[tuple[int, str]] = []
        self._open: int | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if "data-start" in values:
            self._open = len(self.pieces)
            self.pieces.append((int(values["data-start"] or 0), ""))

    def handle_endtag(self, tag):
        if tag in ("p", "span"):
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            start, text = self.pieces[self._open]
            self.pieces[self._open] = (start, text + data)


def test_page_renders_coding_controls_when_user_is_coder(team, client_as):
    document = transcript(team.project, ["Hello there.", "The bill was a shock."])
    response = client_as(team.coder).get(_url(document))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ws-picker"' in html
    assert "New code from selection" in html
    assert 'data-can-code="1"' in html
    assert "frontend/workspace.js" in html
    assert "Anna" in html
    assert "00:15" in html


def test_page_is_read_only_when_user_is_manager(team, client_as):
    document = transcript(team.project, ["Hello there.", "The bill was a shock."])
    response = client_as(team.manager).get(_url(document))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ws-picker"' not in html
    assert "New code from selection" not in html
    assert 'id="ws-memo-form"' not in html
    assert 'data-can-code="0"' in html
    assert "Read-only" in html


def test_page_is_404_when_user_is_outsider(team, client_as):
    document = transcript(team.project, ["Hello there."])
    assert client_as(team.outsider).get(_url(document)).status_code == 404


def test_page_is_404_when_document_is_in_another_project(team, client_as):
    other = DocumentFactory.create(project=team.other_project)
    url = reverse("frontend:document-code", args=[team.project.slug, other.pk])
    assert client_as(team.coder).get(url).status_code == 404


@pytest.mark.parametrize("gap", ["\n", "\n\n", "  \n"])
def test_data_start_offsets_cover_the_text_exactly_when_turns_have_gaps(team, client_as, gap):
    lines = ["Hello 😀 there.", "The bill — “a shock” — came in €.", "Ünïcode ok."]
    document = transcript(team.project, lines, gap=gap)
    document.text = "  Intro before turns.\n\n" + document.text + "\n\nTrailing paragraph."
    document.save()
    shift = len("  Intro before turns.\n\n")
    for turn in document.turns.all():
        turn.start += shift
        turn.end += shift
        turn.save()
    html = client_as(team.coder).get(_url(document)).content.decode()
    parser = _Offsets()
    parser.feed(html)
    cursor = 0
    for start, text in sorted(parser.pieces):
        assert start == cursor, (start, cursor, text)
        assert document.text[start : start + len(text)] == text
        cursor = start + len(text)
    assert cursor == len(document.text)


def test_user_text_is_escaped_when_turn_and_code_hold_markup(team, client_as):
    document = transcript(team.project, [f"She typed {XSS} into the form."])
    CodeFactory.create(project=team.project, name=XSS)
    html = client_as(team.coder).get(_url(document)).content.decode()
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_reader_links_to_workspace_when_document_is_open(team, client_as):
    document = transcript(team.project, ["Hello there."])
    url = reverse("frontend:document-detail", args=[team.project.slug, document.pk])
    html = client_as(team.coder).get(url).content.decode()
    assert re.search(rf'href="[^"]*/documents/{document.pk}/code/"', html)


def test_field_notes_render_one_block_per_note_when_document_is_field_notes(team, client_as):
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
    html = client_as(team.coder).get(_url(document)).content.decode()
    assert html.count("ws-turn ws-turn--note") == 2
    assert '<span class="ws-speaker">Question</span>' in html
    parser = _Offsets()
    parser.feed(html)
    assert "".join(piece for _, piece in sorted(parser.pieces)) == text
