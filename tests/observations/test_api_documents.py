"""Documents, sessions and notes through the HTTP API."""

from tests.conftest import client_for
from tests.factories import DocumentFactory, FieldNoteFactory, SessionFactory, SpeakerTurnFactory


def test_document_list_carries_summary_fields_without_text_when_listed(team):
    document = DocumentFactory.create(project=team.project)
    SpeakerTurnFactory.create(document=document, start=0, end=5)
    results = client_for(team.coder).get(f"/api/v1/projects/{team.project.slug}/documents/").json()
    item = results["results"][0]
    assert {"id", "title", "kind", "participant", "char_count", "turn_count", "status"} <= set(item)
    assert "text" not in item
    assert item["turn_count"] == 1


def test_document_detail_adds_text_and_turns_when_retrieved(team):
    document = DocumentFactory.create(project=team.project)
    SpeakerTurnFactory.create(
        document=document, start=0, end=12, speaker="Interviewer", started_at_ms=0
    )
    url = f"/api/v1/projects/{team.project.slug}/documents/{document.pk}/"
    body = client_for(team.manager).get(url).json()
    assert body["text"] == document.text
    assert body["turns"] == [
        {
            "speaker": "Interviewer",
            "participant": None,
            "interviewer": None,
            "start": 0,
            "end": 12,
            "started_at_ms": 0,
            "ended_at_ms": None,
        }
    ]


def test_document_list_filters_by_kind_when_asked(team):
    DocumentFactory.create(project=team.project, kind="transcript")
    DocumentFactory.create(project=team.project, kind="field_notes")
    url = f"/api/v1/projects/{team.project.slug}/documents/?kind=field_notes"
    assert [d["kind"] for d in client_for(team.coder).get(url).json()["results"]] == ["field_notes"]


def test_document_patch_changes_text_through_reanchoring_when_sent(team):
    # Text edits go through document_set_text (tests/coding/test_reanchor.py covers the details).
    document = DocumentFactory.create(project=team.project)
    url = f"/api/v1/projects/{team.project.slug}/documents/{document.pk}/"
    response = client_for(team.researcher).patch(
        url, {"title": "New", "text": "Edited text."}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["edit"] == {"moved": 0, "flagged": 0}
    document.refresh_from_db()
    assert (document.title, document.text, document.text_version) == ("New", "Edited text.", 2)


def test_session_and_notes_round_trip_when_researcher_logs_fieldwork(team):
    client = client_for(team.researcher)
    base = f"/api/v1/projects/{team.project.slug}/sessions/"
    session = client.post(
        base,
        {
            "title": "Saturday at the Leeds store",
            "site": "Leeds Briggate",
            "channel": "store",
            "journey_stage": "onboarding",
            "started_at": "2026-03-07T10:00:00Z",
            "observer": "researcher1",
        },
        format="json",
    )
    assert session.status_code == 201, session.content
    notes = f"{base}{session.json()['id']}/notes/"
    note = client.post(
        notes,
        {"observed_at": "2026-03-07T10:12:00Z", "kind": "quote", "text": "“Why is it so slow?”"},
        format="json",
    )
    assert note.status_code == 201
    assert note.json()["author"] == "researcher1"
    listed = client.get(notes).json()["results"]
    assert [n["text"] for n in listed] == ["“Why is it so slow?”"]
    assert client.get(base).json()["results"][0]["note_count"] == 1


def test_notes_of_another_projects_session_are_404_when_listed(team):
    foreign = SessionFactory.create(project=team.other_project)
    FieldNoteFactory.create(session=foreign)
    url = f"/api/v1/projects/{team.project.slug}/sessions/{foreign.pk}/notes/"
    assert client_for(team.owner).get(url).status_code == 404


def test_note_retry_with_same_client_id_is_saved_once_when_posted_twice(team):
    session = SessionFactory.create(project=team.project)
    url = f"/api/v1/projects/{team.project.slug}/sessions/{session.pk}/notes/"
    body = {
        "observed_at": "2026-03-07T10:12:00Z",
        "kind": "observation",
        "text": "Queue of six at the SIM counter",
        "client_id": "5f0c7a52-9a54-4a52-8e0f-3c1d2f1b7a10",
    }
    client = client_for(team.researcher)
    first = client.post(url, body, format="json")
    second = client.post(url, body, format="json")  # the phone retries after a lost answer
    assert first.status_code == 201
    assert second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert client.get(url).json()["count"] == 1
