"""The project home page: counts, the user's role in plain words, and where to go next."""

import pytest
from django.urls import reverse

from research.roles import Role
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    ParticipantFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db


def home(slug: str = "onboarding-calls") -> str:
    return reverse("frontend:project-home", args=[slug])


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_project_home_shows_counts_when_member(team, client_as, role) -> None:
    ParticipantFactory.create_batch(3, project=team.project)
    SessionFactory.create_batch(2, project=team.project)
    document = DocumentFactory.create(project=team.project)
    ExcerptFactory.create_batch(4, document=document)  # each brings its own code
    CodeFactory.create(project=team.project)
    ParticipantFactory.create(project=team.other_project)  # never counted here

    response = client_as(team.user(role)).get(home())

    assert response.status_code == 200
    figures = {label: count for label, count, _ in response.context["figures"]}
    assert figures == {
        "Participants": 3,
        "Observation sessions": 2,
        "Documents": 1,
        "Codes": 5,
        "Excerpts": 4,
    }
    body = response.content.decode()
    assert '<dd class="figure__value">5</dd>' in body
    assert f"Your role: {Role(role).label}" in body


def test_project_home_is_404_when_user_is_not_member(team, client_as) -> None:
    response = client_as(team.outsider).get(home())

    assert response.status_code == 404
    assert "Onboarding calls" not in response.content.decode()


def test_project_home_is_404_when_project_is_missing(team, client_as) -> None:
    assert client_as(team.owner).get(home("no-such-study")).status_code == 404


def test_project_home_redirects_to_login_when_anonymous(team, client) -> None:
    response = client.get(home())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_project_home_links_members_page_when_owner(team, client_as) -> None:
    body = client_as(team.owner).get(home()).content.decode()

    assert reverse("frontend:project-members", args=["onboarding-calls"]) in body
    assert "Add people to the project, change their roles, remove them" in body


@pytest.mark.parametrize("role", ["researcher", "coder", "manager"])
def test_project_home_hides_members_link_when_not_owner(team, client_as, role) -> None:
    body = client_as(team.user(role)).get(home()).content.decode()

    assert reverse("frontend:project-members", args=["onboarding-calls"]) not in body
    assert reverse("api-docs") in body


def test_project_home_says_what_coder_may_not_do_when_coder(team, client_as) -> None:
    response = client_as(team.coder).get(home())

    assert "Code transcripts and field notes, and write your own memos" in response.context["can"]
    assert "Add, rename and reorganise codes in the codebook" in response.context["cannot"]
    assert "Export data and reports" in response.context["cannot"]
    assert "Ask an owner if you need to" in response.content.decode()
