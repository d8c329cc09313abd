"""PII API: owner-only candidates, known names, key table and apply; no leak after apply."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from observations.models import Document, PiiCandidate, PiiKeyEntry
from observations.services import note_create, pii_detect
from tests.conftest import Team, client_for
from tests.factories import ExcerptFactory, SessionFactory, SpeakerTurnFactory
from tests.routes import all_routes

pytestmark = pytest.mark.django_db

TEXT = (
    "Interviewer: Who helped you?\n"
    "Customer: Zoë Müller at the Leeds store. Reach me at zoe.m@example.org or 07700 900123."
)
REAL_VALUES = ("Zoë Müller", "Müller", "zoe.m@example.org", "07700 900123", "7700900123")


def _url(name: str, team: Team, **kwargs: object) -> str:
    return reverse(f"api:{name}", kwargs={"slug": team.project.slug, **kwargs})


def _detected_document(team: Team) -> Document:
    document = Document.objects.create(
        project=team.project, title="Leeds visit", text=TEXT, char_count=len(TEXT)
    )
    SpeakerTurnFactory.create(document=document, index=0, speaker="Interviewer", start=0, end=28)
    SpeakerTurnFactory.create(
        document=document, index=1, speaker="Zoë Müller", start=29, end=len(TEXT)
    )
    start = TEXT.index("Zoë Müller")
    pii_detect(document=document, person_spans=[(start, start + len("Zoë Müller"))])
    return document


@pytest.mark.parametrize("role", ["researcher", "coder", "manager"])
def test_pii_routes_are_forbidden_when_caller_is_not_owner(team: Team, role: str) -> None:
    _detected_document(team)
    client = client_for(team.user(role))
    for name in ("pii-key-list", "pii-candidate-list", "pii-known-name-list"):
        assert client.get(_url(name, team)).status_code == 403
    assert client.post(_url("pii-apply", team), {}, format="json").status_code == 403


def test_key_table_is_404_when_caller_is_outsider(team: Team) -> None:
    response = client_for(team.outsider).get(_url("pii-key-list", team))
    assert response.status_code == 404


def test_candidates_list_shows_value_and_context_when_owner_filters(team: Team) -> None:
    document = _detected_document(team)
    client = client_for(team.owner)
    response = client.get(_url("pii-candidate-list", team), {"kind": "phone"})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["value"] == "07700 900123"
    assert row["before"].endswith("zoe.m@example.org or ")
    assert row["after"] == "."
    assert row["document"] == document.pk
    assert row["is_current"] is True


def test_patch_records_decision_when_owner_accepts(team: Team) -> None:
    _detected_document(team)
    candidate = PiiCandidate.objects.get(kind="email")
    response = client_for(team.owner).patch(
        _url("pii-candidate-detail", team, pk=candidate.pk), {"status": "accepted"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    candidate.refresh_from_db()
    assert candidate.decided_by == team.owner


def test_patch_is_400_when_status_is_not_a_decision(team: Team) -> None:
    _detected_document(team)
    candidate = PiiCandidate.objects.get(kind="email")
    response = client_for(team.owner).patch(
        _url("pii-candidate-detail", team, pk=candidate.pk), {"status": "applied"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"


def test_known_name_crud_when_owner_manages_list(team: Team) -> None:
    client = client_for(team.owner)
    created = client.post(
        _url("pii-known-name-list", team), {"name": "Anna Maria", "pseudonym": "P07"}, format="json"
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    updated = client.patch(
        _url("pii-known-name-detail", team, pk=pk), {"pseudonym": "P08"}, format="json"
    )
    assert updated.json()["pseudonym"] == "P08"
    assert client.delete(_url("pii-known-name-detail", team, pk=pk)).status_code == 204
    assert client.get(_url("pii-known-name-list", team)).json()["count"] == 0


def test_apply_returns_finished_job_when_no_broker(
    team: Team, django_capture_on_commit_callbacks
) -> None:
    document = _detected_document(team)
    PiiCandidate.objects.update(status="accepted")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team.owner).post(_url("pii-apply", team), {}, format="json")
    assert response.status_code == 202, response.content
    # The test transaction delays on_commit until the block ends; ask the job record afterwards.
    job = client_for(team.owner).get(response.json()["job"]["url"]).json()
    assert job["status"] == "succeeded", job
    assert job["result"]["replaced"] == {"person": 1, "email": 1, "phone": 1}
    document.refresh_from_db()
    assert document.text.endswith(
        "Customer: [Person 1] at the Leeds store. Reach me at [Email 1] or [Phone 1]."
    )


def test_no_api_response_contains_real_values_when_applied(
    team: Team, django_capture_on_commit_callbacks
) -> None:
    document = _detected_document(team)
    session = SessionFactory.create(project=team.project)
    note = note_create(
        session=session,
        author=team.researcher,
        observed_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        text="Zoë Müller asked for a callback on 07700 900123.",
    )
    notes_document = Document.objects.get(session=session)
    start = notes_document.text.index("Zoë Müller")
    pii_detect(document=notes_document, person_spans=[(start, start + len("Zoë Müller"))])
    excerpt = ExcerptFactory.create(
        document=document,
        start=TEXT.index("Customer"),
        end=TEXT.index(" at the"),
        coder=team.coder,
    )
    PiiCandidate.objects.update(status="accepted")
    owner = client_for(team.owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.post(_url("pii-apply", team), {}, format="json").status_code == 202

    keys = owner.get(_url("pii-key-list", team)).content.decode()
    assert "zoë müller" in keys  # the key table is the one place the value stays
    urls = [
        reverse(route.name, kwargs={"slug": team.project.slug})
        for route in all_routes()
        if route.name.startswith("api:")
        and route.name.endswith("-list")
        and route.kwargs == ("slug",)
        and route.name not in ("api:pii-key-list", "api:pii-known-name-list")
    ]
    urls += [
        _url("document-detail", team, pk=document.pk),
        _url("document-detail", team, pk=notes_document.pk),
        _url("excerpt-detail", team, pk=excerpt.pk),
        _url("session-detail", team, pk=session.pk),
        _url("note-detail", team, session_pk=session.pk, pk=note.pk),
        _url("note-list", team, session_pk=session.pk),
        _url("search", team) + "?q=M%C3%BCller",
        _url("search", team) + "?q=Leeds",
    ]
    assert len(urls) > 12
    for url in urls:
        response = owner.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.content.decode()
        for value in REAL_VALUES:
            assert value not in body, (url, value)
    assert PiiKeyEntry.objects.filter(real_value="zoë müller").exists()


def test_apply_is_400_when_documents_belong_to_another_project(team: Team) -> None:
    other = Document.objects.create(project=team.other_project, title="Theirs", text="x")
    response = client_for(team.owner).post(
        _url("pii-apply", team), {"documents": [other.pk]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "documents"
