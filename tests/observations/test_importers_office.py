"""The .docx and .odt parsers: paragraphs, speaker prefixes, and damaged or hostile archives."""

import io
import zipfile
from pathlib import Path

import docx
import pytest

from observations.importers import ParseError, ParseOptions, parse_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _said(doc, index: int) -> str:
    turn = doc.turns[index]
    return doc.text[turn.start : turn.end]


def _docx(*paragraphs: str) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_docx_speaker_paragraphs_become_turns_when_prefixed_in_bold() -> None:
    [doc] = parse_file("onboarding.docx", _fixture("onboarding.docx"))
    assert len(doc.turns) == 20
    assert doc.speakers == ["Jordan Reyes", "Maya Patel"]
    assert _said(doc, 0).startswith("Thanks for making time today, Maya.")
    assert doc.turns[0].started_at_ms is None
    assert doc.text[doc.turns[1].start - len("Maya Patel: ") : doc.turns[1].start] == "Maya Patel: "


def test_docx_keeps_title_and_continuation_paragraphs_when_not_prefixed() -> None:
    [doc] = parse_file("onboarding.docx", _fixture("onboarding.docx"))
    lines = doc.text.split("\n")
    assert lines[0] == "Onboarding interview – Maya Patel"
    assert lines[1] == "Date: 12 March 2026, video call. Interviewer: Jordan Reyes."
    assert doc.turns[0].start > len(lines[0]) + len(lines[1])
    assert _said(doc, -1).endswith(
        "I'd never had one.\nShe held the tiny envelope up to the camera."
    )


def test_odt_speaker_paragraphs_become_turns_when_prefixed() -> None:
    [doc] = parse_file("onboarding.odt", _fixture("onboarding.odt"))
    assert len(doc.turns) == 20
    assert doc.speakers == ["Jordan Reyes", "Maya Patel"]
    assert doc.text.startswith("Onboarding interview – part two\nJordan Reyes: ")
    assert _said(doc, 0) == "How did that feel at the time?"
    assert _said(doc, -1).startswith("Yes, we bundled it, because there was a discount")


def test_docx_without_speakers_keeps_paragraphs_one_per_line_when_imported() -> None:
    data = _docx("Visit to the Leeds store", "", "Queue of six at 10:30.", "Note: no signage.")
    [doc] = parse_file("visit.docx", data)
    assert doc.text == "Visit to the Leeds store\nQueue of six at 10:30.\nNote: no signage."
    assert doc.turns == []


def test_docx_transcript_table_rows_become_turns_when_speaker_and_words_columns() -> None:
    document = docx.Document()
    table = document.add_table(rows=0, cols=3)
    for time, speaker, words in [
        ("00:01", "Agent", "How can I help?"),
        ("00:04", "Caller", "My router shows red."),
        ("00:09", "Agent", "Let me check the line."),
    ]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = time, speaker, words
    buffer = io.BytesIO()
    document.save(buffer)
    [doc] = parse_file("call.docx", buffer.getvalue())
    assert [turn.speaker for turn in doc.turns] == ["Agent", "Caller", "Agent"]
    assert [turn.started_at_ms for turn in doc.turns] == [1_000, 4_000, 9_000]
    assert _said(doc, 1) == "My router shows red."


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("truncated.docx", _fixture("truncated.docx"), "damaged or incomplete"),
        ("notes.docx", b"Interviewer: this is plain text\n", "not a valid .docx file"),
        ("half.odt", _fixture("onboarding.odt")[:1500], "not a valid .odt file"),
        ("other.docx", _zip({"readme.txt": b"hello"}), "word/document.xml is missing"),
        ("other.odt", _zip({"mimetype": b"x"}), "content.xml is missing"),
        ("broken.docx", _zip({"word/document.xml": b"<w:document"}), "cannot be read"),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "save it as .docx"),
    ],
)
def test_corrupt_office_file_is_refused_naming_the_file_when_uploaded(
    name: str, data: bytes, problem: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(name, data)
    assert caught.value.filename == name
    assert problem in caught.value.message
    assert str(caught.value).startswith(f"{name}: ")


def test_zip_bomb_is_refused_when_it_would_expand_absurdly() -> None:
    data = _zip({"word/document.xml": b"<a/>", "word/media/fill.bin": b"\0" * (120 * 2**20)})
    assert len(data) < 2**20
    with pytest.raises(ParseError) as caught:
        parse_file("bomb.docx", data)
    assert "refused as unsafe" in caught.value.message


def test_xml_entities_are_refused_when_declared_in_the_document() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;">]>'
        b"<office:document-content>&b;</office:document-content>"
    )
    with pytest.raises(ParseError) as caught:
        parse_file("laughs.odt", _zip({"content.xml": laughs}))
    assert "entities" in caught.value.message


def test_docx_with_no_text_is_refused_when_all_paragraphs_are_empty() -> None:
    with pytest.raises(ParseError) as caught:
        parse_file("blank.docx", _docx("", "   "))
    assert caught.value.message == "the document has no text"


def test_docx_over_the_limit_is_refused_when_too_long() -> None:
    with pytest.raises(ParseError) as caught:
        parse_file("onboarding.docx", _fixture("onboarding.docx"), ParseOptions(max_chars=500))
    assert "limit is 500" in caught.value.message


def test_docx_reads_tracked_changes_as_accepted_when_a_transcript_was_corrected() -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    for _ in range(2):
        document.add_paragraph("Interviewer: And then?")
    paragraph = document.add_paragraph("Customer: The SIM came ")
    paragraph._p.append(
        parse_xml(
            f'<w:del {nsdecls("w")} w:id="1" w:author="JR" w:date="2026-03-12T10:00:00Z">'
            "<w:r><w:delText>Tuesday</w:delText></w:r></w:del>"
        )
    )
    paragraph._p.append(
        parse_xml(
            f'<w:ins {nsdecls("w")} w:id="2" w:author="JR" w:date="2026-03-12T10:00:00Z">'
            "<w:r><w:t>Thursday</w:t></w:r></w:ins>"
        )
    )
    document.add_paragraph("Customer: Then nothing.")
    buffer = io.BytesIO()
    document.save(buffer)
    [doc] = parse_file("corrected.docx", buffer.getvalue())
    assert _said(doc, 2) == "The SIM came Thursday"
    assert "Tuesday" not in doc.text


def test_odt_leaves_out_comments_and_footnotes_when_paragraphs_carry_them() -> None:
    from odf.office import Annotation
    from odf.opendocument import OpenDocumentText
    from odf.text import Note, NoteBody, NoteCitation, P

    document = OpenDocumentText()
    for words in ("Interviewer: Hi.", "Customer: Hello.", "Interviewer: And the router?"):
        document.text.addElement(P(text=words))
    paragraph = P(text="Customer: It was red")
    comment = Annotation()
    comment.addElement(P(text="check the date"))
    paragraph.addElement(comment)
    note = Note(noteclass="footnote", id="n1")
    note.addElement(NoteCitation(text="1"))
    body = NoteBody()
    body.addElement(P(text="Red means no line yet."))
    note.addElement(body)
    paragraph.addElement(note)
    paragraph.addText(" all weekend.")
    document.text.addElement(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    [doc] = parse_file("annotated.odt", buffer.getvalue())
    assert _said(doc, 3) == "It was red all weekend."
    assert "check the date" not in doc.text
    assert "no line yet" not in doc.text
