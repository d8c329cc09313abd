"""PII services: detection candidates, decisions, consistent application through the key table."""

import pytest
from django.core.exceptions import ValidationError

from observations import pii
from observations.models import Document, PiiCandidate, PiiKeyEntry, PiiKind, SpeakerTurn
from observations.services import pii as pii_services
from observations.services import pii_detect
from tests.conftest import Team
from tests.factories import DocumentFactory, ExcerptFactory, SpeakerTurnFactory

pytestmark = pytest.mark.django_db


def _document(team: Team, text: str, title: str = "Call") -> Document:
    return DocumentFactory.create(project=team.project, title=title, text=text)


def _names(text: str, *names: str) -> list[tuple[int, int]]:
    """NER-like person spans: every occurrence of each name."""
    spans = []
    for name in names:
        start = text.find(name)
        while start >= 0:
            spans.append((start, start + len(name)))
            start = text.find(name, start + 1)
    return spans


def _accept_all(document: Document, team: Team) -> None:
    for candidate in document.pii_candidates.filter(status=PiiCandidate.Status.PENDING):
        pii_services.pii_decide(candidate=candidate, status="accepted", user=team.owner)


def test_pii_detect_replaces_pending_and_keeps_decided_when_run_twice(team: Team) -> None:
    text = "Write to zoe@example.com or call 07700 900123. Zoë Müller said hi."
    document = _document(team, text)
    found = pii_detect(document=document, person_spans=_names(text, "Zoë Müller"))
    assert {(c.kind, text[c.start : c.end]) for c in found} == {
        ("email", "zoe@example.com"),
        ("phone", "07700 900123"),
        ("person", "Zoë Müller"),
    }
    email = next(c for c in found if c.kind == "email")
    pii_services.pii_decide(candidate=email, status="rejected", user=team.owner)

    again = pii_detect(document=document, person_spans=[])
    assert {c.kind for c in again} == {"phone"}
    assert document.pii_candidates.filter(status=PiiCandidate.Status.REJECTED).count() == 1
    assert document.pii_candidates.count() == 2


def test_same_person_gets_same_pseudonym_when_in_two_documents(team: Team) -> None:
    first_text = "Zoë Müller called about her bill. Later Zoë Müller rang again."
    second_text = "I spoke with Chidi Okonkwo and then with zoë müller, e-mail zm@example.org."
    first = _document(team, first_text, "First")
    second = _document(team, second_text, "Second")
    pii_detect(document=first, person_spans=_names(first_text, "Zoë Müller"))
    pii_detect(document=second, person_spans=_names(second_text, "Chidi Okonkwo", "zoë müller"))
    _accept_all(first, team)
    _accept_all(second, team)

    result = pii_services.pii_apply(project=team.project, user=team.owner)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.text == "[Person 1] called about her bill. Later [Person 1] rang again."
    assert second.text == ("I spoke with [Person 2] and then with [Person 1], e-mail [Email 1].")
    assert result.documents == 2
    assert result.replaced == {"person": 4, "email": 1}
    keys = {(k.kind, k.real_value): k.pseudonym for k in PiiKeyEntry.objects.all()}
    assert keys == {
        ("person", "zoë müller"): "[Person 1]",
        ("person", "chidi okonkwo"): "[Person 2]",
        ("email", "zm@example.org"): "[Email 1]",
    }
    applied = PiiCandidate.objects.filter(status=PiiCandidate.Status.APPLIED)
    assert applied.count() == 5
    assert all(c.key_id is not None for c in applied)
    for document in (first, second):
        assert "Müller" not in document.text
        assert "müller" not in document.text


def test_longest_known_name_wins_when_names_nest(team: Team) -> None:
    pii_services.pii_known_name_create(project=team.project, name="Anna", pseudonym="P-A")
    pii_services.pii_known_name_create(project=team.project, name="Anna Maria", pseudonym="P-AM")
    text = "ANNA MARIA said that Anna would call. Annabel did not."
    document = _document(team, text)
    found = pii_detect(document=document, person_spans=[])
    assert [(text[c.start : c.end], c.kind, c.source) for c in found] == [
        ("ANNA MARIA", "known_name", "known"),
        ("Anna", "known_name", "known"),
    ]
    _accept_all(document, team)
    pii_services.pii_apply(project=team.project, user=team.owner)
    document.refresh_from_db()
    assert document.text == "P-AM said that P-A would call. Annabel did not."


def test_known_name_beats_ner_and_keeps_surname_when_ner_span_is_longer(team: Team) -> None:
    text = "Anna Maria Rossi was helpful."
    found = pii.detect(text, person_spans=[(0, 16)], known_names=["Anna Maria"])
    assert [(text[d.start : d.end], d.kind) for d in found] == [
        ("Anna Maria", "known_name"),
        ("Rossi", "person"),
    ]


def test_apply_reanchors_excerpts_when_a_name_inside_one_is_replaced(team: Team) -> None:
    text = "Siobhán O'Sullivan opened the app. The login screen was confusing."
    document = _document(team, text)
    around_name = ExcerptFactory.create(document=document, start=0, end=33)
    later = text.index("The login")
    elsewhere = ExcerptFactory.create(document=document, start=later, end=len(text))
    pii_detect(document=document, person_spans=_names(text, "Siobhán O'Sullivan"))
    _accept_all(document, team)

    result = pii_services.pii_apply(project=team.project, user=team.owner)

    document.refresh_from_db()
    around_name.refresh_from_db()
    elsewhere.refresh_from_db()
    assert document.text.startswith("[Person 1] opened the app.")
    assert around_name.needs_review
    assert "O'Sullivan" not in around_name.text + around_name.review_reason
    assert not elsewhere.needs_review
    assert document.text[elsewhere.start : elsewhere.end] == "The login screen was confusing."
    assert result.excerpts_flagged == 1
    assert result.excerpts_moved == 1


