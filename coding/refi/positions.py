"""Text positions as the exporting tool counted them -> code points of Verbatim's stored text.

The spec counts Unicode code points (section 10.2), but tools count in the unit their platform's
strings use: .NET, Java, Qt, Cocoa and JavaScript strings are UTF-16, where a character outside
the Basic Multilingual Plane (most emoji) is two units; and a tool whose text control keeps line
breaks as one character counts CRLF as one. So each source's positions are read in one of four
*countings* — {code points, UTF-16 units} x {CRLF as two, CRLF as one} — and only those that
differ for that text are weighed (ASCII text without CRLF has one answer).

Design note — choosing the counting, per source:
1. Feasibility. A counting under which some selection ends beyond the text, or starts or ends
   inside a surrogate pair, is ruled out while another counting fits every selection.
2. Quotes. Tools that name a selection after the words it selects (ATLAS.ti writes the quote,
   cut short with "…") let us check: a counting scores one point for each selection whose text,
   read in that counting, starts with its name (whitespace runs compared as one space).
3. Origin. Still tied, the project's `origin` breaks the tie by `ORIGIN_HINTS` below (the
   platform each tool is built on; a hint, never trusted over evidence).
4. Otherwise the spec's code points, CRLF as two.

Positions are read against the raw text (BOM removed, as no tool counts it), then carried
through `normalise_text`'s changes (CRLF -> LF, lone CR -> LF, NFC) by an offset map.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from observations.text import BOM, normalise_text

Unit = Literal["codepoint", "utf16"]


@dataclass(frozen=True)
class Counting:
    unit: Unit = "codepoint"
    crlf_as_one: bool = False

    def describe(self) -> str:
        unit = "UTF-16 code units" if self.unit == "utf16" else "code points"
        return f"{unit}, CRLF as {'one' if self.crlf_as_one else 'two'}"


SPEC = Counting()
COUNTINGS = (SPEC, Counting("utf16"), Counting(crlf_as_one=True), Counting("utf16", True))

# Lower-case substring of `origin` -> the counting that tool is believed to use. Only a tie-break.
ORIGIN_HINTS: tuple[tuple[str, Counting], ...] = (
    ("nvivo", Counting("utf16", crlf_as_one=True)),  # .NET rich text box keeps a break as "\r"
    ("maxqda", Counting("utf16")),  # Qt QString
    ("atlas.ti", Counting("utf16")),  # .NET on Windows, NSString on macOS
    ("quirkos", Counting("utf16")),  # Qt
    ("dedoose", Counting("utf16")),  # JavaScript
    ("f4analyse", Counting("utf16")),  # Qt
    ("qualcoder", SPEC),  # Python str
    ("transana", SPEC),  # Python str
    ("verbatim", SPEC),  # Python str (this exporter)
)


@dataclass(frozen=True)
class Span:
    """A selection as the file gives it: positions in the tool's counting, and its name."""

    start: int
    end: int
    name: str = ""


def hint_for(origin: str) -> Counting | None:
    """The counting `ORIGIN_HINTS` gives for a project's `origin` attribute, if any."""
    lowered = origin.lower()
    return next((counting for key, counting in ORIGIN_HINTS if key in lowered), None)


class PositionMap:
    """Converts positions counted one way in `raw` (BOM already removed) into code-point
    positions in `normalise_text(raw)`. Every boundary between two code points is reachable."""

    def __init__(self, raw: str, counting: Counting) -> None:
        self.counting = counting
        self.raw = raw
        self.text = normalise_text(raw)
        # tool offset -> raw code-point index, for offsets that fall on a code-point boundary
        self._to_raw: dict[int, int] = {}
        offset = 0
        for index, char in enumerate(raw):
            self._to_raw.setdefault(offset, index)
            offset += _width(raw, index, char, counting)
        self._to_raw.setdefault(offset, len(raw))
        self.length = offset
        self._to_text = _raw_to_text(raw)

    def raw_index(self, position: int) -> int | None:
        """The raw code-point index at a tool position, or None off the text or mid-character."""
        return self._to_raw.get(position)

    def convert(self, start: int, end: int) -> tuple[int, int] | None:
        """`[start, end)` in code points of the normalised text, or None when the span is out
        of range, inverted, empty, or splits a character in this counting."""
        raw_start, raw_end = self.raw_index(start), self.raw_index(end)
        if raw_start is None or raw_end is None or raw_start >= raw_end:
            return None
        text_start, text_end = self._to_text[raw_start], self._to_text[raw_end]
        return (text_start, text_end) if text_start < text_end else None


