"""spaCy Matcher token patterns at codebook scale.

spaCy's `Matcher` tries every pattern at every token: O(tokens x patterns), about 5 ms per
pattern over a 50,000-word document on the benchmark machine, and far more with `IN` sets
(evaluated in Python). A codebook with thousands of rules needs better, so `TokenPatterns`
splits the rules in two:

- The common shape, a fixed sequence of tokens (`OP` absent or "?", expanded into variants)
  where each token is either an exact value of ORTH/TEXT/LOWER/NORM/LEMMA (a string or an
  `IN` list, expanded) or only boolean flags (IS_ALPHA, LIKE_NUM, ...), with at least one
  exact token: a hash join. Per shape ("signature"), the document's attribute arrays are
  combined into one hash per position with numpy and looked up in the rules' hashes; the few
  candidates are checked exactly. Cost: a few numpy passes per signature, whatever the number
  of rules.
- Everything else goes to a spaCy `Matcher`, run only over the sentences that contain one of
  its rules' required words (or over the whole document when a rule has none). Those rules
  match within a sentence.

Results are spaCy's: `(match_id, start, end)` token offsets, with spaCy's "LONGEST" filter
applied per rule (one match per run of "?" alternatives, not every sub-span).
"""

from collections import defaultdict
from collections.abc import Sequence
from itertools import chain, product
from typing import Any

import numpy as np
import pandas as pd
from spacy.attrs import IDS, LEMMA, LOWER, NORM, ORTH, SENT_START
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

EXACT = {"ORTH": ORTH, "TEXT": ORTH, "LOWER": LOWER, "NORM": NORM, "LEMMA": LEMMA}
FLAG_NAMES = (
    "IS_ALPHA", "IS_ASCII", "IS_DIGIT", "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT",
    "IS_SPACE", "IS_STOP", "IS_CURRENCY", "IS_BRACKET", "IS_QUOTE", "LIKE_NUM", "LIKE_URL",
    "LIKE_EMAIL",
)  # fmt: skip
FLAGS = {name: IDS[name] for name in FLAG_NAMES}
MAX_VARIANTS = 256  # per rule, after expanding "?" and IN sets; more goes to the Matcher
MULT = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1

Position = tuple[int, int]  # (token offset in the rule, attribute id)
Flags = tuple[tuple[int, int, bool], ...]  # (token offset, flag attribute id, wanted value)
Signature = tuple[int, tuple[Position, ...]]  # (length, exact positions)


def _combine(values: tuple[int, ...]) -> int:
    key = 0
    for value in values:
        key = (key * MULT + value) & MASK
    return key


def _token_options(spec: dict[str, Any]) -> tuple[int | None, list[str], list[tuple[int, bool]]]:
    """(exact attribute or None, its values, flags) of one token; ValueError if not simple."""
    exact: list[tuple[int, list[str]]] = []
    flags: list[tuple[int, bool]] = []
    for name, value in spec.items():
        if name == "OP":
            continue
        if name in EXACT:
            if isinstance(value, str):
                exact.append((EXACT[name], [value]))
            elif (
                isinstance(value, dict)
                and set(value) == {"IN"}
                and isinstance(value["IN"], list)
                and value["IN"]
                and all(isinstance(v, str) for v in value["IN"])
            ):
                exact.append((EXACT[name], list(value["IN"])))
            else:
                raise ValueError(name)
        elif name in FLAGS and isinstance(value, bool):
            flags.append((FLAGS[name], value))
        else:
            raise ValueError(name)
    if len(exact) > 1:
        raise ValueError("several exact attributes on one token")
    attr, values = exact[0] if exact else (None, [])
    return attr, values, flags


