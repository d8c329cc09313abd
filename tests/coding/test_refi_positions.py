"""Position units: any tool's counting converts to code points of the normalised text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coding.refi.positions import (
    COUNTINGS,
    SPEC,
    Counting,
    PositionMap,
    Span,
    candidates,
    choose_counting,
)
from observations.text import normalise_text

# Whole characters as a tool sees them: emoji (two UTF-16 units, some two code points), a
# decomposed é (NFC joins it), line endings both ways.
TOKENS = ["a", "b", " ", "é", "e\u0301", "😀", "👍🏽", "\u4e2d", "\n", "\r\n", "ﬁ", "Å"]
texts = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=40)


def tool_position(raw: str, index: int, counting: Counting) -> int:
    """How a tool counting `counting` numbers raw code-point index `index` (independently)."""
    prefix = raw[:index]
    units = len(prefix.encode("utf-16-le")) // 2 if counting.unit == "utf16" else len(prefix)
    return units - prefix.count("\r\n") if counting.crlf_as_one else units


@settings(max_examples=150, deadline=None)
@given(tokens=texts, data=st.data(), bom=st.booleans())
def test_every_counting_reads_back_to_the_same_code_point_spans(
    tokens: list[str], data: st.DataObject, bom: bool
) -> None:
    raw = "".join(tokens)
    cuts = [len("".join(tokens[:i])) for i in range(len(tokens) + 1)]
    i, j = sorted(data.draw(st.lists(st.integers(0, len(tokens)), min_size=2, max_size=2)))
    expected = (len(normalise_text(raw[: cuts[i]])), len(normalise_text(raw[: cuts[j]])))
    stored = normalise_text(("\ufeff" if bom else "") + raw)
    for counting in COUNTINGS:
        mapping = PositionMap(raw, counting)
        assert mapping.text == stored
        start = tool_position(raw, cuts[i], counting)
        end = tool_position(raw, cuts[j], counting)
        result = mapping.convert(start, end)
        if expected[0] < expected[1]:
            assert result == expected, (counting, raw, start, end)
            assert stored[result[0] : result[1]] == normalise_text(raw[cuts[i] : cuts[j]])
        else:
            assert result is None


@settings(max_examples=100, deadline=None)
@given(tokens=texts, data=st.data())
def test_quoted_names_recover_the_spans_whatever_the_tool_counted(
    tokens: list[str], data: st.DataObject
) -> None:
    raw = "".join(tokens) + " tail words here"
    cuts = [len("".join(tokens[:i])) for i in range(len(tokens) + 1)] + [len(raw)]
    counting = data.draw(st.sampled_from(COUNTINGS))
    stored = normalise_text(raw)
    spans, expected = [], []
    for _ in range(3):
        i, j = sorted(data.draw(st.lists(st.integers(0, len(cuts) - 1), min_size=2, max_size=2)))
        a, b = len(normalise_text(raw[: cuts[i]])), len(normalise_text(raw[: cuts[j]]))
        if a < b:
            name = stored[a:b]
            spans.append(
                Span(
                    tool_position(raw, cuts[i], counting),
                    tool_position(raw, cuts[j], counting),
                    name,
                )
            )
            expected.append((a, b))
    chosen = choose_counting(raw, spans, origin="")
    mapping = PositionMap(raw, chosen)
    got = [mapping.convert(span.start, span.end) for span in spans]
    # A different counting may be chosen only when it reads these spans the same way.
    for span, want, have in zip(spans, expected, got, strict=True):
        if len(" ".join(span.name.split())) >= 4:
            assert have is not None
            assert " ".join(stored[have[0] : have[1]].split()).startswith(
                " ".join(span.name.split())
            )
        else:
            assert want[0] < want[1]


def test_only_countings_that_differ_are_candidates() -> None:
    assert candidates("plain ascii\n") == [SPEC]
    assert candidates("emoji 😀") == [SPEC, Counting("utf16")]
    assert candidates("windows\r\nlines") == [SPEC, Counting(crlf_as_one=True)]
    assert len(candidates("both 😀\r\n")) == 4


def test_position_beyond_code_points_is_evidence_for_utf16() -> None:
    raw = "I love it 😀😀 really"
    # The whole text in UTF-16 units is 2 longer than in code points.
    spans = [Span(10, len(raw) + 2, "Quote 1")]
    assert choose_counting(raw, spans, origin="QualCoder 3.1") == Counting("utf16")


def test_origin_breaks_a_tie_and_the_spec_wins_without_one() -> None:
    raw = "first 😀 line\r\nsecond line"
    spans = [Span(0, 5, "Quote 1")]  # fits every counting, names nothing
    assert choose_counting(raw, spans, origin="NVivo 14") == Counting("utf16", crlf_as_one=True)
    assert choose_counting(raw, spans, origin="ATLAS.ti 9") == Counting("utf16")
    assert choose_counting(raw, spans, origin="SomeTool") == SPEC


def test_quoted_name_outweighs_the_origin_hint() -> None:
    raw = "😀😀 x\r\nthe words we want"
    start = raw.index("the")
    # Written in code points with CRLF as two, though the origin says NVivo.
    spans = [Span(start, start + 9, "the words…")]
    assert choose_counting(raw, spans, origin="NVivo") == SPEC


def test_convert_refuses_out_of_range_inverted_and_split_spans() -> None:
    mapping = PositionMap("ab😀cd", Counting("utf16"))
    assert mapping.convert(0, 7) is None  # beyond the end (6 units)
    assert mapping.convert(4, 2) is None  # inverted
    assert mapping.convert(3, 5) is None  # starts inside the surrogate pair
    assert mapping.convert(2, 4) == (2, 3)  # the emoji alone


def test_crlf_and_nfc_shift_positions_into_the_stored_text() -> None:
    raw = "cafe\u0301\r\nnext"
    mapping = PositionMap(raw, SPEC)
    assert mapping.text == "café\nnext"
    assert mapping.convert(7, 11) == (5, 9)
    assert mapping.text[5:9] == "next"
    assert mapping.convert(0, 5) == (0, 4)  # "café", its combining mark included
