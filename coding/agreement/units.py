"""Unitisation (pure; numpy, no ORM): which units each coder marked with one code.

The compared documents are laid end to end on one line (document i occupies
``[offsets[i], offsets[i] + lengths[i])``), so one numpy pass handles a whole project.

* **Character unit.** Every character of the compared documents is one unit. A coder marks a
  character when one of their excerpts of the code covers it. Characters are never expanded:
  the line is cut at every excerpt boundary and document boundary into runs within which no
  coder's mark changes, and each run is one weighted unit (weight = its length).
* **Sentence unit.** Every sentence of the compared documents is one unit. A coder marks a
  sentence when one of their excerpts of the code overlaps it by at least one character.
  Text outside every sentence is not a unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolMatrix = npt.NDArray[np.bool_]
# Per coder, the excerpts of one code as (start, end) on the joined line.
Spans = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class Units:
    """One code's units: ``values`` coders × units; ``weights``, ``starts``, ``ends`` and
    ``document`` (index into the compared documents) per unit, in line order."""

    values: BoolMatrix
    weights: IntArray
    starts: IntArray
    ends: IntArray
    document: IntArray


def _spans(spans: Spans) -> tuple[IntArray, IntArray]:
    if not spans:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pair = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    return pair[:, 0], pair[:, 1]


def _mark(cuts: IntArray, starts: IntArray, ends: IntArray, size: int) -> npt.NDArray[np.bool_]:
    """Which of ``size`` consecutive intervals, delimited by ``cuts``, the spans cover."""
    diff = np.zeros(size + 1, np.int64)
    np.add.at(diff, np.searchsorted(cuts, starts), 1)
    np.add.at(diff, np.searchsorted(cuts, ends), -1)
    return np.cumsum(diff)[:size] > 0


def character_units(offsets: IntArray, lengths: IntArray, coders: Sequence[Spans]) -> Units:
    """Runs of characters of the joined documents with each coder's mark (see module note).

    Spans must lie inside their document (``offset <= start < end <= offset + length``).
    """
    offsets = np.asarray(offsets, np.int64)
    lengths = np.asarray(lengths, np.int64)
    pairs = [_spans(s) for s in coders]
    cuts = np.unique(
        np.concatenate([offsets, offsets + lengths, *[np.concatenate(p) for p in pairs]])
    )
    starts, ends = cuts[:-1], cuts[1:]
    document = np.searchsorted(offsets, starts, side="right") - 1
    # Drop the gaps between documents (none when offsets are cumulative) and empty documents.
    inside = (document >= 0) & (ends <= offsets[document] + lengths[document]) & (ends > starts)
    values = np.array([_mark(cuts, s, e, len(starts)) for s, e in pairs], dtype=np.bool_)
    values = values.reshape(len(pairs), len(starts))
    return Units(
        values=values[:, inside],
        weights=(ends - starts)[inside],
        starts=starts[inside],
        ends=ends[inside],
        document=document[inside],
    )


def sentence_units(
    sentence_starts: IntArray,
    sentence_ends: IntArray,
    sentence_document: IntArray,
    coders: Sequence[Spans],
) -> Units:
    """Each sentence (sorted, non-overlapping, on the joined line) with each coder's mark: a
    sentence is marked when an excerpt overlaps it by at least one character."""
    s_starts = np.asarray(sentence_starts, np.int64)
    s_ends = np.asarray(sentence_ends, np.int64)
    size = len(s_starts)
    rows = []
    for spans in coders:
        starts, ends = _spans(spans)
        first = np.searchsorted(s_ends, starts, side="right")  # first sentence ending after start
        stop = np.searchsorted(s_starts, ends, side="left")  # sentences starting before end
        keep = first < stop
        diff = np.zeros(size + 1, np.int64)
        np.add.at(diff, first[keep], 1)
        np.add.at(diff, stop[keep], -1)
        rows.append(np.cumsum(diff)[:size] > 0)
    values = np.array(rows, dtype=np.bool_).reshape(len(coders), size)
    return Units(
        values=values,
        weights=np.ones(size, np.int64),
        starts=s_starts,
        ends=s_ends,
        document=np.asarray(sentence_document, np.int64),
    )


def pool(parts: Sequence[Units], coders: int) -> tuple[BoolMatrix, IntArray]:
    """The units of several codes side by side (the "overall" figures)."""
    if not parts:
        return np.zeros((coders, 0), np.bool_), np.zeros(0, np.int64)
    return (
        np.concatenate([p.values for p in parts], axis=1),
        np.concatenate([p.weights for p in parts]),
    )


def disputed_passages(units: Units, coders: Sequence[Spans]) -> list[tuple[int, int, int, int]]:
    """Maximal stretches covered by some coder's excerpt (overlapping or touching excerpts chain
    together, within one document) in which the coders differ somewhere, as
    ``(document, start, end, differing characters)`` on the joined line. Character units only."""
    pairs = [_spans(s) for s in coders]
    starts = np.concatenate([p[0] for p in pairs])
    ends = np.concatenate([p[1] for p in pairs])
    if not len(starts):
        return []
    order = np.lexsort((ends, starts))
    starts, ends = starts[order], ends[order]
    # Runs start at every excerpt start, so each excerpt's document is its first run's.
    doc = units.document[np.searchsorted(units.starts, starts, side="right") - 1]
    reach = np.maximum.accumulate(ends)
    new = np.ones(len(starts), np.bool_)
    # A gap, or the next document (touching excerpts of two documents never chain).
    new[1:] = (starts[1:] > reach[:-1]) | (doc[1:] != doc[:-1])
    group = np.cumsum(new) - 1
    first, first_doc = starts[new], doc[new]
    last = np.maximum.reduceat(ends, np.flatnonzero(new))
    differ = units.values.any(axis=0) & ~units.values.all(axis=0)
    stretch = np.searchsorted(first, units.starts[differ], side="right") - 1
    counts = np.bincount(stretch, weights=units.weights[differ], minlength=int(group[-1]) + 1)
    out = []
    for index in np.flatnonzero(counts > 0):
        out.append((int(first_doc[index]), int(first[index]), int(last[index]), int(counts[index])))
    return out
