"""The hypotheses page: status in words, numbers in words, quotes with links, history, form."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coding import hypotheses
from coding.models import Excerpt, Hypothesis
from tests.coding.test_hypotheses import segment_hypothesis, strong
from tests.conftest import Team, client_for


def _url(team: Team) -> str:
    return reverse("frontend:hypotheses", kwargs={"slug": team.project.slug})


def test_page_shows_status_numbers_quotes_and_links(team: Team) -> None:
    world = strong(team)
    h = segment_hypothesis(world, team)
    response = client_for(team.manager).get(_url(team))
    assert response.status_code == 200
    html = response.content.decode()
    assert "✓ Supported" in html
    assert "9 of 10 Price hunters (90%) vs 2 of 10 others (20%), Fisher p = " in html
    assert "Onboarding calls is more common among Price hunters" in html
    assert h.latest is not None
    quote = h.latest.quote_ids[0]
    doc = Excerpt.objects.get(pk=quote).document_id
    link = reverse("frontend:document-code", args=[team.project.slug, doc]) + f"?excerpt={quote}"
    assert link in html
    assert "Record a hypothesis" not in html  # managers read only
    assert "Evaluate now" not in html


def test_project_home_links_to_the_page(team: Team) -> None:
    home = reverse("frontend:project-home", kwargs={"slug": team.project.slug})
    html = client_for(team.coder).get(home).content.decode()
    assert _url(team) in html


def test_researcher_records_a_hypothesis_with_the_form(team: Team) -> None:
    world = strong(team)
    response = client_for(team.researcher).post(
        _url(team),
        {
            "statement": "Callers spend more.",
            "code": world.theme.pk,
            "kind": "metric",
            "segment": f"{world.snapshot.pk}:Loyal",  # ignored: the metric is compared
            "metric": f"{world.snapshot.pk}:spend",
            "direction": "more",
        },
    )
    assert response.status_code == 302
    h = Hypothesis.objects.get()
    assert (h.kind, h.metric, h.segment, h.direction) == ("metric", "spend", "", "higher")
    assert h.latest is not None
    assert h.latest.outcome == "supported"
    html = client_for(team.researcher).get(_url(team)).content.decode()
    assert "median spend 103 with the theme (n = 11)" in html
    assert "Mann–Whitney p &lt; 0.001" in html


def test_form_error_names_the_problem_and_keeps_the_text(team: Team) -> None:
    world = strong(team)
    response = client_for(team.researcher).post(
        _url(team),
        {"statement": "Whales call more.", "code": world.theme.pk, "kind": "segment"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Pick a segment." in html
    assert "Whales call more." in html
    assert not Hypothesis.objects.exists()


def test_history_and_evaluate_and_delete(team: Team) -> None:
    world = strong(team)
    h = segment_hypothesis(world, team)
    Excerpt.objects.filter(project=world.project, code=world.child).delete()
    client = client_for(team.researcher)
    html = client.get(_url(team)).content.decode()
    assert "? Not enough evidence" in html
    assert "History (2 evaluations)" in html
    response = client.post(_url(team), {"action": "evaluate", "hypothesis": h.pk})
    assert response.status_code == 302
    assert h.evaluations.count() == 2  # nothing changed: no new row
    response = client.post(_url(team), {"action": "delete", "hypothesis": h.pk})
    assert response.status_code == 302
    assert not Hypothesis.objects.exists()


def test_coder_cannot_post(team: Team) -> None:
    strong(team)
    assert client_for(team.coder).post(_url(team), {"statement": "x"}).status_code == 403


def test_page_queries_do_not_grow_with_hypotheses(team: Team) -> None:
    world = strong(team)
    segment_hypothesis(world, team)
    client = client_for(team.manager)
    client.get(_url(team))
    with CaptureQueriesContext(connection) as few:
        client.get(_url(team))
    for _ in range(5):
        segment_hypothesis(world, team)
    hypotheses.refresh(world.project)
    with CaptureQueriesContext(connection) as many:
        client.get(_url(team))
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)
