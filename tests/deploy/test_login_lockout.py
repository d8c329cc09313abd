"""Failed-login throttling (django-axes): 5 failures for a username from one address lock it out."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import Team
from tests.factories import DEFAULT_PASSWORD

LOGIN = reverse("login")
TOKEN = "/api/v1/auth/token/"
LIMIT = 5


def _fail_logins(client: Client, username: str, times: int = LIMIT) -> list[int]:
    return [
        client.post(LOGIN, {"username": username, "password": "wrong-password"}).status_code
        for _ in range(times)
    ]


def test_right_password_is_refused_with_a_message_when_five_logins_failed(team: Team):
    client = Client()
    statuses = _fail_logins(client, "coder1")
    assert statuses[:-1] == [200] * (LIMIT - 1)  # the form again, with its error

    response = client.post(LOGIN, {"username": "coder1", "password": DEFAULT_PASSWORD})

    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed log-in attempts" in body
    assert "15 minutes" in body
    assert 'name="password"' in body  # still the login page, not a bare error
    assert "_auth_user_id" not in client.session


def test_right_password_logs_in_when_four_logins_failed(team: Team):
    client = Client()
    _fail_logins(client, "coder1", LIMIT - 1)

    response = client.post(LOGIN, {"username": "coder1", "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(team.coder.pk)


def test_other_user_logs_in_from_the_same_address_when_one_user_is_locked_out(team: Team):
    client = Client()
    _fail_logins(client, "coder1")

    response = client.post(LOGIN, {"username": "manager1", "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(team.manager.pk)


def test_same_user_logs_in_from_another_address_when_locked_out_from_one(team: Team):
    _fail_logins(Client(REMOTE_ADDR="198.51.100.7"), "coder1")
    client = Client(REMOTE_ADDR="198.51.100.8")

    response = client.post(LOGIN, {"username": "coder1", "password": DEFAULT_PASSWORD})

    assert response.status_code == 302


def test_token_endpoint_refuses_right_password_with_429_when_five_attempts_failed(team: Team):
    client = APIClient()
    bad = {"username": "coder1", "password": "wrong-password"}
    statuses = [client.post(TOKEN, bad, format="json").status_code for _ in range(LIMIT)]
    assert statuses[:-1] == [400] * (LIMIT - 1)

    response = client.post(
        TOKEN, {"username": "coder1", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.json()["detail"]
    assert "token" not in response.json()


def test_token_endpoint_is_locked_when_the_login_page_failed_five_times(team: Team):
    _fail_logins(Client(), "coder1")

    response = APIClient().post(
        TOKEN, {"username": "coder1", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 429


@pytest.mark.django_db
def test_unknown_username_is_locked_out_too_when_five_logins_failed():
    statuses = _fail_logins(Client(), "nobody", LIMIT + 1)

    assert statuses[-1] == 429
