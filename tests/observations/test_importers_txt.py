"""The .txt parser: speaker lines, Otter exports, bracket timestamps, encodings, bad input."""

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observations.importers import SUPPORTED_EXTENSIONS, ParseError, ParseOptions, parse_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _said(doc, index: int) -> str:
    turn = doc.turns[index]
    return doc.text[turn.start : turn.end]


def test_otter_export_gives_every_turn_when_it_has_a_header() -> None:
    [doc] = parse_file("onboarding_otter.txt", _fixture("onboarding_otter.txt"))
    assert len(doc.turns) == 68
    assert doc.speakers == ["Jordan Reyes", "Maya Patel", "Sam Okafor"]
    assert [turn.speaker for turn in doc.turns[:3]] == [
        "Jordan Reyes",
        "Maya Patel",
        "Jordan Reyes",
    ]
    assert _said(doc, 0).startswith("Thanks for making time today, Maya.")
    assert _said(doc, 0).endswith("There are no right or wrong answers.")
    assert _said(doc, -1) == "Thanks, Jordan. Good luck with it."
    assert doc.title == "onboarding otter"


def test_otter_header_and_footer_stay_out_of_the_text_when_imported() -> None:
    [doc] = parse_file("onboarding_otter.txt", _fixture("onboarding_otter.txt"))
    assert "SUMMARY KEYWORDS" not in doc.text
    assert "SPEAKERS" not in doc.text
    assert "otter.ai" not in doc.text
    assert doc.text.startswith("Jordan Reyes: Thanks for making time today")


def test_otter_timestamps_become_ms_when_minutes_or_hours() -> None:
    [doc] = parse_file("onboarding_otter.txt", _fixture("onboarding_otter.txt"))
    assert doc.turns[0].started_at_ms == 0
    assert doc.turns[1].started_at_ms == 72_000  # "01:12"
    assert doc.turns[0].ended_at_ms == doc.turns[1].started_at_ms
    assert doc.turns[-2].started_at_ms == 3_648_000  # "1:00:48"
    assert doc.turns[-1].started_at_ms == 3_697_000  # "1:01:37"
    assert doc.turns[-1].ended_at_ms is None
    starts = [turn.started_at_ms or 0 for turn in doc.turns]
    assert starts == sorted(starts)


def test_turn_offsets_cover_the_words_and_the_label_precedes_them_when_rendered() -> None:
    [doc] = parse_file("onboarding_otter.txt", _fixture("onboarding_otter.txt"))
    for turn in doc.turns:
        label = f"{turn.speaker}: "
        assert doc.text[turn.start - len(label) : turn.start] == label
        assert doc.text[turn.start : turn.end] == doc.text[turn.start : turn.end].strip()
        assert turn.end == len(doc.text) or doc.text[turn.end] == "\n"


def test_name_colon_lines_become_turns_when_speakers_recur() -> None:
    data = b"Interviewer: Hello there\nAnna: At 10:30 I went to https://x.example\nsee.\n"
    data += b"Interviewer: ok\nNote: she pointed at the router.\nAnna: Why: it was slow.\n"
    [doc] = parse_file("call.txt", data)
    assert [turn.speaker for turn in doc.turns] == ["Interviewer", "Anna", "Interviewer", "Anna"]
    assert _said(doc, 1) == "At 10:30 I went to https://x.example\nsee."
    assert _said(doc, 2) == "ok\nNote: she pointed at the router."
    assert _said(doc, 3) == "Why: it was slow."
    assert doc.turns[0].started_at_ms is None


def test_label_alone_on_its_line_starts_a_turn_when_words_follow_below() -> None:
    data = b"INTERVIEWER:\nHello, thanks.\n\nCUSTOMER:\nHi.\nWhy: because.\n\nINTERVIEWER:\nOk.\n"
    [doc] = parse_file("call.txt", data)
    assert [turn.speaker for turn in doc.turns] == ["INTERVIEWER", "CUSTOMER", "INTERVIEWER"]
    assert _said(doc, 1) == "Hi.\nWhy: because."  # a lone one-word label mid-answer is no speaker
    assert doc.text == "INTERVIEWER: Hello, thanks.\nCUSTOMER: Hi.\nWhy: because.\nINTERVIEWER: Ok."


def test_speaker_with_a_bracketed_remark_is_one_speaker_when_it_recurs() -> None:
    data = b"Maya (customer): hi\nJordan [moderator]: so\nMaya (customer): bye\nStore Manager: hm\n"
    [doc] = parse_file("call.txt", data)
    assert doc.speakers == ["Maya (customer)", "Jordan [moderator]", "Store Manager"]
    assert _said(doc, 3) == "hm"


def test_prose_with_colons_has_no_turns_when_no_speaker_recurs() -> None:
    data = b"Visit notes\n\nThe reason: it was slow.\nNote: call back at 10:30.\nSee https://x.example\n"
    [doc] = parse_file("notes.txt", data)
    assert doc.turns == []
    assert doc.text == data.decode().strip()