def _simple_variants(
    pattern: list[dict[str, Any]], vocab: Vocab
) -> list[tuple[Signature, tuple[int, ...], Flags]] | None:
    """The rule as fixed sequences `(signature, exact value hashes, flags)`; None if not simple."""
    sequences: list[list[tuple[int | None, list[str], list[tuple[int, bool]]]]] = [[]]
    try:
        for spec in pattern:
            op = spec.get("OP")
            if op not in (None, "?"):
                return None
            token = _token_options(spec)
            grown = [[*sequence, token] for sequence in sequences]
            sequences = grown + sequences if op == "?" else grown
            if len(sequences) > MAX_VARIANTS:
                return None
    except ValueError:
        return None
    variants: list[tuple[Signature, tuple[int, ...], Flags]] = []
    for sequence in sequences:
        positions = tuple((i, attr) for i, (attr, _, _) in enumerate(sequence) if attr is not None)
        if not positions:
            return None  # a variant without an exact token would need a scan of every token
        flags = tuple(
            (i, flag, wanted) for i, (_, _, fl) in enumerate(sequence) for flag, wanted in fl
        )
        choices = [sequence[i][1] for i, _ in positions]
        combos = 1
        for choice in choices:
            combos *= len(choice)
        if len(variants) + combos > MAX_VARIANTS:
            return None
        signature = (len(sequence), positions)
        for values in product(*choices):
            hashes = tuple(vocab.strings.add(value) for value in values)
            variants.append((signature, hashes, flags))
    return variants


def _anchor(pattern: list[dict[str, Any]]) -> tuple[int, list[str]] | None:
    """A token every match must contain, with an exact value: (attribute, values)."""
    for spec in pattern:
        if spec.get("OP") not in (None, "+"):
            continue
        for name, value in spec.items():
            if name not in EXACT:
                continue
            if isinstance(value, str):
                return EXACT[name], [value]
            if (
                isinstance(value, dict)
                and set(value) == {"IN"}
                and isinstance(value["IN"], list)
                and all(isinstance(v, str) for v in value["IN"])
            ):
                return EXACT[name], list(value["IN"])
    return None


