"""Personal data found by patterns: e-mail addresses, phone numbers and payment cards, plus the
kinds, the `Detection` record and the normalised forms every PII detector shares. Pure: no ORM.

`observations.pii.detect()` combines these with the name detectors; see observations/PII.md.
"""

import re
import unicodedata
from collections.abc import Callable
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
_CARD_RUN_RE = re.compile(r"(?<![\w+#.,/-])(?<!\d[ -])\+?\d+(?:[ -]\+?\d+)*(?![\w/]|[.,]\d)")
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


def find_numbers(text: str) -> list[Detection]:
    """Cards, then phone numbers in what the cards leave: a Luhn-valid card is stronger
    evidence than a phone shape, so a run like "+1 415-555-0132 4539 1488 0343 6467" gives the
    phone and the card, not a longer phone ending inside the card."""
    cards = find_cards(text)
    masked = list(text)
    for card in cards:
        masked[card.start : card.end] = "x" * (card.end - card.start)
    return [*cards, *find_phones("".join(masked))]
