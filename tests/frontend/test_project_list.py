"""The project list at "/" and creating a project from it."""

import pytest
from django.urls import reverse

from research.models import Membership, Project
from research.roles import Role

pytestmark = pytest.mark.django_db

URL = "/"


def test_project_list_shows_my_projects_and_role_when_member(team, client_as) -> None:
    team.project.description = "Why new customers call us in week one."
    team.project.save()

    response = client_as(team.manager).get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("frontend:project-home", args=["onboarding-calls"]) in body
    assert "Why new customers call us in week one." in body
    assert "Your role: Manager" in body
    assert "Other study" not in body


def test_project_list_invites_to_start_when_user_has_no_project(client_as) -> None:
    from tests.factories import UserFactory

    body = client_as(UserFactory.create(username="newbie")).get(URL).content.decode()

    assert "You are not in any project yet" in body
    assert "newbie" in body


def test_create_project_makes_creator_owner_when_form_is_valid(team, client_as) -> None:
    response = client_as(team.coder).post(
        URL, {"name": "Churn interviews", "slug": "churn", "description": "Why people leave."}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:project-home", args=["churn"])
    project = Project.objects.get(slug="churn")
    assert project.description == "Why people leave."
    assert Membership.objects.get(project=project, user=team.coder).role == Role.OWNER


def test_create_project_derives_slug_from_name_when_slug_is_blank(team, client_as) -> None:
    response = client_as(team.coder).post(URL, {"name": "Store visits 2026", "slug": ""})

    assert response.status_code == 302
    assert Project.objects.filter(slug="store-visits-2026", name="Store visits 2026").exists()


def test_create_project_shows_error_beside_slug_when_slug_is_taken(team, client_as) -> None:
    response = client_as(team.coder).post(URL, {"name": "Again", "slug": "onboarding-calls"})

    assert response.status_code == 400
    assert response.context["form"].errors["slug"] == [
        "A project with slug 'onboarding-calls' already exists."
    ]
    assert "already exists." in response.content.decode()
    assert Project.objects.filter(name="Again").count() == 0


def test_create_project_shows_error_when_name_is_missing(team, client_as) -> None:
    response = client_as(team.coder).post(URL, {"name": "", "slug": "x"})

    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not Project.objects.filter(slug="x").exists()


def test_project_name_is_escaped_when_it_contains_html(team, client_as) -> None:
    client = client_as(team.coder)
    client.post(URL, {"name": "<script>alert(1)</script>", "slug": "xss"})

    for url in (URL, reverse("frontend:project-home", args=["xss"])):
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
