"""Versions of codes and excerpts: compare-and-swap in the services, ETag/If-Match and 409 in
the API, and a real race on PostgreSQL (research/concurrency.py)."""

import threading
from typing import Any

import pytest
from django.db import connection

from coding import services
from coding.models import Code, Excerpt
from research.concurrency import VersionConflict
from tests.conftest import client_for
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory


def _url(team, kind, pk):
    return f"/api/v1/projects/{team.project.slug}/{kind}/{pk}/"


def test_excerpt_update_raises_version_when_it_writes(team):
    excerpt = ExcerptFactory.create(document=DocumentFactory.create(project=team.project))
    assert excerpt.version == 1
    services.excerpt_update(excerpt=excerpt, memo="first", expected_version=1)
    services.excerpt_update(excerpt=excerpt, memo="second")
    excerpt.refresh_from_db()
    assert (excerpt.version, excerpt.memo) == (3, "second")


def test_excerpt_update_writes_nothing_when_version_is_stale(team):
    excerpt = ExcerptFactory.create(document=DocumentFactory.create(project=team.project))
    stale = Excerpt.objects.get(pk=excerpt.pk)
    services.excerpt_update(excerpt=excerpt, memo="winner")
    with pytest.raises(VersionConflict):
        services.excerpt_update(excerpt=stale, memo="loser")
    with pytest.raises(VersionConflict):
        services.excerpt_update(excerpt=Excerpt.objects.get(pk=excerpt.pk), expected_version=1)
    with pytest.raises(VersionConflict):
        services.excerpt_delete(excerpt=stale)
    excerpt.refresh_from_db()
    assert (excerpt.version, excerpt.memo) == (2, "winner")


def test_code_update_and_delete_write_nothing_when_version_is_stale(team):
    code = CodeFactory.create(project=team.project, name="Price")
    stale = Code.objects.get(pk=code.pk)
    services.code_update(code=code, user=team.researcher, name="Cost")
    with pytest.raises(VersionConflict):
        services.code_update(code=stale, user=team.researcher, description="lost")
    with pytest.raises(VersionConflict):
        services.code_delete(code=stale, user=team.researcher)
    code.refresh_from_db()
    assert (code.name, code.description, code.version) == ("Cost", "", 2)
    assert code.changes.count() == 1  # only the rename is in the history


def test_reanchoring_and_merge_raise_versions_when_they_move_excerpts(team):
    from observations.services import document_set_text

    document = DocumentFactory.create(project=team.project)
    start = document.text.index("activation")
    excerpt = ExcerptFactory.create(document=document, start=start, end=start + 10)
    document_set_text(document=document, text="New words. " + document.text)
    excerpt.refresh_from_db()
    assert (excerpt.start, excerpt.version) == (start + 11, 2)
    target = CodeFactory.create(project=team.project)
    services.code_merge(source=excerpt.code, target=target, user=team.researcher)
    excerpt.refresh_from_db()
    assert (excerpt.code_id, excerpt.version) == (target.pk, 3)


def test_undo_gives_restored_rows_a_newer_version_when_it_restores_them(team):
    code = CodeFactory.create(project=team.project, name="Price")
    services.code_update(code=code, user=team.researcher, name="Cost")
    change = code.changes.get()
    services.codebook_undo(change=change, user=team.researcher)
    code.refresh_from_db()
    assert (code.name, code.version) == ("Price", 3)


