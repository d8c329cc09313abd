"""Finding personal data in text: pure functions over a string that return offsets. No ORM.

`detect()` combines four detectors — e-mail, phone and payment-card patterns (in
observations/pii_patterns.py), person-name spans that the caller found with spaCy NER, and the
project's list of known real names — plus two heuristics for names NER misses (names after cues
such as "my name is", and speaker labels at the start of a line). Overlaps are resolved so that
every character belongs to at most one detection: known names and patterns first, then the
longest span.

Each detection carries a *normalised* value, the form under which the pseudonym key stores it:
case-folded name with single spaces, digits of a phone (UK national numbers in international
form) or card, lower-case e-mail.
"""

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence

from observations.pii_patterns import (
    CARD,
    EMAIL,
    KNOWN_NAME,
    NAME_KINDS,
    PERSON,
    PHONE,
    SOURCE_KNOWN,
    SOURCE_NER,
    SOURCE_REGEX,
    Detection,
    find_cards,
    find_emails,
    find_numbers,
    find_phones,
    luhn_valid,
    normalise_name,
    normalise_phone,
    normalise_value,
)

__all__ = [
    "CARD",
    "EMAIL",
    "KNOWN_NAME",
    "NAME_KINDS",
    "PERSON",
    "PHONE",
    "SOURCE_KNOWN",
    "SOURCE_NER",
    "SOURCE_REGEX",
    "Detection",
    "detect",
    "find_cards",
    "find_cued_names",
    "find_emails",
    "find_known_names",
    "find_numbers",
    "find_phones",
    "luhn_valid",
    "normalise_name",
    "normalise_phone",
    "normalise_value",
    "resolve_overlaps",
]


# --- names ---------------------------------------------------------------------------------

# One capitalised name word: "Zoë", "O'Brien", "McAllister", "Nguyen-Tran".
_NAME_WORD = r"(?:[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿA-ZÀ-ÖØ-Þ]*(?:['’\-][A-ZÀ-ÖØ-Þa-zß-öø-ÿ]+)*)"
# Lower-case particles inside a name ("van der", "de", "bin", "da").
_PARTICLE = r"(?:van|von|der|den|de|del|della|di|da|dos|du|le|la|bin|binti|ibn|al|el|ten|ter)"
_FULL_NAME = rf"{_NAME_WORD}(?:[ \u00a0](?:{_PARTICLE}[ \u00a0])*{_NAME_WORD}){{0,3}}"

# Phrases after which a capitalised run is someone's name.
_NAME_CUES = (
    r"my name is|my name's|name is|named|called|I'm|I am|this is|speaking with|spoke to|"
    r"spoke with|spoken to|talked to|talking to|talked with|dealt with|ask for|asked for|"
    r"thanks|thank you|cheers|hi|hello|dear|met|meet|it was|was it|it's|it is|"
    r"mr\.?|mrs\.?|ms\.?|miss|mx\.?|dr\.?|prof\.?|sir|dame|"
    r"colleague|manager|wife|husband|partner|son|daughter|friend|brother|sister|mum|mom|dad|"
    r"mother|father|boss|neighbour|neighbor|advisor|adviser|agent|engineer|nurse|doctor|"
    r"assistant|rep|representative|consultant"
)
# Cues in any case ("My name is"), names capitalised.
_CUE_RE = re.compile(rf"(?<!\w)(?i:{_NAME_CUES}),?[ \u00a0]+(?P<name>{_FULL_NAME})")
_SPEAKER_RE = re.compile(
    rf"^[ \t]*(?:\[[\d:.]+\][ \t]*)?(?P<name>{_FULL_NAME})[ \t]*(?:\([^)\n]*\))?[ \t]*:",
    re.MULTILINE,
)


# Capitalised words that follow a cue or stand as a label but are not names.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NOT_NAMES = _words(
    """
    a an and the i i'm im it it's this that these those he she they we you our your my his her
    their its there here what when where who why how yes no not ok okay so but or if then well
    oh hi hello hey thanks thank sorry please sure right good great fine just also very really
    interviewer interviewee moderator facilitator researcher participant respondent speaker
    customer client caller agent advisor adviser host guest user unknown note notes summary
    keywords speakers transcript question answer q a observation quote interpretation context
    monday tuesday wednesday thursday friday saturday sunday january february march april june
    july august september october november december today tomorrow yesterday
    english british irish scottish welsh american french german spanish italian polish indian
    chinese african european asian london manchester dublin support team store shop online
    app website bank mobile phone email e-mail card account order service sales billing
    """
)


