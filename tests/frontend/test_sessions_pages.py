"""Session pages: list and plan, detail and edit, quick capture (form and fetch), journey stages."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from observations.models import Document, FieldNote, ObservationSession
from tests.factories import FieldNoteFactory, ParticipantFactory, SessionFactory

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def list_url(slug: str = "onboarding-calls") -> str:
    return reverse("frontend:session-list", args=[slug])


def detail_url(session: ObservationSession) -> str:
    return reverse("frontend:session-detail", args=[session.project.slug, session.pk])


def capture_url(session: ObservationSession) -> str:
    return reverse("frontend:session-capture", args=[session.project.slug, session.pk])


def session_post(team, **overrides) -> dict:
    data = {
        "title": "Saturday unboxing",
        "site": "Main St store",
        "channel": "store",
        "journey_stage": "onboarding",
        "started_at": "2026-03-07T10:00",
        "ended_at": "2026-03-07T11:30",
        "observer": str(team.researcher.pk),
        "context": "Busy Saturday.",
        "goals": "See how people open the box.",
    }
    data.update(overrides)
    return data


def test_session_list_shows_sessions_with_note_counts_when_member_reads(team, client_as):
    p1 = ParticipantFactory.create(project=team.project, pseudonym="P01")
    session = SessionFactory.create(project=team.project, title="Kiosk visit", observer=team.owner)
    session.participants.set([p1])
    FieldNoteFactory.create_batch(3, session=session)
    SessionFactory.create(project=team.other_project, title="Not ours")
    response = client_as(team.manager).get(list_url())
    body = response.content.decode()
    assert response.status_code == 200
    assert "Kiosk visit" in body
    assert "Not ours" not in body
    assert "3 notes" in body
    assert "P01" in body
    assert "Plan a session" not in body  # managers read, they do not capture


def test_researcher_plans_session_when_form_is_valid(team, client_as):
    p1 = ParticipantFactory.create(project=team.project, pseudonym="P01")
    response = client_as(team.researcher).post(
        list_url(), session_post(team, participants=[str(p1.pk)])
    )
    session = ObservationSession.objects.get(project=team.project, title="Saturday unboxing")
    assert response.status_code == 302
    assert response["Location"] == detail_url(session)
    assert session.observer == team.researcher
    assert list(session.participants.all()) == [p1]
    assert session.journey_stage == "onboarding"


def test_plan_form_shows_errors_when_session_ends_before_it_starts(team, client_as):
    response = client_as(team.researcher).post(
        list_url(), session_post(team, ended_at="2026-03-07T09:00")
    )
    assert response.status_code == 400
    assert "cannot end before it starts" in response.content.decode()
    assert not ObservationSession.objects.filter(project=team.project).exists()


def test_plan_form_refuses_stage_when_not_in_project_list(team, client_as):
    response = client_as(team.researcher).post(list_url(), session_post(team, journey_stage="x"))
    assert response.status_code == 400
    assert not ObservationSession.objects.filter(project=team.project).exists()


def test_researcher_edits_session_when_posting_detail_form(team, client_as):
    session = SessionFactory.create(project=team.project, title="Old title")
    response = client_as(team.researcher).post(
        detail_url(session), session_post(team, title="New title", journey_stage="usage")
    )
    session.refresh_from_db()
    assert response.status_code == 302
    assert (session.title, session.journey_stage) == ("New title", "usage")


def test_detail_lists_notes_in_order_and_capture_button_when_researcher(team, client_as):
    session = SessionFactory.create(project=team.project)
    later = session.started_at + timedelta(minutes=9)
    FieldNoteFactory.create(session=session, text="Second", observed_at=later)
    FieldNoteFactory.create(session=session, text="First", observed_at=session.started_at)
    body = client_as(team.researcher).get(detail_url(session)).content.decode()
    assert body.index("First") < body.index("Second")
    assert "Start quick capture" in body
    assert capture_url(session) in body


@pytest.mark.parametrize("role", ["coder", "manager"])
def test_read_only_roles_get_403_when_creating_but_can_read(team, client_as, role):
    session = SessionFactory.create(project=team.project)
    client = client_as(team.user(role))
    assert client.get(list_url()).status_code == 200
    assert client.get(detail_url(session)).status_code == 200
    assert client.get(capture_url(session)).status_code == 200
    assert client.post(list_url(), session_post(team)).status_code == 403
    assert client.post(capture_url(session), {"text": "x"}).status_code == 403
    assert "Start quick capture" not in client.get(detail_url(session)).content.decode()
    assert ObservationSession.objects.filter(project=team.project).count() == 1


def test_outsider_gets_404_when_opening_any_session_page(team, client_as):
    session = SessionFactory.create(project=team.project)
    client = client_as(team.outsider)
    for url in (list_url(), detail_url(session), capture_url(session)):
        assert client.get(url).status_code == 404


def test_session_of_other_project_is_404_when_named_under_this_project(team, client_as):
    other = SessionFactory.create(project=team.other_project)
    url = reverse("frontend:session-detail", args=[team.project.slug, other.pk])
    assert client_as(team.owner).get(url).status_code == 404


def test_user_text_is_escaped_when_pages_render(team, client_as):
    evil = "<script>alert(1)</script>"
    session = SessionFactory.create(project=team.project, title=evil, context=evil)
    FieldNoteFactory.create(session=session, text=evil)
    client = client_as(team.researcher)
    for url in (list_url(), detail_url(session), capture_url(session)):
        body = client.get(url).content.decode()
        assert evil not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_capture_page_renders_kind_buttons_and_people_present_first(team, client_as):
    session = SessionFactory.create(project=team.project)
    ParticipantFactory.create(project=team.project, pseudonym="P01")
    present = ParticipantFactory.create(project=team.project, pseudonym="P09")
    session.participants.set([present])
    body = client_as(team.researcher).get(capture_url(session)).content.decode()
    for label in ("Observation", "Quote", "Interpretation", "Question", "Save note"):
        assert label in body
    assert body.index(">P09<") < body.index("P01 (not listed as present)")
    assert "frontend/sessions.js" in body


def test_capture_fetch_creates_note_and_answers_201_json_when_valid(team, client_as):
    session = SessionFactory.create(project=team.project)
    p = ParticipantFactory.create(project=team.project, pseudonym="P03")
    data = {
        "text": "It took three tries.",
        "kind": "quote",
        "participant": str(p.pk),
        "observed_at": "2026-03-07T10:42:05.123Z",
        "client_id": str(uuid.uuid4()),
    }
    client = client_as(team.researcher)
    response = client.post(capture_url(session), data, **JSON)
    again = client.post(capture_url(session), data, **JSON)  # a retry after a lost answer
    assert response.status_code == 201
    assert again.status_code == 201
    assert response.json()["id"] == again.json()["id"]
    assert response.json()["participant"] == "P03"
    note = FieldNote.objects.get(session=session)
    document = Document.objects.get(session=session, kind=Document.Kind.FIELD_NOTES)
    assert document.text[note.document_start : note.document_end] == "It took three tries."


def test_capture_fetch_answers_400_with_errors_when_text_missing(team, client_as):
    session = SessionFactory.create(project=team.project)
    response = client_as(team.researcher).post(
        capture_url(session),
        {"text": " ", "kind": "quote", "observed_at": "2026-03-07T10:42"},
        **JSON,
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"text"}
    assert not FieldNote.objects.filter(session=session).exists()


def test_capture_plain_form_redirects_back_when_saved_without_javascript(team, client_as):
    session = SessionFactory.create(project=team.project)
    response = client_as(team.researcher).post(
        capture_url(session),
        {"text": "Plain post.", "kind": "observation", "observed_at": "10:42"},
    )
    assert response.status_code == 302
    assert response["Location"] == capture_url(session)
    note = FieldNote.objects.get(session=session)
    assert note.text == "Plain post."
    local = timezone.localtime(note.observed_at)
    assert (local.date(), local.hour, local.minute) == (timezone.localdate(), 10, 42)


def test_journey_stages_are_renamed_reordered_and_removed_when_researcher_saves(team, client_as):
    team.project.journey_stages = ["awareness", "purchase", "renewal"]
    team.project.save()
    url = reverse("frontend:journey-stages", args=[team.project.slug])
    client = client_as(team.researcher)
    assert "renewal" in client.get(url).content.decode()
    response = client.post(url, {"stages": "purchase\n  first   use \n\nawareness\npurchase\n"})
    team.project.refresh_from_db()
    assert response.status_code == 302
    assert team.project.journey_stages == ["purchase", "first use", "awareness"]


def test_journey_stages_refuse_coder_when_posting(team, client_as):
    url = reverse("frontend:journey-stages", args=[team.project.slug])
    before = list(team.project.journey_stages)
    assert client_as(team.coder).post(url, {"stages": "one"}).status_code == 403
    team.project.refresh_from_db()
    assert team.project.journey_stages == before


def test_project_home_links_to_sessions_when_member(team, client_as):
    body = client_as(team.coder).get(reverse("frontend:project-home", args=[team.project.slug]))
    assert list_url() in body.content.decode()


def _captured(team, session, *texts):
    from observations.services import note_create

    start = session.started_at
    return [
        note_create(
            session=session,
            author=team.researcher,
            observed_at=start + timedelta(minutes=i, seconds=7),
            text=text,
        )
        for i, text in enumerate(texts)
    ]


def note_url(note: FieldNote) -> str:
    return reverse(
        "frontend:session-note", args=[note.session.project.slug, note.session_id, note.pk]
    )


def test_researcher_corrects_note_and_document_follows_when_editing_on_session_page(
    team, client_as
):
    session = SessionFactory.create(project=team.project)
    first, second = _captured(team, session, "Queue of sx.", "Leaves the shop.")
    client = client_as(team.researcher)
    assert note_url(first) in client.get(detail_url(session)).content.decode()
    response = client.post(
        note_url(first),
        {"text": "Queue of six.", "kind": "observation", "participant": "", "observed_at": "10:00"},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    document = Document.objects.get(session=session, kind=Document.Kind.FIELD_NOTES)
    assert document.text[first.document_start : first.document_end] == "Queue of six."
    assert document.text[second.document_start : second.document_end] == "Leaves the shop."
    assert first.observed_at.second == 7  # same minute sent back: the seconds are kept


def test_researcher_deletes_note_when_pressing_delete_on_session_page(team, client_as):
    session = SessionFactory.create(project=team.project)
    first, second = _captured(team, session, "Goes.", "Stays.")
    response = client_as(team.researcher).post(note_url(first), {"action": "delete"})
    assert response.status_code == 302
    assert list(session.notes.values_list("text", flat=True)) == ["Stays."]
    document = Document.objects.get(session=session, kind=Document.Kind.FIELD_NOTES)
    assert "Goes." not in document.text
    second.refresh_from_db()
    assert document.text[second.document_start : second.document_end] == "Stays."


def test_coder_cannot_edit_note_and_sees_no_edit_form_when_reading_session(team, client_as):
    session = SessionFactory.create(project=team.project)
    (note,) = _captured(team, session, "Untouched.")
    client = client_as(team.coder)
    assert note_url(note) not in client.get(detail_url(session)).content.decode()
    assert client.post(note_url(note), {"action": "delete"}).status_code == 403
    assert session.notes.count() == 1


def test_session_keeps_removed_stage_when_edited_after_list_changed(team, client_as):
    session = SessionFactory.create(project=team.project, journey_stage="support")
    team.project.journey_stages = ["onboarding", "usage"]
    team.project.save()
    response = client_as(team.researcher).post(
        detail_url(session), session_post(team, title="Renamed", journey_stage="support")
    )
    session.refresh_from_db()
    assert response.status_code == 302
    assert (session.title, session.journey_stage) == ("Renamed", "support")
