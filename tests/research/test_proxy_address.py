"""The client's address behind reverse proxies (config/wsgi.py, DJANGO_PROXY_COUNT): failed-login
throttling and the audit log count by the address the trusted proxy appended to X-Forwarded-For,
never by one the client wrote itself, and ignore the header when no proxy is configured.

The requests go through the real WSGI application (werkzeug's test client), as gunicorn calls it.
"""

import json

import pytest
from axes.models import AccessAttempt
from django.core.wsgi import get_wsgi_application
from rest_framework.authtoken.models import Token
from werkzeug.test import Client

from config.wsgi import behind_proxies
from research.models import AuditEvent
from tests.conftest import Team
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db(transaction=True)

FORGED, CLIENT, PROXY = "198.51.100.1", "203.0.113.7", "127.0.0.1"
BASE = "http://testserver"


def _client(proxies: int) -> Client:
    return Client(behind_proxies(get_wsgi_application(), proxies))


def _failed_login(client: Client, forwarded: str | None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    response = client.post(
        "/api/v1/auth/token/",
        base_url=BASE,
        data=json.dumps({"username": "coder1", "password": "not-the-password"}),
        content_type="application/json",
        headers=headers,
        environ_base={"REMOTE_ADDR": PROXY},
    )
    return response.status_code


def test_failed_login_counts_by_proxied_address_when_one_proxy_is_trusted(team: Team):
    # The client claims FORGED; the proxy appended the address it saw, CLIENT.
    assert _failed_login(_client(1), f"{FORGED}, {CLIENT}") == 400
    attempts = list(AccessAttempt.objects.values_list("ip_address", flat=True))
    assert attempts == [CLIENT]


def test_forwarded_header_is_ignored_when_no_proxy_is_trusted(team: Team):
    assert _failed_login(_client(0), CLIENT) == 400
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [PROXY]


def test_lockout_of_one_client_leaves_another_free_when_behind_a_proxy(team: Team, settings):
    settings.AXES_FAILURE_LIMIT = 2
    client = _client(1)
    statuses = [_failed_login(client, CLIENT) for _ in range(3)]
    assert statuses[-1] == 429
    # Another person behind the same proxy is not locked out by the first one's failures.
    assert _failed_login(client, "192.0.2.44") == 400


def test_audit_event_records_proxied_address_when_transcript_is_read(team: Team):
    document = DocumentFactory.create(project=team.project)
    token = Token.objects.create(user=team.coder)
    response = _client(1).get(
        f"/api/v1/projects/{team.project.slug}/documents/{document.pk}/",
        base_url=BASE,
        headers={"Authorization": f"Token {token.key}", "X-Forwarded-For": f"{FORGED}, {CLIENT}"},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="read_transcript")
    assert (event.ip, event.user_id) == (CLIENT, team.coder.pk)