class _Table:
    """The rules of one signature as parallel arrays sorted by their combined hash."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, Flags]] = []  # (combined hash, match id, flags)
        self.keys = np.zeros(0, dtype=np.uint64)
        self.index = pd.Index(self.keys)
        self.first = np.zeros(0, dtype=np.int64)
        self.count = np.zeros(0, dtype=np.int64)
        self.ids = np.zeros(0, dtype=np.uint64)
        self.flags: list[Flags] = []
        self.any_flags = False

    def freeze(self) -> None:
        self.rows.sort(key=lambda row: row[0])
        self.keys = np.array([row[0] for row in self.rows], dtype=np.uint64)
        self.ids = np.array([row[1] for row in self.rows], dtype=np.uint64)
        # A hash index over the distinct keys (pandas' khash: one probe per position, several
        # times faster than numpy's sort-based isin), each with its run [first, first+count).
        unique, first, count = np.unique(self.keys, return_index=True, return_counts=True)
        self.index = pd.Index(unique)
        self.first, self.count = first.astype(np.int64), count.astype(np.int64)
        self.flags = [row[2] for row in self.rows]
        self.any_flags = any(self.flags)


Found = tuple[np.ndarray, np.ndarray, np.ndarray]  # match ids (uint64), starts, ends (int64)


class TokenPatterns:
    """A Matcher-compatible set of token rules that scales with the number of rules."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self._tables: dict[Signature, _Table] = {}
        self._frozen = False
        self._lengths: dict[int, set[int]] = {}  # match id -> lengths of its variants
        self._optional = np.zeros(0, dtype=np.uint64)  # rules with variants of several lengths
        self._slow = Matcher(vocab)
        self._slow_anchors: dict[int, set[int]] = defaultdict(set)
        self._slow_everywhere = False
        self._attrs: set[int] = set()
        self._flags: set[int] = set()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, key: str, pattern: list[dict[str, Any]]) -> None:
        """Add one validated rule under `key` (as `Matcher.add(key, [pattern])`)."""
        match_id = self.vocab.strings.add(key)
        if match_id not in self._lengths:
            self._size += 1
        self._frozen = False
        variants = _simple_variants(pattern, self.vocab)
        if variants is None:
            self._slow.add(key, [pattern], greedy="LONGEST")
            anchor = _anchor(pattern)
            if anchor is None:
                self._slow_everywhere = True
            else:
                attr, values = anchor
                self._slow_anchors[attr].update(self.vocab.strings.add(v) for v in values)
            return
        for signature, hashes, flags in variants:
            self._add_variant(match_id, signature, hashes, flags)

    def add_sequence(self, key: str, attr: int, words: Sequence[int]) -> None:
        """Add a fixed sequence of exact values of `attr` (string hashes) under `key`.

        Several sequences may share a key: each is a variant of that rule (a phrase's lower-
        case form and its lemmas). Counted as one rule per distinct key.
        """
        match_id = self.vocab.strings.add(key)
        if match_id not in self._lengths:
            self._size += 1
        self._frozen = False
        signature = (len(words), tuple((i, attr) for i in range(len(words))))
        self._add_variant(match_id, signature, tuple(words), ())

    def _add_variant(
        self, match_id: int, signature: Signature, hashes: tuple[int, ...], flags: Flags
    ) -> None:
        self._tables.setdefault(signature, _Table()).rows.append(
            (_combine(hashes), match_id, flags)
        )
        self._lengths.setdefault(match_id, set()).add(signature[0])
        self._attrs.update(attr for _, attr in signature[1])
        self._flags.update(flag for _, flag, _ in flags)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        """`(match_id, start, end)` token offsets, like spaCy's `Matcher`."""
        ids, starts, ends = self.arrays(doc)
        return list(zip(ids.tolist(), starts.tolist(), ends.tolist(), strict=True))

    def arrays(self, doc: Doc) -> Found:
        """The matches as three numpy arrays: match ids, start and end token offsets."""
        parts: list[Found] = []
        n = len(doc)
        if self._tables and n:
            parts.append(self._fast(doc, n))
        if len(self._slow) and n:
            parts.append(as_arrays(self._slow_matches(doc, n)))
        if not parts:
            return as_arrays([])
        ids, starts, ends = (np.concatenate(column) for column in zip(*parts, strict=True))
        return ids, starts, ends

    def freeze(self) -> None:
        """Sort the tables for matching; done on first use if not called after the last add."""
        for table in self._tables.values():
            table.freeze()
        optional = [match_id for match_id, lengths in self._lengths.items() if len(lengths) > 1]
        self._optional = np.array(sorted(optional), dtype=np.uint64)
        self._frozen = True

    def _fast(self, doc: Doc, n: int) -> Found:
        if not self._frozen:
            self.freeze()
        attrs = sorted(self._attrs | self._flags)
        array = _columns(doc, attrs)
        columns = {attr: array[:, i] for i, attr in enumerate(attrs)}
        multiplier = np.uint64(MULT)
        found_ids: list[np.ndarray] = []
        found_starts: list[np.ndarray] = []
        found_ends: list[np.ndarray] = []
        for (length, positions), table in self._tables.items():
            span = n - length + 1
            if span <= 0:
                continue
            combined = np.zeros(span, dtype=np.uint64)
            for offset, attr in positions:
                combined = np.asarray(
                    combined * multiplier + columns[attr][offset : offset + span], dtype=np.uint64
                )
            # Positions whose hash is some rule's, then every such rule (its run in the table).
            found = table.index.get_indexer(combined)
            where = np.flatnonzero(found >= 0)
            if not len(where):
                continue
            counts = table.count[found[where]]
            left = np.repeat(table.first[found[where]], counts)
            starts = np.repeat(where, counts)
            steps = np.arange(len(starts)) - np.repeat(np.cumsum(counts) - counts, counts)
            rows = left + steps
            if table.any_flags:
                keep = [
                    all(
                        bool(columns[flag][start + offset]) == value
                        for offset, flag, value in table.flags[row]
                    )
                    for start, row in zip(starts.tolist(), rows.tolist(), strict=True)
                ]
                starts, rows = starts[keep], rows[keep]
            found_ids.append(table.ids[rows])
            found_starts.append(starts.astype(np.int64))
            found_ends.append(starts.astype(np.int64) + length)
        if not found_ids:
            return as_arrays([])
        ids = np.concatenate(found_ids)
        starts = np.concatenate(found_starts)
        ends = np.concatenate(found_ends)
        if len(self._optional):
            # Rules with "?" match in several lengths; keep spaCy's LONGEST choice for those.
            mask = np.isin(ids, self._optional)
            if mask.any():
                rest = list(
                    zip(ids[mask].tolist(), starts[mask].tolist(), ends[mask].tolist(), strict=True)
                )
                kept = as_arrays(_longest(rest))
                ids = np.concatenate([ids[~mask], kept[0]])
                starts = np.concatenate([starts[~mask], kept[1]])
                ends = np.concatenate([ends[~mask], kept[2]])
        return ids, starts, ends

    def _slow_matches(self, doc: Doc, n: int) -> list[tuple[int, int, int]]:
        if self._slow_everywhere:
            return list(self._slow(doc))
        attrs = sorted(self._slow_anchors)
        values = _columns(doc, attrs)
        hit = np.zeros(n, dtype=bool)
        for i, attr in enumerate(attrs):
            wanted = np.fromiter(self._slow_anchors[attr], np.uint64)
            hit |= np.isin(values[:, i], wanted)
        if not hit.any():
            return []
        # Sentence number of every token; the windows are runs of sentences with a hit.
        if doc.has_annotation("SENT_START"):
            starts = doc.to_array([SENT_START]).astype(np.int64) == 1
        else:
            starts = np.zeros(n, dtype=bool)
        starts[0] = True
        sentence = np.cumsum(starts) - 1
        wanted_sentences = np.zeros(int(sentence[-1]) + 1, dtype=bool)
        wanted_sentences[sentence[hit]] = True
        in_window = wanted_sentences[sentence]
        edges = np.flatnonzero(np.diff(np.concatenate(([0], in_window.astype(np.int8), [0]))))
        found: list[tuple[int, int, int]] = []
        for begin, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
            for match_id, start, stop in self._slow(doc[begin:end]):
                found.append((match_id, start + begin, stop + begin))
        return found


