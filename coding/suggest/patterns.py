"""Pattern rules per code: keywords, phrases and spaCy Matcher token patterns.

A code's `patterns` is a JSON list of rules:

    {"type": "keyword", "text": "refund"}           one word
    {"type": "phrase", "text": "bill shock"}         several words
    {"type": "tokens", "pattern": [{"LEMMA": "charge"}, {"LOWER": "twice"}]}

Keywords and phrases match case-insensitively (on the tokens' lower-case form) and
lemma-insensitively (on their lemmas: keyword "charge" finds "Charged"); token patterns are
spaCy `Matcher` patterns, matched as written. A project's rules are compiled once per codebook
version into PhraseMatcher/Matcher objects, cached per process (`compiled_for`), and rebuilt
only when `codebook_version` changes: a code added, deleted, archived or edited.
"""

import gc
import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import lru_cache, partial
from typing import Any, NamedTuple

import numpy as np
import spacy
from django.db.models import TextField
from django.db.models.functions import Cast
from spacy.attrs import IDX, IS_SPACE, LEMMA, LENGTH, LOWER, SENT_START
from spacy.errors import MatchPatternError
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from coding.suggest.tokenmatch import Found, TokenPatterns
from research.models import Project

logger = logging.getLogger(__name__)

TYPES = ("keyword", "phrase", "tokens")
MAX_PATTERNS_PER_CODE = 500
MAX_TEXT_LENGTH = 200
MAX_PATTERN_TOKENS = 20
# The ingest runs without the dependency parser (observations.nlp.INGEST_COMPONENTS), so a
# token pattern on DEP could never match; custom extensions ("_") are not set on stored docs.
UNAVAILABLE_TOKEN_KEYS = {"DEP": "dependency labels", "_": "custom attributes"}
# What lemmatising a pattern needs; the parser, NER and the rest are skipped.
LEMMA_COMPONENTS = {
    "tok2vec",
    "tagger",
    "morphologizer",
    "attribute_ruler",
    "lemmatizer",
    "trainable_lemmatizer",
}
CACHE_SIZE = 32
SPAN_FACTOR = 1 << 20  # > any match's length in tokens
RULE_FACTOR = 1 << 10  # > MAX_PATTERNS_PER_CODE
PROBLEM_LINE = re.compile(r"^- \[pattern -> (?P<path>[^\]]*)\] (?P<problem>.*)$")


class PatternHit(NamedTuple):
    """One match of one code's rule, as character offsets into `doc.text`.

    `pattern` indexes the code's `patterns` list; `[sentence_start, sentence_end)` is the
    sentence holding the match (stripped of surrounding whitespace, as the ingest stores
    sentences), widened to the sentence of the match's last token if it runs across two.
    Immutable; a NamedTuple rather than a frozen dataclass because a long document can have
    tens of thousands of hits and a tuple is built several times faster (`hit._asdict()`).
    """

    code: int
    pattern: int
    start: int
    end: int
    sentence_start: int
    sentence_end: int


# --- validation ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validation_vocab() -> Vocab:
    # Matcher validation only reads the pattern schema: a blank vocabulary serves every language.
    return spacy.blank("en").vocab


def _check_text(kind: str, rule: dict[str, Any]) -> str | None:
    text = rule.get("text")
    if not isinstance(text, str) or not text.strip():
        return f'a {kind} needs a non-empty "text".'
    if len(text) > MAX_TEXT_LENGTH:
        return f"the text is longer than {MAX_TEXT_LENGTH} characters."
    words = text.split()
    if kind == "keyword" and len(words) != 1:
        return 'a keyword is one word; use a "phrase" for several.'
    if kind == "phrase" and len(words) < 2:
        return 'a phrase has several words; use a "keyword" for one.'
    return None


