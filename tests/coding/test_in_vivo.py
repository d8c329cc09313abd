"""In-vivo coding: a code named by the selected words, applied to them, in one request."""

import pytest

from coding.models import Code, Excerpt
from coding.services.invivo import in_vivo_name
from tests.conftest import client_for
from tests.factories import CodeFactory, DocumentFactory

pytestmark = pytest.mark.django_db

TEXT = "Honestly the   roaming charges\nwere a real shock 😀 to me."


def _post(user, team, body):
    url = f"/api/v1/projects/{team.project.slug}/in-vivo/"
    return client_for(user).post(url, body, format="json")


def test_in_vivo_creates_top_level_code_and_excerpt_when_coder_selects_words(team):
    document = DocumentFactory.create(project=team.project, text=TEXT)
    start = TEXT.index("roaming")
    end = TEXT.index("were") + len("were")
    response = _post(team.coder, team, {"document": document.pk, "start": start, "end": end})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"]["name"] == "roaming charges were"
    assert body["code"]["parent"] is None
    assert body["excerpt"]["coder"] == "coder1"
    assert body["excerpt"]["text"] == TEXT[start:end]
    assert Excerpt.objects.get(pk=body["excerpt"]["id"]).code_id == body["code"]["id"]


def test_in_vivo_counts_code_points_when_emoji_is_in_the_span(team):
    document = DocumentFactory.create(project=team.project, text=TEXT)
    start = TEXT.index("shock")
    end = TEXT.index("to me") + len("to me")
    response = _post(team.coder, team, {"document": document.pk, "start": start, "end": end})
    assert response.status_code == 201, response.content
    assert response.json()["code"]["name"] == "shock 😀 to me"


def test_in_vivo_reuses_code_when_same_words_are_coded_again(team):
    document = DocumentFactory.create(project=team.project, text=TEXT)
    existing = CodeFactory.create(project=team.project, name="Real Shock")
    start = TEXT.index("real shock")
    body = {"document": document.pk, "start": start, "end": start + len("real shock")}
    response = _post(team.coder, team, body)
    assert response.status_code == 201, response.content
    assert response.json()["code"]["id"] == existing.pk
    assert Code.objects.filter(project=team.project).count() == 1


def test_in_vivo_is_refused_when_user_is_manager(team):
    document = DocumentFactory.create(project=team.project, text=TEXT)
    response = _post(team.manager, team, {"document": document.pk, "start": 0, "end": 8})
    assert response.status_code == 403
    assert not Code.objects.exists()


def test_in_vivo_is_400_and_writes_nothing_when_span_is_bad(team):
    document = DocumentFactory.create(project=team.project, text=TEXT)
    other = DocumentFactory.create(project=team.other_project, text=TEXT)
    cases = [
        ({"document": document.pk, "start": 5, "end": 5}, "start"),
        ({"document": document.pk, "start": 0, "end": 10_000}, "end"),
        ({"document": document.pk, "start": 8, "end": 9}, "start"),  # white space only
        ({"document": other.pk, "start": 0, "end": 8}, "document"),
        ({"start": 0, "end": 8}, "document"),
    ]
    for body, field in cases:
        response = _post(team.coder, team, body)
        assert response.status_code == 400, (body, response.content)
        assert field in {e.get("field") for e in response.json()["errors"]}, response.json()
    assert not Code.objects.exists()
    assert not Excerpt.objects.exists()


def test_in_vivo_name_collapses_space_and_fits_the_field_when_quote_is_long():
    assert in_vivo_name("  “so   slow”\n ") == "so slow"
    long = in_vivo_name("word " * 60)
    assert len(long) <= 120
    assert long.endswith("word…")
