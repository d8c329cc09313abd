"""Finding personal data in text: pure functions over a string that return offsets. No ORM.

`detect()` combines four detectors — e-mail, phone and payment-card regexes, person-name spans
that the caller found with spaCy NER, and the project's list of known real names — plus two
honest heuristics for names NER misses (names after cues such as "my name is", and speaker
labels at the start of a line). Overlaps are resolved so that every character belongs to at most
one detection: known names first (the owner listed them), then the longest span.

Each detection carries a *normalised* value, the form under which the pseudonym key stores it:
case-folded name with single spaces, digits of a phone (UK national numbers in international
form) or card, lower-case e-mail.
"""

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# Kinds and sources as stored on PiiCandidate (observations.models.PiiKind); plain strings so
# this module stays free of Django.
PERSON = "person"
EMAIL = "email"
PHONE = "phone"
CARD = "card"
KNOWN_NAME = "known_name"

SOURCE_NER = "ner"
SOURCE_REGEX = "regex"
SOURCE_KNOWN = "known"

NAME_KINDS = frozenset({PERSON, KNOWN_NAME})


@dataclass(frozen=True, order=True)
class Detection:
    """One span `[start, end)` of `text` that looks like personal data."""

    start: int
    end: int
    kind: str
    source: str
    value: str


# --- normalisation -------------------------------------------------------------------------


def normalise_name(name: str) -> str:
    """Case-folded NFC name with single spaces, straight apostrophes, no possessive ending."""
    name = unicodedata.normalize("NFC", name).strip()
    name = re.sub(r"['’]s$", "", name).replace("’", "'")
    return " ".join(name.casefold().split())


def normalise_phone(number: str) -> str:
    """Digits of a phone number in international form where the country is known.

    `+44 7700 900123`, `0044 7700 900123`, `+44 (0)7700 900123` and the UK national
    `07700 900123` all give `447700900123`; a number without any prefix keeps its digits.
    """
    stripped = number.strip()
    digits = re.sub(r"\D", "", stripped)
    if stripped.startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    elif digits.startswith("0"):
        # A national number with a trunk 0: Verbatim's corpus is UK-first, so read it as +44.
        international = "44" + digits[1:]
    else:
        return digits
    if international.startswith("440"):  # "+44 (0)20 ..." keeps a trunk 0 that dialling drops
        international = "44" + international[3:]
    return international


def normalise_value(kind: str, raw: str) -> str:
    """The key-table form of a raw detected value of `kind`."""
    if kind in NAME_KINDS:
        return normalise_name(raw)
    if kind == EMAIL:
        return raw.strip().lower()
    if kind == PHONE:
        return normalise_phone(raw)
    if kind == CARD:
        return re.sub(r"\D", "", raw)
    raise ValueError(f"Unknown PII kind {kind!r}")


# --- e-mail --------------------------------------------------------------------------------

_EMAIL_RE = re.compile(
    r"(?<![\w.+%'-])"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}"
    r"(?![\w@-]|\.[A-Za-z0-9])"
)


def find_emails(text: str) -> list[Detection]:
    """E-mail addresses: a dotted local part, `@`, and a domain with a letter TLD."""
    return [
        Detection(m.start(), m.end(), EMAIL, SOURCE_REGEX, m.group().lower())
        for m in _EMAIL_RE.finditer(text)
    ]


# --- payment cards -------------------------------------------------------------------------

# Runs of digit groups joined by single spaces or dashes; cards are looked for inside them.
# A run starts where no digit group stands just before it (a phone's "+44" starts one too, so
# that a card after a phone number is still found).
_CARD_RUN_RE = re.compile(r"(?<![\w+#.,/-])(?<!\d[ -])\+?\d+(?:[ -]\d+)*(?![\w/]|[.,]\d)")
# How cards are printed: fours (the last group may be shorter), or 4-6-5 and 4-6-4.
_CARD_GROUPS_RE = re.compile(r"\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?|\d{4}[ -]\d{6}[ -]\d{4,5}")


