"""Mapping offsets from a document's old text to its new text. Pure: no ORM.

Offsets are Python `str` indices, spans are `[start, end)`. `OffsetMap.from_texts(old, new)` diffs
the two texts once; every span stored against the old text (turns, note ranges, excerpts) is then
mapped through it. See observations/ANCHORING.md for the semantics and why hooks exist.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from observations.models import Document


@dataclass(frozen=True)
class Block:
    """One diff operation: `old[i1:i2]` became `new[j1:j2]`; `equal` when nothing changed."""

    equal: bool
    i1: int
    i2: int
    j1: int
    j2: int


@dataclass(frozen=True)
class MappedSpan:
    """A span in the new text. `intact` means the span's own characters all survived, unchanged
    and contiguous, so `new[start:end] == old[old_start:old_end]`."""

    start: int
    end: int
    intact: bool


@dataclass(frozen=True)
class OffsetMap:
    """How positions of `old` correspond to positions of `new`.

    Guarantees: `position()` is monotone (never maps a later position before an earlier one) and
    stays within `0..new_length`; `contain()` keeps adjacent spans adjacent and never makes them
    overlap; `exact()` reports `intact=True` only when the mapped slice of the new text equals the
    old slice.
    """

    old_length: int
    new_length: int
    # The canonical alignment, covering old and new without gaps, in order.
    blocks: tuple[Block, ...]
    # Longest common prefix and suffix of the whole texts: any span inside one of them can be
    # aligned unchanged whatever the diff in between chose (see `exact`).
    common_prefix: int
    common_suffix: int
    # `i1` of every block, for bisecting.
    starts: tuple[int, ...]

    @classmethod
    def from_texts(cls, old: str, new: str) -> OffsetMap:
        """Diff `old` against `new`.

        Common prefix and suffix first (an edit is usually in one place: this makes a single edit
        exact and cheap), then the middle line by line, changed lines word by word, changed words
        character by character (difflib at each level), so the cost follows the size of what
        changed, not of the document.
        """
        prefix = _common_length(old, new, from_end=False)
        suffix_full = _common_length(old, new, from_end=True)
        # The suffix used for the alignment must not overlap the prefix in either text.
        suffix = min(suffix_full, len(old) - prefix, len(new) - prefix)
        raw: list[Block] = [Block(True, 0, prefix, 0, prefix)]
        _align(
            old[prefix : len(old) - suffix], new[prefix : len(new) - suffix], prefix, prefix, 0, raw
        )
        raw.append(Block(True, len(old) - suffix, len(old), len(new) - suffix, len(new)))
        blocks = _merged(raw)
        return cls(
            old_length=len(old),
            new_length=len(new),
            blocks=tuple(blocks),
            common_prefix=prefix,
            common_suffix=suffix_full,
            starts=tuple(block.i1 for block in blocks),
        )

    @property
    def unchanged(self) -> bool:
        """True when old and new are the same text."""
        return self.old_length == self.new_length == self.common_prefix

    def _block_index(self, position: int) -> int:
        """Index of the last block whose `i1 <= position`, preferring a later block on a tie so
        that an insertion at `position` (an empty old range) counts as before the position."""
        return max(0, bisect_right(self.starts, position) - 1)

    def position(self, position: int) -> int:
        """Map a boundary position of the old text to the new text.

        Text inserted exactly at `position` ends up before the mapped position. A position inside
        replaced text keeps its distance from the replacement's start, clamped to the
        replacement; inside deleted text it maps to where the deletion was.
        """
        if not self.blocks:
            return 0
        position = max(0, min(position, self.old_length))
        block = self.blocks[self._block_index(position)]
        if position >= block.i2:
            # Only reachable at the very end of the old text (or a final insertion).
            return block.j2
        offset = position - block.i1
        if block.equal:
            return block.j1 + offset
        return block.j1 + min(offset, block.j2 - block.j1)

    def contain(self, start: int, end: int) -> tuple[int, int]:
        """Map a containing span (a speaker turn, a note's range): it grows and shrinks with
        edits inside it and keeps text inserted at its end. Empty result: wholly deleted."""
        return self.position(start), self.position(end)

    def exact(self, start: int, end: int) -> MappedSpan:
        """Map an exact span (an excerpt): moved if its characters survived, else the best
        surviving range, clamped and non-empty (when the new text is not empty), not intact."""
        if end <= self.common_prefix:
            return MappedSpan(start, end, True)
        if start >= self.old_length - self.common_suffix:
            shift = self.new_length - self.old_length
            return MappedSpan(start + shift, end + shift, True)
        block = self.blocks[self._block_index(start)]
        if block.equal and block.i1 <= start and end <= block.i2:
            shift = block.j1 - block.i1
            return MappedSpan(start + shift, end + shift, True)
        new_start, new_end = self.contain(start, end)
        if new_end > self.new_length:
            new_end = self.new_length
        if new_start >= new_end:
            new_end = min(new_start + 1, self.new_length)
            new_start = max(0, new_end - 1)
        return MappedSpan(new_start, new_end, False)


_WORDS = re.compile(r"\w+|\s+|[^\w\s]")
# Character-level difflib on a changed stretch only below this size (old + new characters): its
# cost grows with the square of the stretch; above it the stretch is one replacement (its
# excerpts are flagged, never silently moved).
CHARACTER_DIFF_LIMIT = 5_000
_LINES, _WORDS_LEVEL, _CHARACTERS = 0, 1, 2


def _tokens(text: str, level: int) -> list[str]:
    if level == _LINES:
        return text.splitlines(keepends=True)
    return _WORDS.findall(text)


def _align(old: str, new: str, i0: int, j0: int, level: int, out: list[Block]) -> None:
    """Append blocks aligning `old` (at `i0` in the old text) with `new` (at `j0`)."""
    # Trimming at every level keeps each difflib run to the stretch between the first and the last
    # change of a paragraph, which is usually a word or two.
    prefix = _common_length(old, new, from_end=False)
    suffix = min(_common_length(old, new, from_end=True), len(old) - prefix, len(new) - prefix)
    if prefix or suffix:
        out.append(Block(True, i0, i0 + prefix, j0, j0 + prefix))
        _align(
            old[prefix : len(old) - suffix],
            new[prefix : len(new) - suffix],
            i0 + prefix,
            j0 + prefix,
            level,
            out,
        )
        end_old, end_new = i0 + len(old), j0 + len(new)
        out.append(Block(True, end_old - suffix, end_old, end_new - suffix, end_new))
        return
    if not old or not new:
        if old or new:
            out.append(Block(False, i0, i0 + len(old), j0, j0 + len(new)))
        return
    if level == _CHARACTERS:
        if len(old) + len(new) > CHARACTER_DIFF_LIMIT:
            out.append(Block(False, i0, i0 + len(old), j0, j0 + len(new)))
            return
        matcher = SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            out.append(Block(tag == "equal", i0 + i1, i0 + i2, j0 + j1, j0 + j2))
        return
    old_tokens, new_tokens = _tokens(old, level), _tokens(new, level)
    if len(old_tokens) == 1 and len(new_tokens) == 1:
        _align(old, new, i0, j0, level + 1, out)
        return
    # Lines are nearly unique, so difflib is fast on them; words repeat ("the"), so popular words
    # are left out of match seeds there (autojunk) to keep long changed paragraphs cheap.
    matcher = SequenceMatcher(None, old_tokens, new_tokens, autojunk=level != _LINES)
    old_at = [0]
    for token in old_tokens:
        old_at.append(old_at[-1] + len(token))
    new_at = [0]
    for token in new_tokens:
        new_at.append(new_at[-1] + len(token))
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        a1, a2, b1, b2 = old_at[i1], old_at[i2], new_at[j1], new_at[j2]
        if tag == "equal":
            out.append(Block(True, i0 + a1, i0 + a2, j0 + b1, j0 + b2))
        elif level == _LINES and tag == "replace" and i2 - i1 == j2 - j1:
            # As many lines before as after: line k became line k (a paragraph edited in place).
            for k in range(i2 - i1):
                _align(
                    old_tokens[i1 + k],
                    new_tokens[j1 + k],
                    i0 + old_at[i1 + k],
                    j0 + new_at[j1 + k],
                    level + 1,
                    out,
                )
        else:
            _align(old[a1:a2], new[b1:b2], i0 + a1, j0 + b1, level + 1, out)


def _merged(blocks: list[Block]) -> list[Block]:
    """Drop empty blocks and join neighbours of the same kind, so an unchanged stretch is one
    block however many levels produced it (`exact` relies on that)."""
    merged: list[Block] = []
    for block in blocks:
        if block.i1 == block.i2 and block.j1 == block.j2:
            continue
        if merged and merged[-1].equal == block.equal:
            last = merged[-1]
            merged[-1] = Block(block.equal, last.i1, block.i2, last.j1, block.j2)
        else:
            merged.append(block)
    return merged


def _common_length(old: str, new: str, *, from_end: bool) -> int:
    """Length of the longest common prefix (or suffix) of two texts."""
    # Binary search over slice comparisons: they run in C, so a 2-million-character document
    # costs about 20 comparisons instead of a Python loop over every character.
    low, high = 0, min(len(old), len(new))
    while low < high:
        middle = (low + high + 1) // 2
        if from_end:
            same = old[len(old) - middle :] == new[len(new) - middle :]
        else:
            same = old[:middle] == new[:middle]
        if same:
            low = middle
        else:
            high = middle - 1
    return low


TextEditHook = Callable[["Document", OffsetMap], "HookResult"]


@dataclass(frozen=True)
class HookResult:
    """What a text-edit hook did: spans moved unchanged and spans flagged for a person to look."""

    moved: int = 0
    flagged: int = 0


_hooks: list[TextEditHook] = []


def register_text_edit_hook(hook: TextEditHook) -> None:
    """Run `hook(document, offset_map)` inside every text edit, after the document is saved.

    Apps above `observations` (coding) register here from their AppConfig.ready(), because
    observations must not import them. Registering the same function twice has no effect.
    """
    if hook not in _hooks:
        _hooks.append(hook)


def text_edit_hooks() -> tuple[TextEditHook, ...]:
    """The registered hooks, in registration order."""
    return tuple(_hooks)
