"""Projects, members, participants and tokens through the HTTP API (the public contract)."""

import pytest

from research.models import Project
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, ParticipantFactory


def test_project_list_shows_only_my_projects_with_my_role(team):
    response = client_for(team.coder).get("/api/v1/projects/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [(p["slug"], p["role"]) for p in body["results"]] == [("onboarding-calls", "coder")]


def test_project_create_makes_caller_owner_when_valid(team):
    response = client_for(team.coder).post(
        "/api/v1/projects/",
        {"slug": "churn-calls", "name": "Churn calls", "description": "Why they leave"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["role"] == "owner"
    assert Project.objects.get(slug="churn-calls").memberships.get().user == team.coder


def test_project_patch_changes_name_but_not_slug_when_owner(team):
    url = f"/api/v1/projects/{team.project.slug}/"
    response = client_for(team.owner).patch(
        url, {"name": "Renamed", "slug": "sneaky"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert response.json()["slug"] == team.project.slug


def test_project_delete_removes_everything_when_owner(team):
    url = f"/api/v1/projects/{team.project.slug}/"
    assert client_for(team.researcher).delete(url).status_code == 403
    assert client_for(team.owner).delete(url).status_code == 204
    assert not Project.objects.filter(slug=team.project.slug).exists()


def test_members_can_be_added_changed_and_removed_when_owner(team):
    base = f"/api/v1/projects/{team.project.slug}/members/"
    client = client_for(team.owner)
    created = client.post(base, {"username": "outsider", "role": "manager"}, format="json")
    assert created.status_code == 201
    assert created.json()["role"] == "manager"
    changed = client.patch(f"{base}{created.json()['id']}/", {"role": "coder"}, format="json")
    assert changed.json()["role"] == "coder"
    assert client.delete(f"{base}{created.json()['id']}/").status_code == 204
    usernames = [m["username"] for m in client.get(base).json()["results"]]
    assert "outsider" not in usernames
    assert "coder1" in usernames


def test_member_delete_gives_400_when_removing_last_owner(team):
    base = f"/api/v1/projects/{team.project.slug}/members/"
    owner_id = team.project.memberships.get(user=team.owner).pk
    response = client_for(team.owner).delete(f"{base}{owner_id}/")
    assert response.status_code == 400
    assert "owner" in response.json()["errors"][0]["message"]


def test_participants_filter_by_customer_ref_when_given(team):
    ParticipantFactory.create(project=team.project, pseudonym="P01", customer_ref="C-1")
    ParticipantFactory.create(project=team.project, pseudonym="P02", customer_ref="C-2")
    url = f"/api/v1/projects/{team.project.slug}/participants/?customer_ref=C-2"
    results = client_for(team.manager).get(url).json()["results"]
    assert [p["pseudonym"] for p in results] == ["P02"]


def test_participant_patch_updates_consent_when_researcher(team):
    participant = ParticipantFactory.create(project=team.project)
    url = f"/api/v1/projects/{team.project.slug}/participants/{participant.pk}/"
    response = client_for(team.researcher).patch(url, {"consent": {"quotes": True}}, format="json")
    assert response.status_code == 200
    assert response.json()["consent"] == {"quotes": True}


def test_page_size_is_capped_at_1000_when_asked_for_more(team):
    ParticipantFactory.create_batch(3, project=team.project)
    url = f"/api/v1/projects/{team.project.slug}/participants/?page_size=2"
    body = client_for(team.owner).get(url).json()
    assert len(body["results"]) == 2
    assert body["next"]


def test_token_endpoint_returns_token_that_authenticates_when_password_is_right(team):
    client = client_for(None)
    response = client.post(
        "/api/v1/auth/token/", {"username": "coder1", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/projects/").json()["count"] == 1


def test_token_endpoint_gives_400_when_password_is_wrong(team):
    response = client_for(None).post(
        "/api/v1/auth/token/", {"username": "coder1", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_any_cdn_when_requested(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/projects/{slug}/excerpts/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html
    assert "//unpkg" not in html
    assert "/static/drf_spectacular_sidecar/" in html
