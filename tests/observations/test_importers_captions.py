"""The .vtt (Teams voice tags, Zoom name prefixes) and .srt parsers: turns, merging, times."""

from pathlib import Path

import pytest

from observations.importers import ParseError, parse_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _said(doc, index: int) -> str:
    turn = doc.turns[index]
    return doc.text[turn.start : turn.end]


def test_teams_vtt_merges_cues_into_turns_when_the_same_voice_continues() -> None:
    [doc] = parse_file("onboarding_teams.vtt", _fixture("onboarding_teams.vtt"))
    assert len(doc.turns) == 30
    assert doc.speakers == ["Jordan Reyes", "Maya Patel"]
    assert _said(doc, 0) == (
        "Thanks for making time today, Maya. As I said in the email, this is about how your "
        "first few weeks with us went, from signing up until now. There are no right or wrong "
        "answers."
    )
    assert "<v" not in doc.text
    assert "</v>" not in doc.text


def test_teams_vtt_turn_keeps_first_start_and_last_end_when_merged() -> None:
    [doc] = parse_file("onboarding_teams.vtt", _fixture("onboarding_teams.vtt"))
    first, second = doc.turns[0], doc.turns[1]
    assert (first.started_at_ms, first.ended_at_ms) == (400, 13_699)  # three cues
    assert (second.started_at_ms, second.ended_at_ms) == (72_400, 77_720)
    assert doc.turns[-1].speaker == "Maya Patel"
    assert _said(doc, -1).startswith("That was the saga.")
    assert doc.turns[-1].started_at_ms == 1_605_400


def test_zoom_vtt_reads_speakers_from_prefixes_when_no_voice_tags() -> None:
    [doc] = parse_file("onboarding_zoom.vtt", _fixture("onboarding_zoom.vtt"))
    assert len(doc.turns) == 16
    assert doc.speakers == ["Jordan Reyes", "Maya Patel", "Sam Okafor"]
    assert _said(doc, 0) == "You mentioned earlier that you also took broadband with us?"
    assert doc.turns[0].started_at_ms == 2_092_400
    assert doc.turns[-1].speaker == "Sam Okafor"
    assert _said(doc, -1) == "No problem. I'll leave you to it."
    assert doc.text.splitlines()[0] == (
        "Jordan Reyes: You mentioned earlier that you also took broadband with us?"
    )


def test_srt_with_crlf_gives_turns_in_ms_when_speakers_prefixed() -> None:
    [doc] = parse_file("onboarding.srt", _fixture("onboarding.srt"))
    assert len(doc.turns) == 14
    assert doc.speakers == ["Jordan Reyes", "Maya Patel"]
    assert _said(doc, 0) == "Maya, let's talk about the first bill. How did that go?"
    assert (doc.turns[0].started_at_ms, doc.turns[0].ended_at_ms) == (2_991_400, 2_995_580)
    assert doc.turns[-1].started_at_ms == 3_697_400  # past the hour
    assert _said(doc, -1) == "Thanks, Jordan. Good luck with it."
    assert "\r" not in doc.text


def test_subtitles_without_speakers_give_one_unnamed_turn_per_cue_when_imported() -> None:
    data = (
        b"1\n00:00:01,000 --> 00:00:02,500\nWelcome to your new\nbroadband.\n\n"
        b"2\n00:00:03,000 --> 00:00:04,000\n<i>Plug in the router.</i>\n"
    )
    [doc] = parse_file("howto.srt", data)
    assert doc.text == "Welcome to your new broadband.\nPlug in the router."
    assert [turn.speaker for turn in doc.turns] == ["", ""]
    assert [(t.started_at_ms, t.ended_at_ms) for t in doc.turns] == [(1000, 2500), (3000, 4000)]
    assert _said(doc, 1) == "Plug in the router."


def test_unprefixed_cue_continues_the_previous_speaker_when_speakers_are_known() -> None:
    data = (
        b"WEBVTT\n\n00:01.000 --> 00:02.000\nAnn Lee: The app\n\n"
        b"00:02.000 --> 00:03.000\nwould not log in.\n\n"
        b"NOTE an editor comment\n\n"
        b"00:03.000 --> 00:04.000\n<v Bob>Which app?</v>\n"
    )
    [doc] = parse_file("call.vtt", data)
    assert [turn.speaker for turn in doc.turns] == ["Ann Lee", "Bob"]
    assert _said(doc, 0) == "The app would not log in."
    assert (doc.turns[0].started_at_ms, doc.turns[0].ended_at_ms) == (1000, 3000)
    assert "editor comment" not in doc.text


@pytest.mark.parametrize(
    ("name", "data", "problem", "line"),
    [
        ("notes.vtt", b"Just some text\n", "not a valid WebVTT file", None),
        ("empty.vtt", b"WEBVTT\n\n", "has no captions", None),
        ("bad.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:0x:02.000\nhi\n", "is not valid", 3),
        ("back.vtt", b"WEBVTT\n\n00:05.000 --> 00:01.000\nhi\n", "ends before it starts", 3),
        ("notes.srt", b"Interviewer: hello\n", "not a valid SubRip", None),
        (
            "bad.srt",
            b"1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\n00:00:0x --> yy\nthere\n",
            "is not valid",
            6,
        ),
        ("zero.srt", b"", "empty", None),
        ("binary.vtt", b"WEBVTT\n\x00\x01\x02\x03" * 40, "binary", None),
    ],
)
def test_bad_captions_are_refused_naming_file_and_line_when_malformed(
    name: str, data: bytes, problem: str, line: int | None
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(name, data)
    assert caught.value.filename == name
    assert problem in caught.value.message
    assert caught.value.line == line


def test_zoom_display_names_are_speakers_when_they_prefix_several_cues() -> None:
    data = (
        b"WEBVTT\n\n1\n00:01.000 --> 00:02.000\njsmith: hello <i>th</i>ere\n\n"
        b"2\n00:02.000 --> 00:03.000\niPhone de Ana: hi\n\n"
        b"3\n00:03.000 --> 00:04.000\njsmith: ok\n\n"
        b"4\n00:04.000 --> 00:05.000\niPhone de Ana: Note: this\n"
    )
    [doc] = parse_file("zoom.vtt", data)
    assert [turn.speaker for turn in doc.turns] == [
        "jsmith",
        "iPhone de Ana",
        "jsmith",
        "iPhone de Ana",
    ]
    assert _said(doc, 0) == "hello there"
    assert _said(doc, 3) == "Note: this"