def candidates(raw: str) -> list[Counting]:
    """The countings that give different positions for this text (the spec's always first)."""
    astral = any(ord(char) > 0xFFFF for char in raw)
    crlf = "\r\n" in raw
    return [
        c for c in COUNTINGS if (astral or c.unit == "codepoint") and (crlf or not c.crlf_as_one)
    ]


def choose_counting(raw: str, spans: Sequence[Span], origin: str = "") -> Counting:
    """The counting these spans were most likely written in (see the module's design note)."""
    options = candidates(raw)
    if len(options) == 1:
        return options[0]
    scored: list[tuple[int, int, Counting]] = []
    for counting in options:
        mapping = PositionMap(raw, counting)
        converted = [(span, mapping.convert(span.start, span.end)) for span in spans]
        fits = sum(1 for _, result in converted if result is not None)
        quotes = sum(
            1
            for span, result in converted
            if result is not None and _quotes(mapping.text[result[0] : result[1]], span.name)
        )
        scored.append((fits, quotes, counting))
    best = max((fits, quotes) for fits, quotes, _ in scored)
    tied = [counting for fits, quotes, counting in scored if (fits, quotes) == best]
    hint = hint_for(origin)
    if hint in tied:
        return hint
    return tied[0]


def _width(raw: str, index: int, char: str, counting: Counting) -> int:
    if char == "\r" and counting.crlf_as_one and raw[index + 1 : index + 2] == "\n":
        return 0  # the pair counts once, at its "\n"
    return 2 if counting.unit == "utf16" and ord(char) > 0xFFFF else 1


def _raw_to_text(raw: str) -> list[int]:
    """For each raw index 0..len(raw), the index in `normalise_text(raw)` it corresponds to.

    Line endings map exactly (both halves of a CRLF to its LF). NFC is applied per run that
    normalises alone (a starter and its combining marks); a position inside a run that NFC
    shortens maps to the run's start, so a span never cuts a composed character.
    """
    lines: list[int] = []  # raw index -> index after line-ending normalisation
    unix: list[str] = []
    for index, char in enumerate(raw):
        if char == "\r" and raw[index + 1 : index + 2] == "\n":
            lines.append(len(unix))  # the "\r" of a CRLF maps where its "\n" will be
            continue
        lines.append(len(unix))
        unix.append("\n" if char == "\r" else char)
    lines.append(len(unix))
    joined = "".join(unix)
    nfc = _nfc_map(joined)
    return [nfc[position] for position in lines]


def _nfc_map(text: str) -> list[int]:
    runs = _runs(text)
    if "".join(unicodedata.normalize("NFC", text[a:b]) for a, b in runs) != unicodedata.normalize(
        "NFC", text
    ):
        runs = _line_runs(text)  # a script whose composition crosses our runs: whole lines
    out: list[int] = []
    done = 0
    for a, b in runs:
        size = len(unicodedata.normalize("NFC", text[a:b]))
        if size == b - a:
            out.extend(range(done, done + size))
        else:
            out.extend([done] * (b - a))
        done += size
    out.append(done)
    return out


def _runs(text: str) -> list[tuple[int, int]]:
    starts = [i for i, char in enumerate(text) if i == 0 or not _continues(char)]
    return list(zip(starts, [*starts[1:], len(text)], strict=True)) if text else []


def _continues(char: str) -> bool:
    """Whether NFC may join `char` to what precedes it: combining marks and Hangul jamo."""
    return unicodedata.combining(char) != 0 or "\u1160" <= char <= "\u11ff" or char in _JOINERS


# Characters with combining class 0 that still compose with the character before them.
_JOINERS = frozenset(
    char
    for char in map(chr, range(0x300, 0x3000))
    if unicodedata.combining(char) == 0 and unicodedata.category(char) in {"Mc", "Mn"}
)


def _line_runs(text: str) -> list[tuple[int, int]]:
    runs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\n|[^\n]+$", text)]
    return runs


def _quotes(selected: str, name: str) -> bool:
    """Whether a selection's name is (the start of) its text: how ATLAS.ti names quotations."""
    name = " ".join(normalise_text(name).split()).removesuffix("…").removesuffix("...").strip()
    if len(name) < 4:
        return False
    return " ".join(selected.split()).startswith(name)


def strip_bom(text: str) -> str:
    """The text without a leading BOM, which no tool counts."""
    return text.removeprefix(BOM)
