"""Excerpts and codes through the HTTP API: filters, ownership rules, role refusals."""

from coding.models import Excerpt
from tests.conftest import client_for
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory


def _url(team, suffix=""):
    return f"/api/v1/projects/{team.project.slug}/excerpts/{suffix}"


def test_excerpt_create_records_coder_and_quote_when_coder_codes(team):
    document = DocumentFactory.create(project=team.project)
    code = CodeFactory.create(project=team.project)
    start = document.text.index("activation")
    response = client_for(team.coder).post(
        _url(team),
        {"document": document.pk, "code": code.pk, "start": start, "end": start + 10},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["coder"] == "coder1"
    assert response.json()["text"] == "activation"


def test_excerpt_list_filters_by_document_code_and_coder_when_given(team):
    doc_a, doc_b = (
        DocumentFactory.create(project=team.project),
        DocumentFactory.create(project=team.project),
    )
    code = CodeFactory.create(project=team.project)
    ExcerptFactory.create(document=doc_a, code=code, coder=team.coder)
    ExcerptFactory.create(document=doc_a, coder=team.researcher)
    ExcerptFactory.create(document=doc_b, code=code, coder=team.coder)
    client = client_for(team.manager)
    assert client.get(_url(team, f"?document={doc_a.pk}")).json()["count"] == 2
    assert client.get(_url(team, f"?code={code.pk}")).json()["count"] == 2
    assert client.get(_url(team, "?coder=researcher1")).json()["count"] == 1
    assert client.get(_url(team, f"?coder=coder1&document={doc_b.pk}")).json()["count"] == 1


def test_coder_edits_own_excerpt_but_gets_403_when_it_is_someone_elses(team):
    document = DocumentFactory.create(project=team.project)
    mine = ExcerptFactory.create(document=document, coder=team.coder)
    theirs = ExcerptFactory.create(document=document, coder=team.researcher)
    client = client_for(team.coder)
    assert client.patch(_url(team, f"{mine.pk}/"), {"memo": "ok"}, format="json").status_code == 200
    assert (
        client.patch(_url(team, f"{theirs.pk}/"), {"memo": "no"}, format="json").status_code == 403
    )
    assert client.delete(_url(team, f"{theirs.pk}/")).status_code == 403
    assert Excerpt.objects.get(pk=theirs.pk).memo == ""
    assert client_for(team.researcher).delete(_url(team, f"{mine.pk}/")).status_code == 204


def test_manager_gets_403_when_trying_to_code(team):
    document = DocumentFactory.create(project=team.project)
    code = CodeFactory.create(project=team.project)
    response = client_for(team.manager).post(
        _url(team), {"document": document.pk, "code": code.pk, "start": 0, "end": 5}, format="json"
    )
    assert response.status_code == 403
    assert not Excerpt.objects.exists()


def test_code_tree_round_trips_when_researcher_builds_codebook(team):
    client = client_for(team.researcher)
    base = f"/api/v1/projects/{team.project.slug}/codes/"
    theme = client.post(
        base, {"name": "Activation friction", "color": "#d62728"}, format="json"
    ).json()
    child = client.post(
        base,
        {
            "name": "Waiting for SIM",
            "parent": theme["id"],
            "description": "Delays before first use.",
        },
        format="json",
    )
    assert child.status_code == 201
    assert child.json()["parent"] == theme["id"]
    children = client.get(f"{base}?parent={theme['id']}").json()["results"]
    assert [c["name"] for c in children] == ["Waiting for SIM"]
    assert client_for(team.coder).post(base, {"name": "Sneaky"}, format="json").status_code == 403


def test_code_delete_gives_400_and_keeps_excerpts_when_code_is_in_use(team):
    excerpt = ExcerptFactory.create(document=DocumentFactory.create(project=team.project))
    url = f"/api/v1/projects/{team.project.slug}/codes/{excerpt.code_id}/"
    response = client_for(team.owner).delete(url)
    assert response.status_code == 400
    assert Excerpt.objects.filter(pk=excerpt.pk).exists()
