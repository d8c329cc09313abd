"""Pure helpers for erasure: same-length masks, the ranges a person occupies in a shared text,
and scrubbing names out of JSON. No ORM."""

import re
from collections.abc import Callable, Iterable
from typing import Any

ERASED = "[erased]"
MIN_NEEDLE = 2


def mask(length: int) -> str:
    """A replacement exactly `length` characters long, so every other offset stays valid:
    "[erased]" padded with spaces, or "[***]"-style when the span is shorter than that."""
    if length >= len(ERASED):
        return ERASED + " " * (length - len(ERASED))
    if length >= 2:
        return "[" + "*" * (length - 2) + "]"
    return "*" * length


def apply_masks(text: str, ranges: Iterable[tuple[int, int]]) -> str:
    """`text` with every `[start, end)` in `ranges` masked; overlapping ranges are merged first."""
    chars = text
    for start, end in merge(ranges):
        chars = chars[:start] + mask(end - start) + chars[end:]
    return chars


def merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping, non-empty ranges covering the same characters."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlaps(start: int, end: int, ranges: Iterable[tuple[int, int]]) -> bool:
    """True when `[start, end)` shares a character with one of `ranges`."""
    return any(start < r_end and r_start < end for r_start, r_end in ranges)


def label_range(text: str, turn_start: int, speaker: str) -> tuple[int, int] | None:
    """Where the turn's `Name:` label stands on its line before the spoken words, if it does
    (importers write `Name: words`; the turn's range covers the words only)."""
    if not speaker:
        return None
    line_start = text.rfind("\n", 0, turn_start) + 1
    at = text.find(speaker, line_start, turn_start)
    return (at, at + len(speaker)) if at >= 0 else None


def needle_pattern(needles: Iterable[str]) -> re.Pattern[str] | None:
    """A case-insensitive whole-word pattern for every needle of at least two characters,
    longest first (so "Ann Lee" is found before "Ann"); None when there is nothing to find."""
    words = sorted(
        {n.strip() for n in needles if len(n.strip()) >= MIN_NEEDLE}, key=len, reverse=True
    )
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def scrub_text(text: str, pattern: re.Pattern[str] | None) -> str:
    """`text` with every needle replaced by "[erased]" (lengths may change: free text only)."""
    return pattern.sub(ERASED, text) if pattern is not None and text else text


def needle_spans(text: str, pattern: re.Pattern[str] | None) -> list[tuple[int, int]]:
    """Where the needles stand in `text`, for same-length masking of a document."""
    return [m.span() for m in pattern.finditer(text)] if pattern is not None else []


def scrub_json(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """A copy of a JSON value with needles scrubbed out of every string, keys included."""
    if isinstance(value, str):
        return scrub_text(value, pattern)
    if isinstance(value, list):
        return [scrub_json(item, pattern) for item in value]
    if isinstance(value, dict):
        return {scrub_text(str(k), pattern): scrub_json(v, pattern) for k, v in value.items()}
    return value


def drop_rows(state: Any, keep: Callable[[str, dict[str, Any]], bool], lists: Iterable[str]) -> Any:
    """A `{"excerpts": [row, ...], ...}` snapshot (or a bare list of rows, under key "") without
    the rows `keep(list_name, row)` rejects."""
    if isinstance(state, list):
        return [row for row in state if not isinstance(row, dict) or keep("", row)]
    if not isinstance(state, dict):
        return state
    result = dict(state)
    for name in lists:
        rows = result.get(name)
        if isinstance(rows, list):
            result[name] = [row for row in rows if not isinstance(row, dict) or keep(name, row)]
    return result