def _check_tokens(rule: dict[str, Any]) -> str | None:
    pattern = rule.get("pattern")
    if not isinstance(pattern, list) or not pattern:
        return 'a token pattern needs a non-empty list "pattern" of token descriptions.'
    if len(pattern) > MAX_PATTERN_TOKENS:
        return f"a token pattern has at most {MAX_PATTERN_TOKENS} tokens."
    if not all(isinstance(token, dict) for token in pattern):
        return 'each token of a token pattern is an object such as {"LOWER": "refund"}.'
    if len(json.dumps(pattern)) > 10 * MAX_TEXT_LENGTH:
        return f"the token pattern is longer than {10 * MAX_TEXT_LENGTH} characters."
    for position, token in enumerate(pattern):
        for key in token:
            if str(key).upper() in UNAVAILABLE_TOKEN_KEYS:
                what = UNAVAILABLE_TOKEN_KEYS[str(key).upper()]
                return f"token {position}: {key!r} ({what}) is not available for matching."
    if not any(set(token) - {"OP"} for token in pattern):
        return "a token pattern needs at least one token with a condition."
    try:
        Matcher(_validation_vocab(), validate=True).add("check", [pattern])
    except (MatchPatternError, ValueError, TypeError, KeyError) as error:
        return "invalid token pattern: " + _matcher_problems(str(error))
    return None


def _matcher_problems(message: str) -> str:
    """spaCy's "- [pattern -> 1 -> OP -> str] Input should be ..." lines as
    "token 1, OP: Input should be ...", one per wrong token and key."""
    seen: dict[str, str] = {}
    for line in message.splitlines():
        found = PROBLEM_LINE.match(line.strip())
        if not found:
            continue
        path = [part.strip() for part in found["path"].split("->")]
        where = f"token {path[0]}, {path[1]}" if len(path) > 1 else f"token {path[0]}"
        seen.setdefault(where, found["problem"])  # the first of pydantic's alternatives
    if not seen:
        return " ".join(line.strip() for line in message.splitlines() if line.strip())
    return "; ".join(f"{where}: {problem}" for where, problem in seen.items())


def validate(patterns: object) -> list[str]:
    """Problems with a code's `patterns`, each naming the rule ("pattern 3: ..."); [] if fine.

    Guarantees: a list that passes compiles without error; at most MAX_PATTERNS_PER_CODE rules;
    texts at most MAX_TEXT_LENGTH characters; token patterns pass spaCy's Matcher validation.
    """
    if not isinstance(patterns, list):
        return ["Patterns must be a list."]
    if len(patterns) > MAX_PATTERNS_PER_CODE:
        return [f"A code has at most {MAX_PATTERNS_PER_CODE} patterns ({len(patterns)} given)."]
    messages: list[str] = []
    for index, rule in enumerate(patterns):
        problem: str | None
        if not isinstance(rule, dict):
            problem = 'must be an object such as {"type": "keyword", "text": "refund"}.'
        elif rule.get("type") not in TYPES:
            problem = f'"type" must be one of {", ".join(TYPES)}.'
        else:
            allowed = {"type", "pattern"} if rule["type"] == "tokens" else {"type", "text"}
            unknown = sorted(str(key) for key in set(rule) - allowed)
            if unknown:
                problem = f"unknown key(s) {', '.join(unknown)}."
            elif rule["type"] == "tokens":
                problem = _check_tokens(rule)
            else:
                problem = _check_text(rule["type"], rule)
        if problem:
            messages.append(f"pattern {index}: {problem}")
    return messages


def describe(rule: object) -> str:
    """A rule as a coder reads it: the text of a keyword/phrase, the JSON of a token pattern."""
    if isinstance(rule, dict):
        if rule.get("type") == "tokens":
            return json.dumps(rule.get("pattern"), ensure_ascii=False)
        return str(rule.get("text", ""))
    return json.dumps(rule, ensure_ascii=False)


# --- compiling and matching ------------------------------------------------------------------