def test_bracket_timestamps_start_turns_when_hours_or_minutes() -> None:
    data = (
        b"[00:00:05] Agent: Thanks for calling.\n"
        b"[00:07] Caller: My SIM isn't working.\n"
        b"[01:02:03] still nothing after the restart\n"
        b"Kim Lee (1:05:00): I can help.\n"
    )
    [doc] = parse_file("call.txt", data)
    assert [turn.speaker for turn in doc.turns] == ["Agent", "Caller", "Caller", "Kim Lee"]
    assert [turn.started_at_ms for turn in doc.turns] == [5_000, 7_000, 3_723_000, 3_900_000]
    assert doc.turns[0].ended_at_ms == 7_000
    assert _said(doc, 2) == "still nothing after the restart"
    assert "[00:00:05]" not in doc.text
    assert doc.text.splitlines()[0] == "Agent: Thanks for calling."


def test_bad_bracket_timestamp_names_its_line_when_out_of_range() -> None:
    data = b"[00:01] Agent: Hello.\n[00:75] Caller: Hi.\n"
    with pytest.raises(ParseError) as caught:
        parse_file("call.txt", data)
    assert caught.value.line == 2
    assert "call.txt line 2" in str(caught.value)
    assert "not a time" in caught.value.message


def test_offsets_index_the_normalised_text_when_input_has_crlf_and_decomposed_accents() -> None:
    decomposed = unicodedata.normalize("NFD", "Zoë")
    data = f"\ufeffP07: I am {decomposed}.\r\nP07: Still {decomposed}.\r\nR1: Thanks.\r\n"
    [doc] = parse_file("p07.txt", data.encode("utf-8"))
    assert "\r" not in doc.text
    assert _said(doc, 0) == "I am Zoë."
    assert _said(doc, 0) == unicodedata.normalize("NFC", _said(doc, 0))
    assert doc.speakers == ["P07", "R1"]


def test_cp1252_text_decodes_when_saved_by_windows() -> None:
    [doc] = parse_file("windows_cp1252.txt", _fixture("windows_cp1252.txt"))
    assert "café" in doc.text
    assert "“switch in a day”" in doc.text
    assert _said(doc, 3) == "It took three. I’d call that “a day” only in marketing terms."
    assert doc.speakers == ["Interviewer", "Customer"]


def test_utf16_text_decodes_when_it_has_a_bom() -> None:
    [doc] = parse_file("utf16.txt", _fixture("utf16.txt"))
    assert doc.speakers == ["Interviewer", "Customer 2"]
    assert _said(doc, 1) == "Clear. It even spelled my name right: Zoë Núñez."
    assert not doc.text.startswith("\ufeff")


def test_utf16_text_decodes_when_it_has_no_bom() -> None:
    data = "Interviewer: Hi.\nCustomer: Hello, café.\nInterviewer: Bye.\n".encode("utf-16-le")
    [doc] = parse_file("nobom.txt", data)
    assert _said(doc, 1) == "Hello, café."


def test_html_uploaded_as_txt_is_kept_as_text_when_decodable() -> None:
    [doc] = parse_file("page.txt", b"<html><body><p>Hello</p></body></html>\n")
    assert doc.text == "<html><body><p>Hello</p></body></html>"


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \r\n\t\n", "empty"),
        ("binary.txt", _fixture("binary.txt"), "looks like a binary file, not text"),
        ("report.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "looks like a binary file"),
        ("controls.txt", b"ab\x01\x02\x03\x04cd\x05\x06\x07\x08" * 20, "binary"),
    ],
)
def test_bad_text_is_refused_naming_the_file_when_uploaded(
    name: str, data: bytes, problem: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(name, data)
    assert caught.value.filename == name
    assert problem in caught.value.message
    assert str(caught.value).startswith(f"{name}: ")


def test_text_over_the_limit_is_refused_when_too_long() -> None:
    with pytest.raises(ParseError) as caught:
        parse_file("long.txt", b"word " * 100, ParseOptions(max_chars=200))
    assert "limit is 200" in caught.value.message
    assert caught.value.as_error() == {"file": "long.txt", "message": caught.value.message}


@pytest.mark.parametrize("name", ["slides.pdf", "README", "photo.JPG"])
def test_unsupported_extension_is_refused_listing_supported_ones_when_uploaded(name: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(name, b"%PDF-1.4")
    assert name in str(caught.value)
    assert all(extension in caught.value.message for extension in SUPPORTED_EXTENSIONS)


def test_extension_is_matched_case_insensitively_when_uppercase() -> None:
    [doc] = parse_file("NOTES.TXT", b"Just a note.")
    assert doc.text == "Just a note."
    assert doc.turns == []


_WORDS = st.text(alphabet=st.sampled_from("abc xyz.,:'é10\t"), min_size=1, max_size=30).filter(
    lambda words: words.strip()
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["Interviewer", "P07", "Maya Patel", "Note", ""]), _WORDS),
        min_size=1,
        max_size=25,
    )
)
def test_turns_are_ordered_and_hold_exactly_the_words_when_lines_are_arbitrary(lines) -> None:
    data = "\n".join(f"{who}: {words}" if who else words for who, words in lines).encode()
    [doc] = parse_file("random.txt", data)
    previous_end = 0
    for turn in doc.turns:
        assert previous_end <= turn.start < turn.end <= len(doc.text)
        said = doc.text[turn.start : turn.end]
        assert said == said.strip()
        assert doc.text[: turn.start].endswith(f"{turn.speaker}: ")
        previous_end = turn.end
    spoken = [words.strip() for who, words in lines if who in {"Interviewer", "P07"}]
    assert all(words in doc.text for words in spoken)
