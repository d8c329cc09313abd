"""Sessions, field notes and documents: normalisation, turn checks, project boundaries."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from observations import services
from observations.models import Document, SpeakerTurn
from observations.services import TurnInput
from tests.factories import ParticipantFactory, SessionFactory

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_document_create_normalises_text_when_it_has_bom_crlf_and_decomposed_accents(team):
    raw = "\ufeffCafe\u0301 visit\r\nsecond line\rthird"
    document, job = services.document_create(
        project=team.project, creator=team.researcher, title=" Visit ", text=raw
    )
    assert document.text == "Caf\u00e9 visit\nsecond line\nthird"
    assert document.char_count == len(document.text)
    assert document.title == "Visit"
    assert job.kind == "document_process"
    assert job.params == {"document": document.pk}


def test_document_create_stores_turns_when_offsets_fit(team):
    participant = ParticipantFactory.create(project=team.project)
    text = "Interviewer: Hi.\nP07: The app never let me in 😡."
    turns = [
        TurnInput(start=0, end=16, speaker="Interviewer", interviewer=team.researcher),
        TurnInput(
            start=17, end=len(text), speaker="P07", participant=participant, started_at_ms=4200
        ),
    ]
    document, _ = services.document_create(
        project=team.project, creator=team.researcher, title="Call", text=text, turns=turns
    )
    stored = list(document.turns.order_by("index"))
    assert [document.text[t.start : t.end][:4] for t in stored] == ["Inte", "P07:"]
    assert stored[1].participant == participant
    assert stored[1].started_at_ms == 4200


@pytest.mark.parametrize(
    ("turns", "field"),
    [
        ([TurnInput(start=0, end=99)], "turns[0]"),
        ([TurnInput(start=3, end=3)], "turns[0]"),
        ([TurnInput(start=0, end=5), TurnInput(start=4, end=8)], "turns[1]"),
    ],
)
def test_document_create_refuses_turns_when_offsets_are_wrong(team, turns, field):
    with pytest.raises(ValidationError) as error:
        services.document_create(
            project=team.project, creator=team.owner, title="T", text="0123456789", turns=turns
        )
    assert field in error.value.message_dict
    assert not Document.objects.filter(project=team.project).exists()


def test_document_create_refuses_turns_when_text_would_change_in_normalisation(team):
    with pytest.raises(ValidationError) as error:
        services.document_create(
            project=team.project,
            creator=team.owner,
            title="T",
            text="a\r\nb",
            turns=[TurnInput(start=0, end=1)],
        )
    assert "text" in error.value.message_dict


def test_document_create_refuses_participant_when_from_another_project(team):
    foreign = ParticipantFactory.create(project=team.other_project)
    with pytest.raises(ValidationError) as error:
        services.document_create(
            project=team.project, creator=team.owner, title="T", text="hello", participant=foreign
        )
    assert "participant" in error.value.message_dict


def test_document_create_refuses_text_when_over_the_limit(team, settings):
    settings.VERBATIM_MAX_DOCUMENT_CHARS = 10
    with pytest.raises(ValidationError) as error:
        services.document_create(project=team.project, creator=team.owner, title="T", text="x" * 11)
    assert "text" in error.value.message_dict


def test_document_update_refuses_text_when_changed_directly(team):
    document, _ = services.document_create(
        project=team.project, creator=team.owner, title="T", text="hello"
    )
    with pytest.raises(ValidationError):
        services.document_update(document=document, text="changed")
    assert services.document_update(document=document, title="Better").title == "Better"


def test_document_process_marks_ready_and_counts_when_run_twice(team):
    document, _ = services.document_create(
        project=team.project,
        creator=team.owner,
        title="T",
        text="one two three",
        turns=[TurnInput(start=0, end=3)],
    )
    first = services.document_process(document=document)
    second = services.document_process(document=document)
    assert first == second == {"document": document.pk, "characters": 13, "words": 3, "turns": 1}
    assert Document.objects.get(pk=document.pk).status == Document.Status.READY
    assert SpeakerTurn.objects.filter(document=document).count() == 1


def test_session_create_refuses_when_it_ends_before_it_starts(team):
    with pytest.raises(ValidationError) as error:
        services.session_create(
            project=team.project,
            title="Store",
            started_at=START,
            ended_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        )
    assert "ended_at" in error.value.message_dict


def test_session_create_refuses_observer_when_not_a_member(team):
    with pytest.raises(ValidationError) as error:
        services.session_create(
            project=team.project, title="Store", started_at=START, observer=team.outsider
        )
    assert "observer" in error.value.message_dict


def test_session_update_replaces_participants_when_given(team):
    session = SessionFactory.create(project=team.project)
    people = [ParticipantFactory.create(project=team.project) for _ in range(2)]
    services.session_update(session=session, participants=people, site="Leeds store")
    assert set(session.participants.all()) == set(people)
    assert session.site == "Leeds store"
    with pytest.raises(ValidationError):
        services.session_update(
            session=session, participants=[ParticipantFactory.create(project=team.other_project)]
        )


def test_note_create_strips_text_and_refuses_when_empty(team):
    session = SessionFactory.create(project=team.project)
    note = services.note_create(
        session=session, author=team.researcher, observed_at=START, text="  Queue of 6 \r\n"
    )
    assert note.text == "Queue of 6"
    with pytest.raises(ValidationError):
        services.note_create(session=session, author=team.researcher, observed_at=START, text=" ")


def test_document_create_gives_text_error_when_too_many_distinct_words_for_search_index(team):
    import random

    from django.db import connection

    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    # ~190,000 distinct made-up words: far over PostgreSQL's 1 MB tsvector limit.
    text = " ".join("".join(rng.choice(letters) for _ in range(9)) for _ in range(190_000))
    if connection.vendor == "postgresql":
        with pytest.raises(ValidationError) as error:
            services.document_create(project=team.project, creator=team.owner, title="D", text=text)
        assert "search index" in error.value.message_dict["text"][0]
        assert not Document.objects.filter(project=team.project).exists()
    else:  # SQLite has no such index: the text is stored
        document, _ = services.document_create(
            project=team.project, creator=team.owner, title="D", text=text
        )
        assert document.char_count == len(text)