def test_speaker_names_are_replaced_when_they_equal_a_replaced_name(team: Team) -> None:
    text = "Kwame Mensah: I paid twice.\nInterviewer: Thanks, Kwame Mensah."
    document = _document(team, text)
    SpeakerTurnFactory.create(document=document, index=0, speaker="Kwame Mensah", start=0, end=27)
    SpeakerTurnFactory.create(
        document=document, index=1, speaker="Interviewer", start=28, end=len(text)
    )
    elsewhere = _document(team, "I paid twice, and nobody called back.", "Follow-up")
    SpeakerTurnFactory.create(document=elsewhere, index=0, speaker="kwame  mensah", start=0, end=5)
    pii_detect(document=document, person_spans=_names(text, "Kwame Mensah"))
    _accept_all(document, team)

    result = pii_services.pii_apply(project=team.project, user=team.owner)

    speakers = list(
        SpeakerTurn.objects.filter(document=document)
        .order_by("index")
        .values_list("speaker", flat=True)
    )
    assert speakers == ["[Person 1]", "Interviewer"]
    assert result.speakers_renamed == 2
    # The same speaker in another document, whose text never named them, is renamed too.
    assert SpeakerTurn.objects.get(document=elsewhere).speaker == "[Person 1]"


def test_rejected_candidates_follow_their_words_when_another_value_is_replaced(
    team: Team,
) -> None:
    text = "Call 07700 900123 or write to help@example.com today."
    document = _document(team, text)
    found = pii_detect(document=document, person_spans=[])
    phone = next(c for c in found if c.kind == PiiKind.PHONE)
    email = next(c for c in found if c.kind == PiiKind.EMAIL)
    pii_services.pii_decide(candidate=phone, status="accepted", user=team.owner)
    pii_services.pii_decide(candidate=email, status="rejected", user=team.owner)

    pii_services.pii_apply(project=team.project, user=team.owner)

    document.refresh_from_db()
    email.refresh_from_db()
    assert document.text == "Call [Phone 1] or write to help@example.com today."
    assert email.text_version == document.text_version
    assert document.text[email.start : email.end] == "help@example.com"
    assert pii_detect(document=document, person_spans=[]) == []


def test_decide_is_refused_when_candidate_was_applied(team: Team) -> None:
    document = _document(team, "Card 4539 1488 0343 6467 was charged.")
    (card,) = pii_detect(document=document, person_spans=[])
    pii_services.pii_decide(candidate=card, status="accepted", user=team.owner)
    pii_services.pii_apply(project=team.project, user=team.owner)
    card.refresh_from_db()
    assert card.status == PiiCandidate.Status.APPLIED
    with pytest.raises(ValidationError) as error:
        pii_services.pii_decide(candidate=card, status="rejected", user=team.owner)
    assert "status" in error.value.message_dict


def test_phone_forms_share_one_key_when_written_differently(team: Team) -> None:
    text = "Ring +44 7700 900123, or 07700 900123, or 0044 7700 900123."
    document = _document(team, text)
    pii_detect(document=document, person_spans=[])
    _accept_all(document, team)
    pii_services.pii_apply(project=team.project, user=team.owner)
    document.refresh_from_db()
    assert document.text == "Ring [Phone 1], or [Phone 1], or [Phone 1]."
    assert PiiKeyEntry.objects.get().real_value == "447700900123"


def test_known_name_create_is_refused_when_name_is_listed_or_pseudonym_taken(
    team: Team,
) -> None:
    pii_services.pii_known_name_create(project=team.project, name="Zoë Müller", pseudonym="P1")
    with pytest.raises(ValidationError) as duplicate:
        pii_services.pii_known_name_create(project=team.project, name="  zoë   MÜLLER ")
    assert "name" in duplicate.value.message_dict
    with pytest.raises(ValidationError) as taken:
        pii_services.pii_known_name_create(project=team.project, name="Ama", pseudonym="P1")
    assert "pseudonym" in taken.value.message_dict


def test_accept_kind_accepts_only_pending_of_that_kind_when_used(team: Team) -> None:
    text = "a@example.com, b@example.com and 07700 900123"
    document = _document(team, text)
    pii_detect(document=document, person_spans=[])
    changed = pii_services.pii_decide_kind(
        project=team.project, kind="email", status="accepted", user=team.owner
    )
    assert changed == 2
    statuses = dict(document.pii_candidates.values_list("kind", "status").order_by("kind"))
    assert statuses["phone"] == "pending"


def test_decided_candidates_follow_their_words_when_document_is_edited(team: Team) -> None:
    from observations.services import document_set_text

    text = "Call 07700 900123 or write to zoe@example.com today."
    document = _document(team, text)
    pii_detect(document=document, person_spans=[])
    phone = document.pii_candidates.get(kind=PiiKind.PHONE)
    email = document.pii_candidates.get(kind=PiiKind.EMAIL)
    pii_services.pii_decide(candidate=phone, status="rejected", user=team.owner)
    pii_services.pii_decide(candidate=email, status="accepted", user=team.owner)

    edited = "Please " + text.replace("zoe@example.com", "zoe@example.org")
    document_set_text(document=document, text=edited, user=team.owner)

    phone.refresh_from_db()
    email.refresh_from_db()
    # The kept phone moved with its words to the new version: its decision still counts.
    assert phone.text_version == document.text_version
    assert edited[phone.start : phone.end] == "07700 900123"
    # The accepted e-mail's words changed: it stays on the old version, never moved blindly.
    assert email.text_version == document.text_version - 1