def _plausible_name(name: str) -> bool:
    """Not only words that are never names. Case is not required: NER spans are trusted, and
    the cue and label heuristics only ever match capitalised words."""
    words = name.split()
    if not words:
        return False
    return not all(w.casefold().strip("'’") in _NOT_NAMES for w in words)


def _trim_name_words(name: str) -> str:
    """Drop leading/trailing words that are not names ("Hi Anna" keeps "Anna")."""
    words = name.split()
    while words and words[0].casefold() in _NOT_NAMES:
        words.pop(0)
    while words and words[-1].casefold() in _NOT_NAMES:
        words.pop()
    return " ".join(words)


def _name_detection(
    text: str, start: int, end: int, source: str, kind: str = PERSON
) -> Detection | None:
    """A detection for `text[start:end]` trimmed of spaces, punctuation and a possessive."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    if text[start:end].endswith(("'s", "’s")):
        end -= 2
    span = text[start:end]
    if not span or any(c.isdigit() or c in "@\n" for c in span) or not _plausible_name(span):
        return None
    return Detection(start, end, kind, source, normalise_name(span))


def find_cued_names(text: str) -> list[Detection]:
    """Capitalised names after cues ("my name is Zoë Müller") and as speaker labels.

    A one-word label ("Anna:") counts only when it labels two or more lines, as a speaker's
    does; once, it is as likely a heading ("Summary:", "Numbers:").
    """
    found = []
    labels: dict[str, list[Detection]] = {}
    for regex in (_CUE_RE, _SPEAKER_RE):
        for m in regex.finditer(text):
            name = m.group("name")
            trimmed = _trim_name_words(name)
            if not trimmed:
                continue
            offset = m.start("name") + name.index(trimmed)
            detection = _name_detection(text, offset, offset + len(trimmed), SOURCE_NER)
            if detection is None:
                continue
            if regex is _SPEAKER_RE and " " not in trimmed:
                labels.setdefault(trimmed, []).append(detection)
            else:
                found.append(detection)
    found.extend(d for same in labels.values() if len(same) > 1 for d in same)
    return found


def find_known_names(text: str, known_names: Iterable[str]) -> list[Detection]:
    """Whole-word, case-insensitive occurrences of the listed names, longest name first.

    The value is the listed name (normalised), so every spelling maps to one key entry.
    """
    names = sorted({normalise_name(n) for n in known_names if n.strip()}, key=len, reverse=True)
    if not names:
        return []
    # Any run of spaces between words, and either apostrophe ("O'Brien" matches "O’Brien").
    alternatives = [
        r"\s+".join(re.sub(r"['’]", "['’]", re.escape(part)) for part in name.split())
        for name in names
    ]
    pattern = re.compile(rf"(?<![\w@.])(?:{'|'.join(alternatives)})(?![\w@]|\.\w)", re.IGNORECASE)
    return [
        Detection(
            m.start(),
            m.end(),
            KNOWN_NAME,
            SOURCE_KNOWN,
            normalise_name(m.group()),
        )
        for m in pattern.finditer(text)
    ]


def _propagate_names(text: str, names: Sequence[Detection]) -> list[Detection]:
    """Other occurrences of names found once: the full name and, for a first + last name, each
    part on its own ("Zoë Müller ... Zoë said"). Case-sensitive, whole words."""
    surfaces: set[str] = set()
    for d in names:
        surface = text[d.start : d.end]
        surfaces.add(surface)
        parts = surface.split()
        if len(parts) > 1:
            surfaces.update(p for p in parts if len(p) > 1 and p.casefold() not in _NOT_NAMES)
    surfaces.discard("")
    if not surfaces:
        return []
    # One scan for all of them, longest first so a full name wins over its parts.
    alternation = "|".join(re.escape(x) for x in sorted(surfaces, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w@.])(?:{alternation})(?![\w@]|\.\w)")
    return [
        Detection(m.start(), m.end(), PERSON, SOURCE_NER, normalise_name(m.group()))
        for m in pattern.finditer(text)
    ]


def _merge_adjacent(text: str, names: Sequence[Detection]) -> list[Detection]:
    """Join person spans separated by one space into one name ("Ana" + "Sofia" found apart
    when a two-word first name is mentioned alone), keeping the pieces as alternatives."""
    ordered = sorted(names)
    merged = list(ordered)
    for i, left in enumerate(ordered):
        for right in ordered[i + 1 :]:
            if right.start > left.end + 1:
                break
            if right.start == left.end + 1 and text[left.end] == " ":
                span = text[left.start : right.end]
                merged.append(
                    Detection(left.start, right.end, PERSON, left.source, normalise_name(span))
                )
    return merged


# --- combining -----------------------------------------------------------------------------

# Known names and regex hits do not overlap each other in practice (known names stop at "@" and
# "."), so they share a rank and the longer wins; both beat NER.
_SOURCE_RANK = {SOURCE_KNOWN: 0, SOURCE_REGEX: 0, SOURCE_NER: 1}


def resolve_overlaps(detections: Iterable[Detection]) -> list[Detection]:
    """Keep non-overlapping detections: known names first, then the longest, then the earliest.

    Sorted by start in the result.
    """
    ordered = sorted(
        set(detections), key=lambda d: (_SOURCE_RANK.get(d.source, 9), d.start - d.end, d.start)
    )
    taken: list[Detection] = []
    # Kept intervals never overlap, so both lists stay sorted and the nearest one decides.
    starts: list[int] = []
    ends: list[int] = []
    for d in ordered:
        index = bisect_left(starts, d.end)
        if index and ends[index - 1] > d.start:
            continue
        if index < len(starts) and starts[index] < d.end:
            continue
        starts.insert(index, d.start)
        ends.insert(index, d.end)
        taken.append(d)
    return sorted(taken)


def _overlapping(
    blockers: Sequence[Detection], starts: Sequence[int], longest: int, d: Detection
) -> list[Detection]:
    """The detections among `blockers` (sorted by start, longest `longest` chars) that overlap
    `d`."""
    found = []
    index = bisect_left(starts, d.end) - 1
    while index >= 0 and starts[index] > d.start - longest:
        if blockers[index].end > d.start:
            found.append(blockers[index])
        index -= 1
    return found


def _ner_remainders(text: str, ner: Detection, blockers: Sequence[Detection]) -> list[Detection]:
    """Parts of a NER name outside the known names and regex hits that overlap it."""
    pieces = [(ner.start, ner.end)]
    for b in blockers:
        next_pieces = []
        for start, end in pieces:
            if b.end <= start or b.start >= end:
                next_pieces.append((start, end))
                continue
            next_pieces.extend(p for p in ((start, b.start), (b.end, end)) if p[0] < p[1])
        pieces = next_pieces
    found = []
    for start, end in pieces:
        d = _name_detection(text, start, end, SOURCE_NER)
        if d is not None:
            found.append(d)
    return found


def _pseudonym_spans(text: str, pseudonyms: Sequence[str]) -> list[tuple[int, int]]:
    """Where pseudonyms already stand, sorted and non-overlapping: nothing is proposed there
    ("[Person 1]" is no name). One scan of the text, longest pseudonym first."""
    ordered = sorted({p for p in pseudonyms if p}, key=len, reverse=True)
    if not ordered:
        return []
    pattern = re.compile("|".join(re.escape(p) for p in ordered))
    return [m.span() for m in pattern.finditer(text)]


def _outside(spans: list[tuple[int, int]], d: Detection) -> bool:
    """True if `d` overlaps none of the sorted, non-overlapping `spans`."""
    index = bisect_left(spans, (d.end, d.end))
    return index == 0 or spans[index - 1][1] <= d.start


def detect(
    text: str,
    *,
    person_spans: Sequence[tuple[int, int]],
    known_names: Sequence[str],
    pseudonyms: Sequence[str] = (),
) -> list[Detection]:
    """Every span of `text` that looks like personal data, non-overlapping, sorted by start.

    `person_spans` are the PERSON entities the caller's spaCy pipeline found (character
    offsets); `known_names` the project's listed real names; nothing overlapping one of the
    `pseudonyms` (replacements already made) is returned.
    """
    known = find_known_names(text, known_names)
    regex_hits = [*find_emails(text), *find_numbers(text)]
    seeds = [
        d
        for d in (_name_detection(text, s, e, SOURCE_NER) for s, e in person_spans)
        if d is not None
    ]
    seeds.extend(find_cued_names(text))
    blockers = sorted([*known, *regex_hits])
    blocker_starts = [b.start for b in blockers]
    longest = max((b.end - b.start for b in blockers), default=0)
    names: list[Detection] = []
    for seed in seeds:
        overlapping = _overlapping(blockers, blocker_starts, longest, seed)
        if overlapping:
            names.extend(_ner_remainders(text, seed, overlapping))
        else:
            names.append(seed)
    # Seeds covered by a known name still tell where else that person is mentioned.
    names = [*names, *_propagate_names(text, [*names, *seeds])]
    names = _merge_adjacent(text, names)
    placed = _pseudonym_spans(text, pseudonyms)
    return [d for d in resolve_overlaps([*known, *regex_hits, *names]) if _outside(placed, d)]
