"""The pure detector: what counts as an e-mail, a phone, a card and a name, and what does not."""

import pytest

from observations import pii


def _found(text: str, *, known: list[str] | None = None, persons=()) -> list[tuple[str, str]]:
    detections = pii.detect(text, person_spans=list(persons), known_names=known or [])
    return [(d.kind, text[d.start : d.end]) for d in detections]


@pytest.mark.parametrize(
    ("number", "value"),
    [
        ("+44 7700 900123", "447700900123"),
        ("07700 900123", "447700900123"),
        ("0044 7700 900123", "447700900123"),
        ("+44 (0)7700 900123", "447700900123"),
        ("(020) 7946 0958", "442079460958"),
        ("020 7946 0958", "442079460958"),
        ("+1 415-555-0132", "14155550132"),
        ("415-555-0132", "4155550132"),
        ("+353 1 234 5678", "35312345678"),
        ("07700-900-123", "447700900123"),
        ("(+44) 20 7946 0958", "442079460958"),
        ("+44 (0)20 7946 0958", "442079460958"),
    ],
)
def test_phone_is_found_and_normalised_when_written_in_common_formats(
    number: str, value: str
) -> None:
    text = f"Ring me on {number}, any time."
    (detection,) = pii.detect(text, person_spans=[], known_names=[])
    assert (detection.kind, text[detection.start : detection.end]) == ("phone", number)
    assert detection.value == value


@pytest.mark.parametrize(
    "text",
    [
        "My order 12345 arrived late.",
        "Order number 0845 1234 567 never came.",
        "Account no. 01234567890 is on the letter.",
        "It arrived on 12/03/2024 at 10:30.",
        "It arrived on 2024-03-12 at 10:30:15.",
        "It cost £1,249.99, or 1249.99 GBP.",
        "Ticket #4411 2233 5566 was closed.",
        "We expected 1 200 000 customers in 2026.",
        "Short code 12345 678 is not a number.",
    ],
)
def test_nothing_is_flagged_when_text_has_dates_prices_or_references(text: str) -> None:
    assert _found(text) == []


def test_email_excludes_trailing_punctuation_when_at_sentence_end() -> None:
    text = "Write to Anna.O'Neill+cx@mail.example.co.uk. Or to x@y.io!"
    assert _found(text) == [
        ("email", "Anna.O'Neill+cx@mail.example.co.uk"),
        ("email", "x@y.io"),
    ]
    assert pii.normalise_value("email", "Anna.O'Neill@Example.COM") == "anna.o'neill@example.com"


def test_card_is_found_only_when_luhn_valid() -> None:
    text = "Charged 4539 1488 0343 6467 and 4539-1488-0343-6468, Amex 3782 822463 10005."
    assert _found(text) == [("card", "4539 1488 0343 6467"), ("card", "3782 822463 10005")]
    assert pii.luhn_valid("4111111111111111")
    assert not pii.luhn_valid("4111111111111112")


def test_known_names_match_case_insensitively_longest_first_when_nested() -> None:
    text = "anna maria and ANNA saw Annabel and Zoë Müller's sister."
    found = pii.detect(text, person_spans=[], known_names=["Anna", "Anna Maria", "Zoë Müller"])
    assert [(text[d.start : d.end], d.value) for d in found] == [
        ("anna maria", "anna maria"),
        ("ANNA", "anna"),
        ("Zoë Müller", "zoë müller"),
    ]


def test_known_name_inside_email_is_left_to_the_email_when_overlapping() -> None:
    text = "Anna wrote from anna@example.com."
    assert _found(text, known=["Anna"]) == [("known_name", "Anna"), ("email", "anna@example.com")]


def test_ner_name_is_trimmed_and_repeated_mentions_found_when_given_once() -> None:
    text = "Ms Ngozi Adeyemi's bill was wrong. Ngozi rang twice; Adeyemi is her surname."
    spans = [(3, 19)]  # "Ngozi Adeyemi's" as a pipeline might return it
    assert _found(text, persons=spans) == [
        ("person", "Ngozi Adeyemi"),
        ("person", "Ngozi"),
        ("person", "Adeyemi"),
    ]


def test_names_after_cues_and_speaker_labels_are_found_when_ner_misses_them() -> None:
    text = "Siobhán Ní Bhriain: hello.\nInterviewer: My name is Kofi Osei, thanks Siobhán."
    assert _found(text) == [
        ("person", "Siobhán Ní Bhriain"),
        ("person", "Kofi Osei"),
        ("person", "Siobhán"),
    ]


def test_nothing_is_proposed_over_pseudonyms_when_text_was_replaced_before() -> None:
    text = "My name is [Person 1] and my number is [Phone 1]; Dr Person One agreed."
    found = pii.detect(
        text, person_spans=[(12, 20)], known_names=[], pseudonyms=["[Person 1]", "[Phone 1]"]
    )
    assert [(d.kind, text[d.start : d.end]) for d in found] == [("person", "Person One")]


def test_known_name_matches_either_apostrophe_when_listed_with_one() -> None:
    text = "Seán O’Brien rang; later seán o'brien wrote."
    found = pii.detect(text, person_spans=[], known_names=["Seán O'Brien"])
    assert [(text[d.start : d.end], d.value) for d in found] == [
        ("Seán O’Brien", "seán o'brien"),
        ("seán o'brien", "seán o'brien"),
    ]


def test_numbers_in_a_row_are_found_apart_when_written_one_after_another() -> None:
    text = "Numbers: +44 7700 900124 4539 1488 0343 6467 07700 900123 (020) 7946 0958."
    assert _found(text) == [
        ("phone", "+44 7700 900124"),
        ("card", "4539 1488 0343 6467"),
        ("phone", "07700 900123"),
        ("phone", "(020) 7946 0958"),
    ]
