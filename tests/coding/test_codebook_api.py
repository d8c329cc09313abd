"""The codebook API: merge, split, archive, history and undo, CSV export and import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coding import services
from coding.models import Code, Excerpt
from tests.conftest import client_for
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory

SLUG = "onboarding-calls"


def url(name: str, **kwargs) -> str:
    return reverse(f"api:{name}", kwargs={"slug": SLUG, **kwargs})


@pytest.fixture
def pair(team):
    document = DocumentFactory.create(project=team.project)
    source = CodeFactory.create(project=team.project, name="Price")
    target = CodeFactory.create(project=team.project, name="Cost")
    excerpt = ExcerptFactory.create(document=document, code=source, coder=team.coder)
    return source, target, excerpt


@pytest.mark.parametrize(("who", "status"), [("researcher", 200), ("owner", 200)])
def test_merge_moves_excerpts_when_a_researcher_asks(team, pair, who, status):
    source, target, excerpt = pair
    response = client_for(team.user(who)).post(
        url("code-merge", pk=source.pk), {"into": target.pk}, format="json"
    )
    assert response.status_code == status
    assert response.json()["id"] == target.pk
    assert response.json()["excerpt_count"] == 1
    assert Excerpt.objects.get(pk=excerpt.pk).code_id == target.pk


@pytest.mark.parametrize(("who", "status"), [("coder", 403), ("manager", 403), ("outsider", 404)])
def test_codebook_writes_are_refused_when_role_lacks_edit_codebook(team, pair, who, status):
    source, target, excerpt = pair
    client = client_for(team.user(who))
    calls = [
        client.post(url("code-merge", pk=source.pk), {"into": target.pk}, format="json"),
        client.post(
            url("code-split", pk=source.pk),
            {"excerpts": [excerpt.pk], "name": "New"},
            format="json",
        ),
        client.post(url("code-archive", pk=source.pk)),
        client.post(url("code-unarchive", pk=source.pk)),
        client.post(
            url("codebook-import"),
            {"file": SimpleUploadedFile("c.csv", b"path\nX\n")},
            format="multipart",
        ),
    ]
    assert [r.status_code for r in calls] == [status] * 5
    assert Excerpt.objects.get(pk=excerpt.pk).code_id == source.pk
    assert not Code.objects.filter(name__in=["New", "X"]).exists()


def test_split_archive_history_and_undo_work_when_called_through_the_api(team, pair):
    source, _target, excerpt = pair
    client = client_for(team.researcher)
    split = client.post(
        url("code-split", pk=source.pk), {"excerpts": [excerpt.pk], "name": "Shock"}, format="json"
    )
    assert split.status_code == 201
    assert split.json()["name"] == "Shock"
    archived = client.post(url("code-archive", pk=source.pk))
    assert archived.json()["is_archived"] is True
    history = client.get(url("codebook-history-list")).json()
    assert [row["action"] for row in history["results"]] == ["archive", "split"]
    assert history["results"][0]["user"] == "researcher1"
    assert history["results"][0]["undone"] is False
    # Only the latest change can be undone.
    refused = client.post(url("codebook-history-undo", pk=history["results"][1]["id"]))
    assert refused.status_code == 400
    assert "most recent" in refused.json()["errors"][0]["message"]
    undone = client.post(url("codebook-history-undo", pk=history["results"][0]["id"]))
    assert undone.status_code == 200
    assert undone.json()["undone"] is True
    assert undone.json()["undone_by"] == "researcher1"
    assert Code.objects.get(pk=source.pk).is_archived is False


def test_split_is_400_when_excerpt_is_from_another_code(team, pair):
    source, target, _excerpt = pair
    other = ExcerptFactory.create(
        document=DocumentFactory.create(project=team.project), code=target, coder=team.coder
    )
    response = client_for(team.researcher).post(
        url("code-split", pk=source.pk), {"excerpts": [other.pk], "name": "X"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "excerpts"


def test_export_downloads_csv_when_a_coder_reads_it(team, pair):
    response = client_for(team.coder).get(url("codebook-export") + "?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    assert body.startswith("path,name,parent path")
    assert "Price" in body


def test_import_creates_codes_and_reports_rows_when_file_is_uploaded(team):
    client = client_for(team.researcher)
    good = client.post(
        url("codebook-import"),
        {"file": SimpleUploadedFile("c.csv", b"path,description\nMoney > Fees,Hidden\n")},
        format="multipart",
    )
    assert good.status_code == 200
    assert good.json()["created"] == 2
    bad = client.post(
        url("codebook-import"),
        {"file": SimpleUploadedFile("c.csv", b"path,color\nOther,blue\n")},
        format="multipart",
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["row"] == 2
    assert bad.json()["errors"][0]["field"] == "color"
    assert not Code.objects.filter(name="Other").exists()


def test_code_list_shows_participant_count_when_documents_have_participants(team, pair):
    rows = client_for(team.coder).get(url("code-list")).json()["results"]
    price = next(row for row in rows if row["name"] == "Price")
    assert price["excerpt_count"] == 1
    assert price["participant_count"] == 0


def test_code_rename_is_recorded_with_the_user_when_patched_through_the_api(team, pair):
    source, _target, _excerpt = pair
    client = client_for(team.researcher)
    client.patch(url("code-detail", pk=source.pk), {"name": "Pricing"}, format="json")
    latest = client.get(url("codebook-history-list")).json()["results"][0]
    assert latest["action"] == "rename"
    assert latest["user"] == "researcher1"
    assert services.codebook_export_csv(team.project).count("Pricing") == 2