class CompiledPatterns:
    """Every rule of a codebook version, compiled; `find` runs them over a parsed doc.

    Keywords and phrases become fixed sequences of lower-case forms and of lemmas, token
    patterns Matcher rules, all in one `TokenPatterns` (coding/suggest/tokenmatch.py: spaCy's
    own matchers cost O(tokens x rules) for token patterns, too slow for thousands of rules).
    Immutable after construction and safe to share between threads.
    """

    def __init__(
        self,
        *,
        version: str,
        matcher: TokenPatterns,
        keys: dict[int, tuple[int, int]],
        size: int,
    ) -> None:
        self.version = version
        self._matcher = matcher
        # match id (hash of "code:index") -> (code, index), as sorted parallel arrays
        order = sorted(keys)
        self._ids = np.array(order, dtype=np.uint64)
        self._codes = np.array([keys[key][0] for key in order], dtype=np.int64)
        self._indexes = np.array([keys[key][1] for key in order], dtype=np.int64)
        self.size = size  # number of rules compiled

    def __len__(self) -> int:
        return self.size

    def find(self, doc: Doc) -> list[PatternHit]:
        """Every hit in `doc`, one per (code, span) (the lowest rule index wins), by position.

        `doc` must come from the project's pipeline with lemmas and sentences (as
        observations.nlp.ingest_docs makes them); a doc without sentence boundaries counts as
        one sentence, and one without lemmas gets no lemma matches.
        """
        if not self.size or not len(doc):
            return []
        # The matchers and the hits make tens of thousands of tuples, which would trigger the
        # cyclic GC over and over, each pass walking the large, long-lived matcher tables:
        # pause it for the call (nothing here makes cycles). It halves the time of a long doc.
        paused = gc.isenabled()
        gc.disable()
        try:
            return self._find(doc)
        finally:
            if paused:
                gc.enable()

    def _find(self, doc: Doc) -> list[PatternHit]:
        return self._hits(doc, self._matcher.arrays(doc))

    def _hits(self, doc: Doc, found: Found) -> list[PatternHit]:
        # numpy throughout, no Token or Span objects: a long document with many rules yields
        # tens of thousands of matches, and per-match Python work would dominate the cost.
        ids, first, stop = found
        if not len(ids):
            return []
        last = stop - 1
        table = doc.to_array([IDX, LENGTH, IS_SPACE, SENT_START]).astype(np.int64)
        idx, length, space, sent_start = table.T
        ends = idx + length
        n = len(doc)
        starts_flag = sent_start == 1 if doc.has_annotation("SENT_START") else np.zeros(n, bool)
        starts_flag[0] = True
        sentence_of = np.cumsum(starts_flag) - 1  # sentence number of every token
        first_tokens = np.flatnonzero(starts_flag)
        # A sentence's stored range runs from its first to its last non-space token.
        sent_begin = idx[first_tokens]
        sent_end = ends[np.append(first_tokens[1:], n) - 1]
        visible = np.flatnonzero(space == 0)
        if len(visible):
            owner = sentence_of[visible]
            # `owner` is sorted: its runs are the sentences, found where it changes.
            change = np.flatnonzero(np.diff(owner)) + 1
            run_first = np.concatenate(([0], change))
            run_last = np.append(change - 1, len(owner) - 1)
            sent_begin[owner[run_first]] = idx[visible[run_first]]
            sent_end[owner[run_last]] = ends[visible[run_last]]
        row = np.searchsorted(self._ids, ids)
        code, index = self._codes[row], self._indexes[row]
        # Token offsets order like character offsets, so two composite keys sort the hits by
        # position (start, then end), then code and rule: fewer, cheaper keys than four.
        span = first * SPAN_FACTOR + (stop - first)
        rule = code * RULE_FACTOR + index
        order = np.lexsort((rule, span))
        span, rule = span[order], rule[order]
        # The first of each (code, span) is its lowest rule; the others go.
        keep = np.ones(len(order), dtype=bool)
        keep[1:] = (span[1:] != span[:-1]) | (rule[1:] // RULE_FACTOR != rule[:-1] // RULE_FACTOR)
        order = order[keep]
        first, last = first[order], last[order]
        columns = (
            code[order],
            index[order],
            idx[first],
            ends[last],
            sent_begin[sentence_of[first]],
            sent_end[sentence_of[last]],
        )
        # tuple.__new__ straight from the zipped rows: a NamedTuple's own __new__ is a Python
        # function, three times slower over tens of thousands of hits.
        make = partial(tuple.__new__, PatternHit)
        return list(map(make, zip(*(column.tolist() for column in columns), strict=True)))


def _lemma_docs(nlp: Language, texts: Sequence[str]) -> list[Doc]:
    # The shared pipeline is never reconfigured (other threads use it): skip per call instead.
    skip = [name for name in nlp.pipe_names if name not in LEMMA_COMPONENTS]
    return list(nlp.pipe(texts, disable=skip, batch_size=1000))


def compile_patterns(
    codes: Iterable[tuple[int, object]], nlp: Language, *, version: str = ""
) -> CompiledPatterns:
    """Compile `(code id, patterns)` pairs with `nlp` (the project's pipeline).

    Rules that fail `validate` (old data written before validation existed) are skipped and
    logged, never raised: a broken rule must not stop suggestions from the others.
    """
    matcher = TokenPatterns(nlp.vocab)
    keys: dict[int, tuple[int, int]] = {}
    phrase_keys: list[str] = []
    phrase_texts: list[str] = []
    size = 0
    for code, patterns in codes:
        if not isinstance(patterns, list):
            continue
        for index, rule in enumerate(patterns):
            if validate([rule]):
                logger.warning("Skipping invalid pattern %s of code %s", index, code)
                continue
            key = f"{code}:{index}"
            keys[nlp.vocab.strings.add(key)] = (code, index)
            size += 1
            if rule["type"] == "tokens":
                matcher.add(key, rule["pattern"])
            else:
                phrase_keys.append(key)
                phrase_texts.append(" ".join(rule["text"].split()))
    if phrase_texts:
        for key, doc in zip(phrase_keys, map(nlp.make_doc, phrase_texts), strict=True):
            matcher.add_sequence(key, LOWER, [token.lower for token in doc])
        # Lemmatise each text as written and lower-cased: a capitalised word may be tagged a
        # proper noun, whose lemma keeps its case ("Refund"), while running text mostly has
        # lower-case lemmas ("refund"); both forms then match.
        variants = [text.lower() for text in phrase_texts] + phrase_texts
        docs = _lemma_docs(nlp, variants)
        count = len(phrase_texts)
        for i, key in enumerate(phrase_keys):
            matcher.add_sequence(key, LEMMA, [token.lemma for token in docs[i]])
            if phrase_texts[i] != variants[i]:
                matcher.add_sequence(key, LEMMA, [token.lemma for token in docs[count + i]])
    matcher.freeze()
    return CompiledPatterns(version=version, matcher=matcher, keys=keys, size=size)


# --- per-project cache -----------------------------------------------------------------------


def _rules(project: Project) -> list[tuple[int, str]]:
    """`(code id, patterns as stored JSON text)` of the project's unarchived codes, by id."""
    from coding.models import Code  # coding.models imports nothing from here; avoid a cycle

    rows = (
        Code.objects.filter(project_id=project.pk, is_archived=False)
        .order_by("id")
        .annotate(raw=Cast("patterns", output_field=TextField()))
        .values_list("id", "raw")
    )
    return list(rows)


def _version(language: str, rules: list[tuple[int, str]]) -> str:
    digest = hashlib.sha256(language.encode())
    for pk, raw in rules:
        digest.update(f"\x1e{pk}\x1f{raw}".encode(errors="surrogatepass"))
    return f"{language}:{len(rules)}:{digest.hexdigest()}"


def codebook_version(project: Project) -> str:
    """A string that changes whenever what the project's rules compile to can have changed
    (one query).

    It is a hash of exactly what `compile_patterns` reads: the project's language (it picks
    the pipeline) and the id and stored rules of every unarchived code. So any change of a
    rule, adding, deleting, archiving or unarchiving a code changes it, however it was written
    (service, undo, admin) and however close in time; two identical codebooks share it.
    (It used to rest on `updated_at`, which two writes within the clock's resolution share.)
    """
    return _version(project.language, _rules(project))


_cache: "OrderedDict[int, CompiledPatterns]" = OrderedDict()
_lock = threading.Lock()


def compiled_for(project: Project) -> CompiledPatterns:
    """The project's rules compiled, from the per-process cache while the codebook is unchanged.

    Archived codes are left out. One query (the rules, hashed into the version) whether the
    cache hits or misses; a miss then compiles. Holds one compiled codebook per project (the
    latest), and at most CACHE_SIZE projects, least recently used first out.
    """
    from observations.nlp import get_pipeline

    rules = _rules(project)
    version = _version(project.language, rules)
    with _lock:
        cached = _cache.get(project.pk)
        if cached is not None and cached.version == version:
            _cache.move_to_end(project.pk)
            return cached
        # Compile under the lock: concurrent requests for a changed codebook compile it once.
        rows = [(pk, json.loads(raw)) for pk, raw in rules]
        compiled = compile_patterns(rows, get_pipeline(project.language), version=version)
        _cache[project.pk] = compiled
        _cache.move_to_end(project.pk)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return compiled


def cache_clear() -> None:
    """Forget every compiled codebook (tests; a process that changed pipelines)."""
    with _lock:
        _cache.clear()
