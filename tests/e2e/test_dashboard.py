"""The manager dashboard in a real browser: read the heatmap, open the quotes behind a cell, and
follow one to its spot in the coding workspace. Screenshots land in test-artifacts/."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from coding.models import Excerpt
from tests.e2e.conftest import ARTIFACTS
from tests.frontend.test_dashboard_page import build_study

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]


def test_manager_drills_from_a_cell_to_the_excerpt_in_the_workspace(
    team, live_server, page: Page, login
):
    study = build_study(
        team.project,
        team.researcher,
        themes={
            "Billing shock": {"Switchers": 9, "Loyal": 1, "Newcomers": 2},
            "Support wait": {"Switchers": 5, "Loyal": 5, "Newcomers": 1},
            "Roaming confusion": {"Switchers": 2, "Loyal": 7, "Newcomers": 0},
        },
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "manager1")
    page.goto(live_server.url + reverse("frontend:dashboard", args=[team.project.slug]))
    expect(
        page.get_by_role("heading", name="Dashboard: themes by customer segment")
    ).to_be_visible()
    heatmap = page.locator("table.dash-heatmap")
    expect(heatmap.get_by_role("columnheader", name="Switchers")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    page.screenshot(path=str(ARTIFACTS / "dashboard-full.png"), full_page=True)

    cell = heatmap.get_by_role("link", name="Billing shock in Switchers:")
    expect(cell).to_have_attribute(
        "aria-label",
        re.compile(r"^Billing shock in Switchers: 9 of 10 participants \(90%\); finding"),
    )
    # Not-enough-evidence cells say so to assistive technology and are never findings.
    thin = heatmap.get_by_role("link", name="Billing shock in Newcomers:")
    expect(thin).to_have_attribute("aria-label", re.compile("not enough evidence to compare"))
    cell.focus()
    page.keyboard.press("Enter")
    drill = page.locator("#dash-drill")
    expect(drill.get_by_role("heading", name="“Billing shock” in Switchers")).to_be_visible()
    expect(drill.locator(".dash-quote")).to_have_count(9)
    expect(drill.locator("mark").first).to_have_text("roaming charges")
    expect(cell).to_have_attribute("aria-current", "true")
    expect(drill).to_be_focused()
    page.screenshot(path=str(ARTIFACTS / "dashboard-drilldown.png"))

    first = drill.locator(".dash-quote").first
    href = first.get_by_role("link", name="Open in workspace").get_attribute("href") or ""
    excerpt = Excerpt.objects.get(pk=int(href.rsplit("=", 1)[1]))
    assert excerpt.code_id == study.codes["Billing shock"].pk
    first.get_by_role("link", name="Open in workspace").click()
    page.wait_for_function("() => window.workspaceReady === true")
    target = page.locator(".ws-hl--target")
    expect(target).to_have_count(1)
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()
    assert excerpt.id in [int(i) for i in (target.get_attribute("data-ids") or "").split(",")]
    expect(page.locator("#ws-panel-body")).to_contain_text("roaming charges")
    expect(page.locator("#ws-panel-body")).to_contain_text("Billing shock")
    page.screenshot(path=str(ARTIFACTS / "dashboard-workspace.png"))


def test_workspace_says_so_when_the_requested_excerpt_is_gone(team, live_server, page: Page, login):
    study = build_study(team.project, team.researcher)
    excerpt = study.excerpts[0]
    document = excerpt.document_id
    excerpt.delete()
    login(page, "manager1")
    url = reverse("frontend:document-code", args=[team.project.slug, document])
    page.goto(f"{live_server.url}{url}?excerpt={excerpt.pk or 999999}")
    page.wait_for_function("() => window.workspaceReady === true")
    expect(page.locator("#ws-error")).to_contain_text("no longer in this document")
    expect(page.locator(".ws-hl--target")).to_have_count(0)


def test_markfor_finds_the_highlight_of_an_excerpt(team, live_server, page: Page, login):
    study = build_study(team.project, team.researcher)
    excerpt = study.excerpts[0]
    login(page, "manager1")
    url = reverse("frontend:document-code", args=[team.project.slug, excerpt.document_id])
    page.goto(live_server.url + url)
    page.wait_for_function("() => window.workspaceReady === true")
    found = page.evaluate(
        """async ([id]) => {
          const mod = await import("/static/frontend/workspace.js");
          const root = document.createElement("div");
          root.innerHTML = '<mark class="ws-hl" data-ids="3,14">a</mark>'
            + '<mark class="ws-hl" data-ids="4">b</mark>';
          const doc = document.getElementById("ws-doc");
          return [mod.markFor(root, 14)?.textContent, mod.markFor(root, 4)?.textContent,
                  mod.markFor(root, 1), mod.markFor(doc, id) !== null];
        }""",
        [excerpt.pk],
    )
    assert found == ["a", "b", None, True]
