"""`.vtt` and `.srt` captions (webvtt-py, read from a buffer) to speaker turns. Pure.

The speaker of a cue is its `<v Name>` voice tag (Teams), else a `Name: ` prefix on its text
(Zoom), else the previous cue's speaker. Consecutive cues by the same speaker merge into one
turn that keeps the first start and the last end; a cue's own line breaks are display wrapping
and become spaces. Captions without any speaker (plain subtitles) give one turn per cue with an
empty speaker, so each keeps its timestamps. Turns are rendered as in turns.py (`Name: words`,
one per line, offsets on the words).
"""

import io
import re
from collections import Counter

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from observations.importers.base import ParsedDocument, ParseError, ParseOptions
from observations.importers.decode import check_length, decode_text
from observations.importers.plaintext import title_from
from observations.importers.turns import RawTurn, looks_like_speaker, render

_PREFIX = re.compile(r"^(?P<label>[^\W\d_][^:\n]{0,48}?)\s*:\s+(?P<words>\S.*)$", re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")
_CUE_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_CUE_TIME}\s*-->\s*{_CUE_TIME}(?:\s.*)?$")
_ZOOM_NAME = re.compile(r"[\w'’.@()\-]+(?: [\w'’.@()\-]+){0,4}")
_SPEAKER_MAX = 128  # SpeakerTurn.speaker's length


def parse_vtt(filename: str, data: bytes, options: ParseOptions) -> list[ParsedDocument]:
    """One transcript from WebVTT captions (Teams voice tags or Zoom name prefixes)."""
    return _parse(filename, data, options, "vtt")


def parse_srt(filename: str, data: bytes, options: ParseOptions) -> list[ParsedDocument]:
    """One transcript from SubRip captions (`Name: ` prefixes recognised)."""
    return _parse(filename, data, options, "srt")


def _parse(filename: str, data: bytes, options: ParseOptions, fmt: str) -> list[ParsedDocument]:
    text = decode_text(filename, data, max_chars=options.max_chars)
    label = "WebVTT" if fmt == "vtt" else "SubRip (.srt)"
    if fmt == "srt" and not re.match(r"\s*\d+\s*\n[^\n]*-->", text):
        raise ParseError(filename, f"not a valid {label} file: it does not start with a cue")
    _check_timings(filename, text)
    try:
        captions = webvtt.from_buffer(io.StringIO(text), format=fmt).captions
    except (MalformedFileError, MalformedCaptionError) as error:
        raise ParseError(filename, f"not a valid {label} file: {error}") from None
    texts = [_plain(caption.raw_text) for caption in captions]
    prefixes = Counter(m.group("label").strip() for text in texts if (m := _PREFIX.match(text)))
    cues: list[tuple[str | None, str, int, int]] = []
    for caption, text in zip(captions, texts, strict=True):
        speaker, words = _speaker_and_words(caption.voice, text, prefixes)
        if words:
            start = caption.start_time.in_milliseconds()
            cues.append((speaker, words, start, caption.end_time.in_milliseconds()))
    if not cues:
        raise ParseError(filename, f"the {label} file has no captions")
    turns = _merge(cues)
    body, parsed = render([], turns)
    check_length(filename, body, options.max_chars)
    return [ParsedDocument(title=title_from(filename), text=body, turns=parsed)]


def _check_timings(filename: str, text: str) -> None:
    """Every `-->` line must be a valid timing: the library would silently drop the cue."""
    for number, line in enumerate(text.split("\n"), start=1):
        if "-->" not in line:
            continue
        match = _TIMING.match(line)
        start, end = (_ms(match.groups()[at : at + 4]) if match else None for at in (0, 4))
        if start is None or end is None:
            message = f"the cue timing {line.strip()[:60]!r} is not valid"
            raise ParseError(filename, message, line=number)
        if end < start:
            raise ParseError(filename, "the cue ends before it starts", line=number)


def _ms(parts: tuple[str | None, ...]) -> int | None:
    hours, minutes, seconds, fraction = parts
    if int(minutes or 0) >= 60 or int(seconds or 0) >= 60:
        return None
    total = (int(hours or 0) * 60 + int(minutes or 0)) * 60 + int(seconds or 0)
    return total * 1000 + int((fraction or "0").ljust(3, "0"))


def _plain(raw: str) -> str:
    """Cue text without tags, its display line breaks read as spaces."""
    return " ".join(_TAGS.sub("", raw).split())


def _speaker_and_words(
    voice: str | None, words: str, prefixes: Counter[str]
) -> tuple[str | None, str]:
    if voice:
        return voice.strip()[:_SPEAKER_MAX], words
    match = _PREFIX.match(words)
    if match is None:
        return None, words
    label = match.group("label").strip()
    # Zoom prints display names as typed ("jsmith", "iPhone de Ana"): a label that prefixes
    # several cues is a speaker even when it does not look like a name.
    recurring = prefixes[label] >= 2 and _ZOOM_NAME.fullmatch(label) is not None
    if looks_like_speaker(label) or recurring:
        return label[:_SPEAKER_MAX], match.group("words").strip()
    return None, words


def _merge(cues: list[tuple[str | None, str, int, int]]) -> list[RawTurn]:
    if all(speaker is None for speaker, *_ in cues):
        return [RawTurn("", [words], start, end) for _, words, start, end in cues]
    turns: list[RawTurn] = []
    for speaker, words, start, end in cues:
        who = speaker if speaker is not None else (turns[-1].speaker if turns else "")
        if turns and turns[-1].speaker == who and who:
            turns[-1].lines[-1] += " " + words
            turns[-1].ended_at_ms = end
        else:
            turns.append(RawTurn(who, [words], start, end))
    return turns
