"""Documents carry a version: PATCH (metadata or text) and DELETE from an older one get a 409
with the document as the detail GET returns it, and nothing is written."""

import pytest

from observations.models import Document
from observations.services import document_set_text, document_update
from research.concurrency import VersionConflict
from tests.conftest import client_for
from tests.factories import DocumentFactory


def _url(team, document):
    return f"/api/v1/projects/{team.project.slug}/documents/{document.pk}/"


def test_document_set_text_writes_nothing_when_version_is_stale(team):
    document = DocumentFactory.create(project=team.project)
    original = document.text
    stale = Document.objects.get(pk=document.pk)
    document_update(document=document, title="Renamed")
    with pytest.raises(VersionConflict):
        document_set_text(document=stale, text="Other words.", expected_version=1)
    document.refresh_from_db()
    assert (document.text, document.text_version, document.version) == (original, 1, 2)


def test_text_edit_raises_version_when_it_changes_the_text(team):
    document = DocumentFactory.create(project=team.project)
    document_set_text(document=document, text="Fresh words. " + document.text)
    document.refresh_from_db()
    assert (document.text_version, document.version) == (2, 2)


def test_api_answers_409_with_current_document_when_patch_is_stale(team):
    document = DocumentFactory.create(project=team.project)
    original = document.text
    client = client_for(team.researcher)
    loaded = client.get(_url(team, document))
    assert (loaded["ETag"], loaded.json()["version"]) == ('"1"', 1)
    first = client.patch(_url(team, document), {"title": "Call 1"}, format="json")
    assert first.status_code == 200
    assert first.json()["version"] == 2
    stale = client.patch(
        _url(team, document), {"text": "Lost words."}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert stale.status_code == 409
    body = stale.json()
    assert "changed since you loaded it" in body["detail"]
    assert body["current"]["title"] == "Call 1"
    assert body["current"]["text"] == original
    assert body["current"]["version"] == 2
    both = client.patch(
        _url(team, document),
        {"title": "Call 2", "text": "New words. " + original, "version": 2},
        format="json",
    )
    assert both.status_code == 200, both.content
    document.refresh_from_db()
    assert document.title == "Call 2"
    assert document.text.startswith("New words.")
    assert both.json()["version"] == document.version == 4  # two writes: metadata, then text


def test_api_answers_409_and_keeps_document_when_delete_is_stale(team):
    document = DocumentFactory.create(project=team.project)
    client = client_for(team.owner)
    assert client.patch(_url(team, document), {"title": "Call 1"}, format="json").status_code == 200
    refused = client.delete(_url(team, document), HTTP_IF_MATCH='"1"')
    assert refused.status_code == 409
    assert refused.json()["current"]["title"] == "Call 1"
    assert Document.objects.filter(pk=document.pk).exists()
    assert client.delete(_url(team, document), HTTP_IF_MATCH='"2"').status_code == 204
    assert not Document.objects.filter(pk=document.pk).exists()