def test_api_answers_409_with_current_state_when_excerpt_patch_is_stale(team):
    excerpt = ExcerptFactory.create(
        document=DocumentFactory.create(project=team.project), coder=team.coder
    )
    client = client_for(team.coder)
    loaded = client.get(_url(team, "excerpts", excerpt.pk))
    assert loaded["ETag"] == '"1"'
    assert loaded.json()["version"] == 1
    first = client.patch(
        _url(team, "excerpts", excerpt.pk), {"memo": "first"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert first.status_code == 200, first.content
    assert first.json()["version"] == 2
    second = client.patch(
        _url(team, "excerpts", excerpt.pk), {"memo": "second", "version": 1}, format="json"
    )
    assert second.status_code == 409
    body = second.json()
    assert "changed since you loaded it" in body["detail"]
    assert body["current"] == client.get(_url(team, "excerpts", excerpt.pk)).json()
    assert body["current"]["memo"] == "first"
    assert second["ETag"] == '"2"'
    refused = client.delete(_url(team, "excerpts", excerpt.pk), HTTP_IF_MATCH='W/"1"')
    assert refused.status_code == 409
    assert refused.json()["current"]["version"] == 2
    assert client.delete(_url(team, "excerpts", excerpt.pk), HTTP_IF_MATCH='"2"').status_code == 204
    assert not Excerpt.objects.filter(pk=excerpt.pk).exists()


def test_api_answers_409_when_code_patch_or_delete_is_stale(team):
    code = CodeFactory.create(project=team.project, name="Price")
    client = client_for(team.researcher)
    url = _url(team, "codes", code.pk)
    assert client.patch(url, {"name": "Cost", "version": 1}, format="json").status_code == 200
    stale = client.patch(url, {"name": "Fee"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 409
    assert stale.json()["current"]["name"] == "Cost"
    assert stale.json()["current"] == client.get(url).json()
    assert client.delete(url, {"version": 1}, format="json").status_code == 409
    code.refresh_from_db()
    assert (code.name, code.version) == ("Cost", 2)


def test_api_accepts_write_without_version_for_scripts(team):
    code = CodeFactory.create(project=team.project, name="Price")
    response = client_for(team.researcher).patch(
        _url(team, "codes", code.pk), {"description": "What it costs."}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2


@pytest.mark.parametrize(
    ("headers", "body", "field"),
    [
        ({"HTTP_IF_MATCH": "yesterday"}, {}, "If-Match"),
        ({}, {"version": "one"}, "version"),
        ({}, {"version": 0}, "version"),
        ({"HTTP_IF_MATCH": '"1"'}, {"version": 2}, "version"),
    ],
)
def test_api_answers_400_naming_the_version_when_it_is_malformed(team, headers, body, field):
    code = CodeFactory.create(project=team.project, name="Price")
    response = client_for(team.researcher).patch(
        _url(team, "codes", code.pk), {"name": "Cost", **body}, format="json", **headers
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    code.refresh_from_db()
    assert (code.name, code.version) == ("Price", 1)


def test_workspace_carries_versions_when_loaded(team):
    excerpt = ExcerptFactory.create(document=DocumentFactory.create(project=team.project))
    url = f"/api/v1/projects/{team.project.slug}/documents/{excerpt.document_id}/workspace/"
    payload = client_for(team.coder).get(url).json()
    assert payload["document"]["version"] == 1
    assert payload["excerpts"][0]["version"] == 1


def _race(edit, users) -> list[object]:
    """Run `edit(user, barrier)` in one thread (own connection) per user at once."""
    barrier = threading.Barrier(len(users))
    outcomes: list[object] = []

    def run(user):
        try:
            outcomes.append(edit(user, barrier))
        except VersionConflict as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises writers: no race to lose"
)
def test_two_editors_of_one_excerpt_at_once_make_one_win_when_both_loaded_it(team):
    excerpt = ExcerptFactory.create(document=DocumentFactory.create(project=team.project))

    def edit(user, barrier):
        loaded = Excerpt.objects.get(pk=excerpt.pk)  # both hold version 1
        barrier.wait()
        return services.excerpt_update(excerpt=loaded, memo=f"by {user.username}").memo

    outcomes = _race(edit, [team.coder, team.researcher])
    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1
    assert sum(isinstance(o, VersionConflict) for o in outcomes) == 1
    excerpt.refresh_from_db()
    assert (excerpt.memo, excerpt.version) == (winners[0], 2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises writers: no race to lose"
)
def test_two_api_patches_of_one_excerpt_at_once_give_one_200_and_one_409(team):
    excerpt = ExcerptFactory.create(
        document=DocumentFactory.create(project=team.project), coder=team.coder
    )
    url = _url(team, "excerpts", excerpt.pk)

    def edit(user, barrier):
        client = client_for(user)
        barrier.wait()
        response = client.patch(url, {"memo": user.username}, format="json", HTTP_IF_MATCH='"1"')
        return (response.status_code, response.json())

    outcomes: list[Any] = _race(edit, [team.owner, team.researcher])
    assert sorted(status for status, _ in outcomes) == [200, 409]
    winner = next(body for status, body in outcomes if status == 200)
    loser = next(body for status, body in outcomes if status == 409)
    assert loser["current"]["memo"] == winner["memo"]
    excerpt.refresh_from_db()
    assert (excerpt.memo, excerpt.version) == (winner["memo"], 2)
