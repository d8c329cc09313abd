"""Keyword search over text, as pure functions: parse a query, find hits, cut keyword-in-context.

Design note. Neither backend returns offsets, and the two differ in what a word matches, so the
database only *narrows* the documents and this module *decides*, the same way on both:

- PostgreSQL narrows by full-text search ("english" configuration, stemmed, through the GIN
  index of migration 0004): each clause's terms OR-ed, clauses AND-ed, a phrase as all of its
  words (true phrase search would make PostgreSQL re-tokenise every candidate text), clauses of
  stop words ("not") and exclusions left out. SQLite narrows by `icontains` of each stem.
- `matches` then keeps a document only if it satisfies the whole query, and `find_hits` finds
  the offsets. A document PostgreSQL's Snowball stemmer matched through a form this module does
  not know (irregular forms such as "ran" for "run") therefore gives no hit; and PostgreSQL may
  narrow more than the prefix match would ("charger" is its own stem there, not "charg").

- A query is websearch-style: bare words, "quoted phrases", `-word` to exclude, and `or` between
  two terms for either. Terms next to each other are all required (`a b or c` = a AND (b OR c)).
- A word matches any word of the text that starts with its *stem* (a few English suffixes cut,
  never below three letters), case-insensitively: "charged" finds "charges" and "charging",
  "card" finds "cards".
- A phrase matches its words in order, separated only by spaces or punctuation.
- Offsets are Python `str` indices into the text, end exclusive, like every offset in Verbatim.
"""

import re
import unicodedata
from dataclasses import dataclass

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ies", "ied", "ed", "es", "ly", "s", "e")
_WORD_EDGE = re.compile(r"^\W+|\W+$")
MIN_STEM = 3
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Term:
    """One word or phrase of a query: its words, lower-cased, in order."""

    words: tuple[str, ...]
    negated: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1

    def stems(self) -> tuple[str, ...]:
        return tuple(stem(word) for word in self.words)


@dataclass(frozen=True)
class Query:
    """A parsed query: every clause must match; a clause matches when any of its terms does."""

    clauses: tuple[tuple[Term, ...], ...]

    @property
    def positive_terms(self) -> list[Term]:
        return [term for clause in self.clauses for term in clause if not term.negated]

    def __bool__(self) -> bool:
        return bool(self.positive_terms)


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in (_WORD_EDGE.sub("", part) for part in re.split(r"\W+", text)) if w)


def stem(word: str) -> str:
    """The prefix a word's forms share, lower-cased: "charged" -> "charg", "cards" -> "card"."""
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def parse_query(raw: str) -> Query:
    """Parse websearch-style syntax (words, "phrases", -exclusions, `or`). Never raises."""
    clauses: list[list[Term]] = []
    join_next = False
    for match in _TOKEN.finditer(unicodedata.normalize("NFC", raw)):
        negated, phrase, bare = match.group(1) == "-", match.group(2), match.group(3)
        if phrase is None:
            if bare.lower() == "or" and clauses:
                join_next = True
                continue
            negated = bare.startswith("-") and len(bare) > 1
            phrase = bare[1:] if negated else bare
        words = _words(phrase)
        if not words:
            continue
        term = Term(words=tuple(w.lower() for w in words), negated=negated)
        if join_next and clauses:
            clauses[-1].append(term)
        else:
            clauses.append([term])
        join_next = False
    return Query(clauses=tuple(tuple(clause) for clause in clauses))


def _pattern(term: Term) -> re.Pattern[str]:
    parts = [re.escape(s) + r"\w*" for s in term.stems()]
    return re.compile(r"(?<!\w)" + r"[\W_]+".join(parts), re.IGNORECASE)


def find_hits(text: str, terms: list[Term]) -> list[tuple[int, int]]:
    """Every match of the (positive) terms in `text` as sorted, non-overlapping `(start, end)`.

    Matching is case-insensitive and by stem prefix (see the module note); where two terms
    overlap, the earlier-starting (then longer) match wins.
    """
    found: list[tuple[int, int]] = []
    for term in terms:
        if not term.negated:
            found += [(m.start(), m.end()) for m in _pattern(term).finditer(text)]
    found.sort(key=lambda span: (span[0], -span[1]))
    hits: list[tuple[int, int]] = []
    for start, end in found:
        if not hits or start >= hits[-1][1]:
            hits.append((start, end))
    return hits


def matches(text: str, query: Query) -> bool:
    """Whether `text` satisfies the whole query: each clause has a matching term (or only
    exclusions), and no excluded term occurs."""
    for clause in query.clauses:
        wanted = [term for term in clause if not term.negated]
        if wanted and not any(_pattern(term).search(text) for term in wanted):
            return False
        if any(_pattern(term).search(text) for term in clause if term.negated):
            return False
    return True


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text)


def context(
    text: str, start: int, end: int, width: int = 60, *, lo: int = 0, hi: int | None = None
) -> tuple[str, str]:
    """About `width` characters before and after `[start, end)`, inside `[lo, hi)` (the turn or
    note holding the hit, so context never runs into another speaker's words), cut at word
    boundaries, runs of whitespace shown as one space, and "…" where the text goes on."""
    hi = len(text) if hi is None else hi
    cut = max(lo, start - width)
    before = text[cut:start]
    if cut > lo:
        space = _SPACES.search(before)
        if not text[cut - 1].isspace() and space is not None:
            before = before[space.end() :]  # drop the cut word
        before = "…" + before.lstrip()
    stop = min(hi, end + width)
    after = text[end:stop]
    if stop < hi:
        last_space = max((m.start() for m in _SPACES.finditer(after)), default=None)
        if not text[stop].isspace() and last_space is not None:
            after = after[:last_space]  # drop the cut word
        after = after.rstrip() + "…"
    return _squash(before), _squash(after)
