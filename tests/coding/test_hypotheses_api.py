"""The hypotheses API: create, read (fresh), history, evaluate, update, delete, validation."""

from typing import Any

from django.urls import reverse

from coding.models import Excerpt, Hypothesis
from tests.coding.test_hypotheses import World, strong
from tests.conftest import Team, client_for
from tests.factories import CodeFactory


def _list_url(team: Team) -> str:
    return reverse("api:hypothesis-list", kwargs={"slug": team.project.slug})


def _url(team: Team, name: str, pk: int) -> str:
    return reverse(f"api:{name}", kwargs={"slug": team.project.slug, "pk": pk})


def _body(world: World, **changes: Any) -> dict[str, Any]:
    return {
        "statement": "Price hunters call us in their first month.",
        "code": world.theme.pk,
        "kind": "segment",
        "segmentation": world.snapshot.pk,
        "segment": "Price hunters",
        "direction": "more",
        **changes,
    }


def test_researcher_records_a_hypothesis_and_gets_its_evaluation(team: Team) -> None:
    world = strong(team)
    response = client_for(team.researcher).post(_list_url(team), _body(world), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code_name"] == "Onboarding calls"
    assert body["created_by"] == "researcher1"
    assert body["latest"]["outcome"] == "supported"
    assert body["latest"]["outcome_label"] == "Supported"
    assert body["latest"]["test"] == "fisher"
    assert body["summary"].startswith("9 of 10 Price hunters (90%) vs 2 of 10 others (20%)")
    assert body["quotes"]
    quote = body["quotes"][0]
    assert set(quote) == {"excerpt", "text", "document", "document_title", "speaker"}
    assert quote["speaker"].startswith("P0")


def test_manager_reads_but_cannot_write(team: Team) -> None:
    world = strong(team)
    client_for(team.researcher).post(_list_url(team), _body(world), format="json")
    manager = client_for(team.manager)
    listed = manager.get(_list_url(team))
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert manager.post(_list_url(team), _body(world), format="json").status_code == 403


def test_reading_reevaluates_when_data_changed(team: Team) -> None:
    world = strong(team)
    created = client_for(team.researcher).post(_list_url(team), _body(world), format="json")
    pk = created.json()["id"]
    # Data change outside the services (no task queued): the read still sees it.
    Excerpt.objects.filter(project=world.project, code=world.child).delete()
    body = client_for(team.coder).get(_url(team, "hypothesis-detail", pk)).json()
    assert body["latest"]["outcome"] == "not_enough_evidence"
    history = client_for(team.coder).get(_url(team, "hypothesis-evaluations", pk)).json()
    assert [e["outcome"] for e in history["results"]] == ["not_enough_evidence", "supported"]


def test_evaluate_adds_no_history_row_when_nothing_changed(team: Team) -> None:
    world = strong(team)
    client = client_for(team.researcher)
    pk = client.post(_list_url(team), _body(world), format="json").json()["id"]
    response = client.post(_url(team, "hypothesis-evaluate", pk))
    assert response.status_code == 200
    assert response.json()["latest"]["outcome"] == "supported"
    history = client.get(_url(team, "hypothesis-evaluations", pk)).json()
    assert history["count"] == 1


def test_patch_changes_direction_and_outcome(team: Team) -> None:
    world = strong(team)
    client = client_for(team.researcher)
    pk = client.post(_list_url(team), _body(world), format="json").json()["id"]
    response = client.patch(_url(team, "hypothesis-detail", pk), {"direction": "less"})
    assert response.status_code == 200, response.content
    assert response.json()["latest"]["outcome"] == "not_supported"
    assert "opposite direction" in response.json()["latest"]["reason"]


def test_metric_hypothesis_via_api(team: Team) -> None:
    world = strong(team)
    body = _body(world, kind="metric", segment="", metric="spend", direction="higher")
    response = client_for(team.owner).post(_list_url(team), body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["latest"]["test"] == "mann-whitney"
    assert response.json()["latest"]["effect"] == 1.0


def test_delete_removes_hypothesis_and_history(team: Team) -> None:
    world = strong(team)
    client = client_for(team.researcher)
    pk = client.post(_list_url(team), _body(world), format="json").json()["id"]
    assert client.delete(_url(team, "hypothesis-detail", pk)).status_code == 204
    assert not Hypothesis.objects.filter(pk=pk).exists()


def _errors(response: Any) -> dict[str, str]:
    return {e.get("field"): e["message"] for e in response.json()["errors"]}


def test_unknown_segment_and_metric_are_400_naming_them(team: Team) -> None:
    world = strong(team)
    client = client_for(team.researcher)
    response = client.post(_list_url(team), _body(world, segment="Whales"), format="json")
    assert response.status_code == 400
    assert "Whales" in _errors(response)["segment"]
    body = _body(world, kind="metric", metric="nps", direction="higher")
    response = client.post(_list_url(team), body, format="json")
    assert response.status_code == 400
    assert "nps" in _errors(response)["metric"]
    body = _body(world, kind="metric", metric="plan", category="Gold")
    response = client.post(_list_url(team), body, format="json")
    assert response.status_code == 400
    assert "Gold" in _errors(response)["category"]
    assert not Hypothesis.objects.exists()


def test_theme_or_snapshot_of_another_project_is_400(team: Team) -> None:
    world = strong(team)
    client = client_for(team.researcher)
    foreign = CodeFactory.create(project=team.other_project)
    response = client.post(_list_url(team), _body(world, code=foreign.pk), format="json")
    assert response.status_code == 400
    assert "code" in _errors(response)
    from research.models import Segmentation

    theirs = Segmentation.objects.create(
        project=team.other_project, name="X", version=1, source_name="x.csv"
    )
    response = client.post(_list_url(team), _body(world, segmentation=theirs.pk), format="json")
    assert response.status_code == 400
    assert "segmentation" in _errors(response)


def test_other_projects_hypothesis_is_404(team: Team) -> None:
    world = strong(team)
    pk = client_for(team.researcher).post(_list_url(team), _body(world), format="json").json()["id"]
    other_slug = team.other_project.slug
    url = reverse("api:hypothesis-detail", kwargs={"slug": other_slug, "pk": pk})
    assert client_for(team.outsider).get(url).status_code == 404
