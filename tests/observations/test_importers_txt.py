"""The .txt parser: speaker lines, Otter exports, bracket timestamps, encodings, bad input."""

import pytest

from observations.importers import SUPPORTED_EXTENSIONS, ParseError, parse_file


def test_name_colon_lines_become_turns_when_speakers_recur() -> None:
    data = b"Interviewer: Hello there\nAnna: At 10:30 I went to https://x.example\nsee.\n"
    data += b"Interviewer: ok\n"
    doc = parse_file("call.txt", data)[0]
    assert [turn.speaker for turn in doc.turns] == ["Interviewer", "Anna", "Interviewer"]
    assert doc.text[doc.turns[1].start : doc.turns[1].end] == (
        "At 10:30 I went to https://x.example\nsee."
    )


def test_unsupported_extension_is_refused_when_uploaded() -> None:
    with pytest.raises(ParseError) as caught:
        parse_file("slides.pdf", b"%PDF-1.4")
    assert "slides.pdf" in str(caught.value)
    assert all(extension in caught.value.message for extension in SUPPORTED_EXTENSIONS)
