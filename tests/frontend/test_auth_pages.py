"""Login and logout pages."""

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_explains_verbatim_when_anonymous() -> None:
    response = Client().get(reverse("login"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Log in to Verbatim" in body
    assert "customer observations and interviews" in body
    assert 'name="username"' in body
    assert 'name="password"' in body


def test_project_list_redirects_to_login_when_anonymous() -> None:
    response = Client().get(reverse("frontend:project-list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_lands_on_project_list_when_password_is_right(team) -> None:
    client = Client()
    response = client.post(
        reverse("login"), {"username": "coder1", "password": DEFAULT_PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("frontend:project-list")
    assert "Onboarding calls" in response.content.decode()


def test_login_shows_error_when_password_is_wrong(team) -> None:
    response = Client().post(reverse("login"), {"username": "coder1", "password": "nope"})

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_top_bar_offers_logout_form_when_logged_in(team, client_as) -> None:
    body = client_as(team.coder).get(reverse("frontend:project-list")).content.decode()

    assert f'action="{reverse("logout")}"' in body
    assert 'method="post"' in body
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert "django_htmx/htmx-2.min.js" in body


def test_logout_ends_session_when_posted(team, client_as) -> None:
    client = client_as(team.coder)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("frontend:project-list")).status_code == 302


def test_pages_name_their_icon_when_rendered_so_browsers_do_not_ask_for_favicon_ico() -> None:
    body = Client().get(reverse("login")).content.decode()
    assert '<link rel="icon" href="/static/frontend/favicon.svg" type="image/svg+xml">' in body
    icon = finders.find("frontend/favicon.svg")
    assert icon is not None, "frontend/static/frontend/favicon.svg is missing"
    with open(icon, encoding="utf-8") as handle:
        assert handle.read().startswith("<svg")
