"""A session's field notes as one codable document: appending, ranges, edits, retries."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection

from coding.services import excerpt_create
from observations import services
from observations.models import Document, FieldNote
from observations.services.notes import ALL_DELETED, BLOCK_SEPARATOR
from tests.factories import CodeFactory, ParticipantFactory, SessionFactory

T0 = datetime(2026, 3, 2, 10, 42, tzinfo=UTC)


def _note(session, author, text, *, minutes=0, **extra):
    return services.note_create(
        session=session,
        author=author,
        observed_at=T0 + timedelta(minutes=minutes),
        text=text,
        **extra,
    )


def _document(session) -> Document:
    return Document.objects.get(session=session, kind=Document.Kind.FIELD_NOTES)


def _slice(note: FieldNote) -> str:
    note.refresh_from_db()
    assert note.document_start is not None
    assert note.document_end is not None
    return _document(note.session).text[note.document_start : note.document_end]


def test_first_note_creates_field_notes_document_when_session_has_none(team):
    session = SessionFactory.create(project=team.project, title="Main St store")
    p03 = ParticipantFactory.create(project=team.project, pseudonym="P03")
    note = _note(
        session, team.researcher, "  Where is the SIM slot?  ", kind="quote", participant=p03
    )
    document = _document(session)
    assert document.title == "Field notes — Main St store"
    assert document.created_by == team.researcher
    assert document.text == "10:42 · Quote · P03: Where is the SIM slot?"
    assert document.char_count == len(document.text)
    assert _slice(note) == "Where is the SIM slot?"


def test_second_note_appends_block_when_document_exists(team, django_capture_on_commit_callbacks):
    session = SessionFactory.create(project=team.project)
    first = _note(session, team.researcher, "She turns the box over twice.")
    version = _document(session).text_version
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = _note(session, team.researcher, "Why not ask staff?", minutes=2, kind="question")
    document = _document(session)
    assert document.text == (
        "10:42 · Observation: She turns the box over twice.\n\n10:44 · Question: Why not ask staff?"
    )
    assert document.text_version == version + 1
    assert document.char_count == len(document.text)
    assert len(callbacks) == 1  # NLP processing re-queued after commit
    assert _slice(first) == "She turns the box over twice."
    assert _slice(second) == "Why not ask staff?"


def test_appending_keeps_excerpt_offsets_when_notes_arrive_later(team):
    session = SessionFactory.create(project=team.project)
    first = _note(session, team.researcher, "The queue is six people long.")
    first.refresh_from_db()
    code = CodeFactory.create(project=team.project)
    excerpt = excerpt_create(
        document=_document(session),
        code=code,
        start=first.document_start + 4,
        end=first.document_end,
        coder=team.coder,
    )
    # An earlier observation typed up late still goes at the end, its time in the prefix.
    late = _note(session, team.researcher, "Staff member greets nobody.", minutes=-30)
    document = _document(session)
    excerpt.refresh_from_db()
    assert document.text[excerpt.start : excerpt.end] == excerpt.text == "queue is six people long."
    assert document.text.endswith("10:12 · Observation: Staff member greets nobody.")
    assert _slice(late) == "Staff member greets nobody."
    assert _slice(first) == "The queue is six people long."


def test_ranges_slice_to_each_note_when_many_notes_with_newlines_are_added(team):
    session = SessionFactory.create(project=team.project)
    texts = ["One.", "Two lines\nof text.", "Café ☕ emoji 😡 ok", "Last."]
    notes = [_note(session, team.researcher, text, minutes=i) for i, text in enumerate(texts)]
    assert [_slice(note) for note in notes] == texts


def test_edit_rewrites_block_and_keeps_other_ranges_when_note_changes(team):
    session = SessionFactory.create(project=team.project)
    p07 = ParticipantFactory.create(project=team.project, pseudonym="P07")
    a = _note(session, team.researcher, "First note.")
    b = _note(session, team.researcher, "Middle note.", minutes=1)
    c = _note(session, team.researcher, "Last note.", minutes=2)
    c.refresh_from_db()
    excerpt = excerpt_create(
        document=_document(session),
        code=CodeFactory.create(project=team.project),
        start=c.document_start,
        end=c.document_end,
        coder=team.coder,
    )
    services.note_update(
        note=b, user=team.researcher, text="Middle note, now longer.", kind="quote", participant=p07
    )
    document = _document(session)
    assert "10:43 · Quote · P07: Middle note, now longer.\n\n" in document.text
    assert [_slice(n) for n in (a, b, c)] == [
        "First note.",
        "Middle note, now longer.",
        "Last note.",
    ]
    excerpt.refresh_from_db()
    assert document.text[excerpt.start : excerpt.end] == "Last note."
    assert not excerpt.needs_review


def test_delete_removes_block_and_keeps_other_ranges_when_middle_or_last_note_goes(team):
    session = SessionFactory.create(project=team.project)
    a = _note(session, team.researcher, "First note.")
    b = _note(session, team.researcher, "Middle note.", minutes=1)
    c = _note(session, team.researcher, "Last note.", minutes=2)
    services.note_delete(note=b, user=team.researcher)
    assert _document(session).text == (
        "10:42 · Observation: First note.\n\n10:44 · Observation: Last note."
    )
    assert [_slice(a), _slice(c)] == ["First note.", "Last note."]
    services.note_delete(note=c, user=team.researcher)
    assert _document(session).text == "10:42 · Observation: First note."
    assert _slice(a) == "First note."
    services.note_delete(note=a, user=team.researcher)
    assert _document(session).text == ALL_DELETED


def test_retry_returns_same_note_when_client_resends_identical_note(team):
    session = SessionFactory.create(project=team.project)
    client_id = uuid.uuid4()
    first = _note(session, team.researcher, "Asked for the manager.", client_id=client_id)
    again = _note(session, team.researcher, "Asked for the manager.", client_id=client_id)
    assert again.pk == first.pk
    assert session.notes.count() == 1
    assert _document(session).text.count("Asked for the manager.") == 1


def test_same_words_make_two_notes_when_time_differs(team):
    session = SessionFactory.create(project=team.project)
    _note(session, team.researcher, "Laughs.", client_id=uuid.uuid4())
    _note(session, team.researcher, "Laughs.", minutes=1, client_id=uuid.uuid4())
    assert session.notes.count() == 2


def test_note_create_refuses_and_creates_no_document_when_text_is_blank(team):
    session = SessionFactory.create(project=team.project)
    with pytest.raises(ValidationError) as error:
        _note(session, team.researcher, "   \n ")
    assert "text" in error.value.message_dict
    assert not Document.objects.filter(session=session).exists()


def test_document_title_follows_session_when_session_is_renamed(team):
    session = SessionFactory.create(project=team.project, title="Kiosk")
    _note(session, team.researcher, "Busy.")
    services.session_update(session=session, title="Kiosk, Main St")
    assert _document(session).title == "Field notes — Kiosk, Main St"


@pytest.mark.django_db(transaction=True)
def test_notes_posted_at_once_land_with_correct_ranges_when_concurrent(team):
    session = SessionFactory.create(project=team.project)
    _note(session, team.researcher, "First.")
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def post(text: str, minutes: int) -> None:
        try:
            barrier.wait()
            _note(session, team.researcher, text, minutes=minutes)
        except OperationalError as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(f"Note {i}.", i)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    notes = list(session.notes.all())
    if connection.vendor == "postgresql":  # the row locks queue the second writer
        assert errors == []
        assert len(notes) == 3
    else:  # SQLite's test database refuses a second writer outright; the phone's queue retries it
        assert len(notes) - 1 + len(errors) == 2
    text = _document(session).text
    assert [_slice(note) for note in notes] == [note.text for note in notes]
    assert all(text.count(note.text) == 1 for note in notes)
    assert text.count(BLOCK_SEPARATOR) == len(notes) - 1
