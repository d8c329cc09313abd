"""Speaker turns from lines of text: shared by .txt, .docx and .odt. Pure.

Recognised line shapes (one file may mix the last three):

- Otter.ai: `Speaker Name  MM:SS` (or `H:MM:SS`) alone on a line, the paragraph on the next
  line(s). A header block (title, SUMMARY KEYWORDS, SPEAKERS) before the first speaker line is
  dropped, and so is the closing "Transcribed by https://otter.ai".
- `Name: words`, `[hh:mm:ss] Name: words`, `[mm:ss] Name: words` and Rev's `Name (mm:ss): words`.
  A bracketed time with no name starts a new turn by the previous speaker.
- Lines that are not a turn start continue the previous turn; before the first turn they form a
  preamble kept in the text but in no turn.

A label is a speaker only if it looks like one: 1-4 words, the first capitalised, the others
capitalised, numbers ("Customer 2") or name particles ("van", "de"); labels such as "P07" too;
optionally a bracketed remark ("Maya (customer)"). It must also recur, be a role such as
"Interviewer", follow a timestamp, or (two or three words) join speakers already found; and its
first word must not be a stop word like "Note" or "Date". The colon must be followed by a
space or the line end, so "10:30" and "https://..." never start a turn.

Rendering (what `render` guarantees): each turn becomes `Name: words` and turns are separated by
one `\\n`; a turn's lines are joined by `\\n`. `ParsedTurn.start/end` cover the words only, never
the label or a timestamp, so `text[turn.start:turn.end]` is exactly what was said. Timestamps are
starts; a turn ends when the next one starts (the last turn's end is unknown). Text with no
speakers is returned as it was (outer whitespace stripped) with NO turns: a single anonymous
turn would claim to know who spoke.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from observations.importers.base import ParsedTurn, ParseError

_TIME = r"(?:\d{1,2}:)?\d{1,3}:\d{2}(?:[.,]\d{1,3})?"
_OTTER_LINE = re.compile(rf"^(?P<label>\S.*?)\s+(?P<ts>{_TIME})\s*$")
_STAMP = re.compile(
    rf"^\s*(?:\[(?P<b>{_TIME})\]|\((?P<p>{_TIME})\)|(?P<bare>{_TIME}))\s*(?P<rest>.*)$"
)
_LABEL_LINE = re.compile(
    rf"^\s*(?P<label>[^\W\d_][^:\n]{{0,48}}?)(?:\s*[\[(](?P<ts>{_TIME})[\])])?"
    r"\s*:(?:\s+(?P<words>.*)|\s*$)"
)
_OTTER_HEADER = re.compile(r"^\s*(SUMMARY KEYWORDS|SPEAKERS)\s*$")
_OTTER_FOOTER = re.compile(r"^\s*Transcribed by\s+https?://otter\.ai\s*$", re.IGNORECASE)
_PARTICLES = frozenset(
    ("van", "von", "de", "der", "den", "da", "di", "del", "della", "du", "la", "le", "dos", "das")
)
_NUMBER = re.compile(r"^\d{1,3}$")
_REMARK = re.compile(r"\s*[(\[][\w'’ .\-]{1,30}[)\]]$")
_ROLE = re.compile(
    r"^(interviewer|interviewee|moderator|facilitator|researcher|participant|respondent|customer|"
    r"client|agent|caller|host|guest|speaker|unknown speaker|[pr]\d{1,3})( \d{1,3})?$",
    re.IGNORECASE,
)
_STOP = frozenset(
    (
        *("note", "notes", "nb", "ps", "p.s", "date", "time", "location", "place", "re"),
        *("subject", "title", "tip", "warning", "caution", "example", "summary", "keywords"),
        *("speakers", "agenda", "attendees", "participants", "duration", "recording"),
        *("transcript", "source", "link", "url", "email", "e-mail", "phone", "address"),
        *("update", "important", "todo", "action", "actions", "step", "goal", "goals"),
        *("context", "topic", "session", "project", "study", "total", "result", "results"),
    )
)


@dataclass
class RawTurn:
    """A turn while parsing: its speaker, word lines and times (end: when the source says)."""

    speaker: str
    lines: list[str] = field(default_factory=list)
    started_at_ms: int | None = None
    ended_at_ms: int | None = None


@lru_cache(maxsize=4096)  # a transcript repeats a handful of labels thousands of times
def looks_like_speaker(label: str) -> bool:
    """True when `label` has the shape of a speaker name or role (not whether it recurs).

    A short trailing remark in brackets is allowed: "Maya (customer)", "Jordan [moderator]".
    """
    remark = _REMARK.search(label)
    if remark:
        label = label[: remark.start()]
    tokens = label.split()
    if not 1 <= len(tokens) <= 4 or len(label) > 40:
        return False
    if not tokens[0][0].isupper() or tokens[0].lower().rstrip(".") in _STOP:
        return False
    for token in tokens[1:]:
        if not (token[0].isupper() or _NUMBER.match(token) or token in _PARTICLES):
            return False
    return all(re.fullmatch(r"[\w'’.\-]+", token) for token in tokens)


def parse_time_ms(value: str) -> int | None:
    """`H:MM:SS`, `MM:SS` (optionally `.mmm` or `,mmm`) to milliseconds; None if out of range."""
    main, _, fraction = value.replace(",", ".").partition(".")
    parts = [int(part) for part in main.split(":")]
    if parts[-1] >= 60 or (len(parts) == 3 and parts[1] >= 60):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds * 1000 + (int(fraction.ljust(3, "0")[:3]) if fraction else 0)


def parse_lines(filename: str, lines: list[str]) -> tuple[str, list[ParsedTurn]]:
    """Text and speaker turns from `lines` (already normalised). See the module docstring."""
    otter = _otter_turns(lines)
    if otter is not None:
        return render(*otter)
    speakers = _speakers(lines)
    if not speakers:
        return "\n".join(lines).strip(), []
    preamble: list[str] = []
    turns: list[RawTurn] = []
    for number, line in enumerate(lines, start=1):
        turn = _turn_start(filename, number, line, speakers, turns[-1] if turns else None)
        if turn is not None:
            turns.append(turn)
        elif line.strip():
            (turns[-1].lines if turns else preamble).append(line.strip())
    return render(preamble, turns)


def render(preamble: list[str], turns: list[RawTurn]) -> tuple[str, list[ParsedTurn]]:
    """Write `Name: words` turns after the preamble; turns point at the words (module docstring)."""
    parts: list[str] = ["\n".join(preamble)] if preamble else []
    offset = len(parts[0]) + 1 if parts else 0
    kept: list[tuple[RawTurn, int, int]] = []
    for turn in turns:
        words = "\n".join(line for line in turn.lines if line)
        if not words:
            continue  # a label with nothing said carries no text to code
        prefix = f"{turn.speaker}: " if turn.speaker else ""
        kept.append((turn, offset + len(prefix), offset + len(prefix) + len(words)))
        parts.append(prefix + words)
        offset += len(prefix) + len(words) + 1
    parsed = []
    for index, (turn, start, end) in enumerate(kept):
        following = kept[index + 1][0].started_at_ms if index + 1 < len(kept) else None
        ended = turn.ended_at_ms
        if ended is None and turn.started_at_ms is not None:
            ended = following
        parsed.append(ParsedTurn(turn.speaker, start, end, turn.started_at_ms, ended))
    return "\n".join(parts), parsed


def _speakers(lines: list[str]) -> set[str]:
    counts: Counter[str] = Counter()
    stamped: set[str] = set()  # a label after a timestamp is a speaker even if heard once
    for line in lines:
        stamp = _STAMP.match(line)
        match = _LABEL_LINE.match(stamp.group("rest") if stamp else line)
        if match and looks_like_speaker(label := match.group("label").strip()):
            counts[label] += 1
            if stamp or match.group("ts"):
                stamped.add(label)
    sure = {label for label, n in counts.items() if n >= 2 or _ROLE.match(label)} | stamped
    if not sure:
        return set()
    # Someone who speaks once (a colleague walking in) joins speakers already established, if
    # named in two or three words: a lone "Why:" or "Also:" mid-answer is not a speaker.
    return sure | {label for label in counts if 2 <= len(label.split()) <= 3}


def _turn_start(
    filename: str, number: int, line: str, speakers: set[str], previous: RawTurn | None
) -> RawTurn | None:
    stamp = _STAMP.match(line)
    rest, started = line, None
    if stamp:
        started = parse_time_ms(stamp.group("b") or stamp.group("p") or stamp.group("bare"))
        if started is None and not stamp.group("bare"):
            raise ParseError(
                filename, f"the timestamp in {line.strip()[:30]!r} is not a time", line=number
            )
        rest = stamp.group("rest")
    match = _LABEL_LINE.match(rest)
    if match and match.group("label").strip() in speakers:
        if match.group("ts"):
            started = parse_time_ms(match.group("ts"))
        words = (match.group("words") or "").strip()
        return RawTurn(
            match.group("label").strip(), [words], started if stamp or match.group("ts") else None
        )
    if stamp and not stamp.group("bare"):
        return RawTurn(previous.speaker if previous else "", [rest.strip()], started)
    return None


def _otter_turns(lines: list[str]) -> tuple[list[str], list[RawTurn]] | None:
    heads = [
        (index, match)
        for index, line in enumerate(lines)
        if (match := _OTTER_LINE.match(line))
        and looks_like_speaker(match.group("label").strip())
        and parse_time_ms(match.group("ts")) is not None
    ]
    first = heads[0][0] if heads else len(lines)
    has_header = any(_OTTER_HEADER.match(line) for line in lines[:first])
    if len(heads) < 2 and not (heads and has_header):
        return None
    preamble = [] if has_header else [line.strip() for line in lines[:first] if line.strip()]
    turns: list[RawTurn] = []
    bounds = [index for index, _ in heads] + [len(lines)]
    for (index, match), stop in zip(heads, bounds[1:], strict=True):
        body = [line.strip() for line in lines[index + 1 : stop] if not _OTTER_FOOTER.match(line)]
        turns.append(RawTurn(match.group("label").strip(), body, parse_time_ms(match.group("ts"))))
    return preamble, turns
