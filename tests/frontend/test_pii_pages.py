"""The personal-data review page: owners review candidates (with or without htmx), keep the
known-names list, preview and apply replacements; nobody else sees it."""

import pytest
from django.urls import reverse

from observations.models import Document, PiiCandidate, PiiKnownName
from observations.services import pii_detect
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TEXT = "Ask for <b>Ngozi Adeyemi</b> at ngozi@example.org or call 07700 900123."


def _url(name: str, *args: object) -> str:
    return reverse(f"frontend:{name}", args=["onboarding-calls", *args])


def _document(team) -> Document:
    document = DocumentFactory.create(project=team.project, title="Store visit", text=TEXT)
    start = TEXT.index("Ngozi Adeyemi")
    pii_detect(document=document, person_spans=[(start, start + len("Ngozi Adeyemi"))])
    return document


def test_review_page_shows_candidates_escaped_with_context_when_owner(team, client_as) -> None:
    _document(team)
    response = client_as(team.owner).get(_url("pii-review"))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<mark class="pii-cand__value">ngozi@example.org</mark>' in body
    assert "&lt;b&gt;" in body  # the context is escaped, never rendered as markup
    assert "<b>Ngozi" not in body
    assert "Replace 1 e-mail address" in body
    assert "Replace 1 phone number" in body


@pytest.mark.parametrize("role", ["researcher", "coder", "manager"])
def test_review_page_is_forbidden_when_not_owner(team, client_as, role) -> None:
    _document(team)
    response = client_as(team.user(role)).get(_url("pii-review"))
    assert response.status_code == 403
    assert "ngozi@example.org" not in response.content.decode()


def test_project_home_links_review_only_when_owner(team, client_as) -> None:
    home = reverse("frontend:project-home", args=["onboarding-calls"])
    assert _url("pii-review") in client_as(team.owner).get(home).content.decode()
    assert _url("pii-review") not in client_as(team.researcher).get(home).content.decode()


def test_decision_swaps_row_and_counts_when_sent_with_htmx(team, client_as) -> None:
    _document(team)
    candidate = PiiCandidate.objects.get(kind="email")
    response = client_as(team.owner).post(
        _url("pii-candidate", candidate.pk), {"status": "accepted"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="c-{candidate.pk}" class="pii-cand pii-cand--accepted"' in body
    assert 'hx-swap-oob="true"' in body
    candidate.refresh_from_db()
    assert candidate.status == "accepted"


def test_decision_redirects_to_row_when_sent_without_js(team, client_as) -> None:
    _document(team)
    candidate = PiiCandidate.objects.get(kind="phone")
    response = client_as(team.owner).post(
        _url("pii-candidate", candidate.pk), {"status": "rejected"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"#c-{candidate.pk}")
    candidate.refresh_from_db()
    assert candidate.status == "rejected"


def test_known_name_is_added_and_searched_for_when_owner_submits(team, client_as) -> None:
    document = DocumentFactory.create(project=team.project, text="Then Aoife Murphy rang back.")
    client = client_as(team.owner)
    response = client.post(_url("pii-review"), {"name": "Aoife Murphy", "pseudonym": "P12"})
    assert response.status_code == 302
    (candidate,) = document.pii_candidates.all()
    assert (candidate.kind, candidate.source) == ("known_name", "known")
    assert "Replace 1 listed name" in client.get(_url("pii-review")).content.decode()

    again = client.post(_url("pii-review"), {"name": "aoife murphy"})
    assert again.status_code == 400
    assert "already on the list" in again.content.decode()

    known = PiiKnownName.objects.get()
    client.post(_url("pii-known-name", known.pk), {"action": "remove"})
    assert not PiiKnownName.objects.exists()


def test_apply_preview_counts_then_post_replaces_when_owner_confirms(
    team, client_as, django_capture_on_commit_callbacks
) -> None:
    document = _document(team)
    client = client_as(team.owner)
    client.post(_url("pii-accept-kind"), {"kind": "email"})
    client.post(_url("pii-accept-kind"), {"kind": "phone"})

    preview = client.get(_url("pii-apply")).content.decode()
    assert "2 values in 1 document will be replaced" in preview
    assert "<strong>1</strong> e-mail address" in preview

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("pii-apply"))
    assert response.status_code == 302
    summary = client.get(response["Location"]).content.decode()
    assert "Replaced 1 e-mail address and 1 phone number in 1 document." in summary
    document.refresh_from_db()
    assert document.text == ("Ask for <b>Ngozi Adeyemi</b> at [Email 1] or call [Phone 1].")


def test_review_page_query_count_is_constant_when_candidates_grow(team, client_as) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(team.owner)

    def queries() -> int:
        client.get(_url("pii-review"))  # warm the session
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(_url("pii-review")).status_code == 200
        return len(ctx.captured_queries)

    _document(team)
    few = queries()
    for _ in range(5):
        _document(team)
    assert queries() == few