def as_arrays(matches: list[tuple[int, int, int]]) -> Found:
    """`(match_id, start, end)` tuples as three arrays."""
    flat = np.fromiter(chain.from_iterable(matches), np.uint64, 3 * len(matches))
    table = flat.reshape(len(matches), 3)
    return table[:, 0], table[:, 1].astype(np.int64), table[:, 2].astype(np.int64)


def _columns(doc: Doc, attrs: list[int]) -> np.ndarray:
    """`doc.to_array(attrs)` as uint64, always 2-D (spaCy gives 1-D for a single attribute)."""
    array = doc.to_array(list[int | str](attrs))
    return np.asarray(array, dtype=np.uint64).reshape(len(doc), len(attrs))


def _longest(matches: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """spaCy's "LONGEST" filter per rule: longest first, then earliest, no overlaps."""
    by_rule: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for match_id, start, end in matches:
        by_rule[match_id].append((start, end))
    kept: list[tuple[int, int, int]] = []
    for match_id, spans in by_rule.items():
        if len(spans) == 1:
            kept.append((match_id, *spans[0]))
            continue
        used: set[int] = set()
        for start, end in sorted(set(spans), key=lambda s: (s[0] - s[1], s[0])):
            if used.isdisjoint(range(start, end)):
                used.update(range(start, end))
                kept.append((match_id, start, end))
    return kept