def luhn_valid(digits: str) -> bool:
    """True if the digit string passes the Luhn checksum payment cards carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_ok(piece: str) -> bool:
    digits = re.sub(r"\D", "", piece)
    if not 13 <= len(digits) <= 19 or digits[0] == "0":
        return False
    # Grouped as cards are printed, with one kind of separator.
    if digits != piece and (
        len(set(re.findall(r"[ -]", piece))) > 1 or not _CARD_GROUPS_RE.fullmatch(piece)
    ):
        return False
    return luhn_valid(digits)


def find_cards(text: str) -> list[Detection]:
    """Payment card numbers: 13-19 digits, optionally grouped by spaces or dashes, Luhn-valid.

    Inside a longer run of digit groups (a card followed by a phone number), the longest valid
    run of whole groups is taken from the left.
    """
    found = []
    for m in _CARD_RUN_RE.finditer(text):
        for start, end in _group_runs(m.group(), _card_ok):
            raw = m.group()[start:end]
            found.append(
                Detection(
                    m.start() + start, m.start() + end, CARD, SOURCE_REGEX, re.sub(r"\D", "", raw)
                )
            )
    return found


def _group_runs(raw: str, valid: Callable[[str], bool]) -> list[tuple[int, int]]:
    """The valid numbers inside one run of digit groups, as offsets into `raw`.

    Usually the whole run is one number; when it is not (two numbers one after the other,
    "07700 900123 07700 900124"), the longest valid run of whole groups is taken from the left.
    """
    groups = [g.span() for g in re.finditer(r"[^ .\-\u00a0]+", raw)]
    runs = []
    i = 0
    while i < len(groups):
        for j in range(len(groups), i, -1):
            start, end = groups[i][0], groups[j - 1][1]
            if valid(raw[start:end]):
                runs.append((start, end))
                i = j
                break
        else:
            i += 1
    return runs


# --- phone numbers -------------------------------------------------------------------------

_SEP = r"[ .\-\u00a0]?"
_GROUP = r"(?:\(\+?\d{1,5}\)|\d{1,15})"
_PHONE_RE = re.compile(
    rf"(?<![\w+#£$€¥@/:.,\-])(?<!\d[ .\-\u00a0])(?:\+{_SEP})?{_GROUP}(?:{_SEP}\+?{_GROUP})*"
    r"(?![\w@/%£$€-]|[.,:]\d)"
)
_NORTH_AMERICAN_RE = re.compile(r"\d{3}[-. ]\d{3}[-. ]\d{4}")
_DATE_LIKE_RE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}(?:\D.*)?")
# Words after which a digit run is a reference, not a phone number ("order 0123 456 789").
_REFERENCE_CUE_RE = re.compile(
    r"(?:order|invoice|ref|reference|account|acct|ticket|case|tracking|policy|booking|"
    r"serial|sku|po|receipt|transaction|membership|customer|claim|parcel|id|iban|sort code)"
    r"\s*(?:no\.?|number|num|id|code)?\s*(?:is|was|:|#)?\s*$",
    re.IGNORECASE,
)


def _phone_ok(raw: str) -> bool:
    return _phone_shape_ok(raw, re.sub(r"\D", "", raw))


def _phone_shape_ok(raw: str, digits: str) -> bool:
    if not 9 <= len(digits) <= 15:
        return False
    if raw.count("(") != raw.count(")") or "+" in raw.replace("(+", "(")[1:]:
        return False
    # Brackets hold the area code (first group) or the trunk after a country code, "+44 (0)20".
    bracket = raw.find("(")
    if bracket > 0 and not (raw.startswith(("+", "00")) and raw[:bracket].count(" ") <= 1):
        return False
    if raw.startswith("+") or raw.startswith("(+"):
        return True
    if digits.startswith("00"):
        return len(digits) >= 11 and digits[2] != "0"  # a country code never starts with 0
    if raw.startswith("(") or digits.startswith("0"):
        # National numbers: UK numbers have 10 or 11 digits, a trunk 0 and then a non-zero.
        return 10 <= len(digits) <= 11 and digits[1] != "0" and not _DATE_LIKE_RE.fullmatch(raw)
    return bool(_NORTH_AMERICAN_RE.fullmatch(raw))


def find_phones(text: str) -> list[Detection]:
    """Phone numbers in UK and international formats with 9-15 digits.

    A number must look dialable: an international prefix (`+`, `00`), a national trunk `0`,
    an area code in brackets, or the North American `415-555-0132` shape. Digit runs after
    reference words ("order", "invoice", "account" ...) and date-like runs are left alone.
    """
    found = []
    for m in _PHONE_RE.finditer(text):
        for start, end in _group_runs(m.group(), _phone_ok):
            raw = m.group()[start:end]
            if _REFERENCE_CUE_RE.search(text[max(0, m.start() + start - 30) : m.start() + start]):
                continue
            found.append(
                Detection(
                    m.start() + start, m.start() + end, PHONE, SOURCE_REGEX, normalise_phone(raw)
                )
            )
    return found


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
    regex_hits = [*find_emails(text), *find_cards(text), *find_phones(text)]
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
