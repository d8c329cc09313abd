"""Hypotheses in a real browser: record one with the form, read its outcome, numbers and quotes,
follow a quote to the workspace. Screenshots land in test-artifacts/."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.coding.test_hypotheses import metric_hypothesis, strong
from tests.e2e.conftest import ARTIFACTS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]


def test_researcher_records_a_hypothesis_and_follows_a_quote(team, live_server, page: Page, login):
    world = strong(team)
    metric_hypothesis(world, team, "spend", "lower")  # one that is not supported, for contrast
    login(page, "researcher1")
    page.goto(live_server.url + reverse("frontend:project-home", args=[team.project.slug]))
    page.get_by_role("link", name="Hypotheses").click()
    expect(page.get_by_role("heading", name="Hypotheses", exact=True)).to_be_visible()

    form = page.locator("form.hyp-form__form")
    form.get_by_label("Your hypothesis, in your words").fill(
        "Price hunters call us about onboarding more than other customers."
    )
    form.get_by_label("Theme", exact=True).select_option(label="Onboarding calls")
    expect(form.get_by_label("Metric (for “a metric”)")).to_be_hidden()
    form.get_by_label("Segment (for “a segment”)").select_option(label="Price hunters")
    form.get_by_label("You expect the theme to be…").select_option("more")
    form.get_by_role("button", name="Record and evaluate").click()

    card = page.locator("article.hyp-card", has_text="Price hunters call us about onboarding")
    expect(card.locator(".hyp-status")).to_have_text("✓ Supported")
    expect(card).to_contain_text(
        re.compile(r"9 of 10 Price hunters \(90%\) vs 2 of 10 others \(20%\), Fisher p = 0\.\d{3}")
    )
    other = page.locator("article.hyp-card", has_text="Callers spend more.")
    expect(other.locator(".hyp-status")).to_have_text("✗ Not supported")
    expect(other).to_contain_text("opposite direction")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hypotheses.png"), full_page=True)

    quote = card.locator(".hyp-quote a").first
    expect(quote).to_have_attribute("href", re.compile(r"/code/\?excerpt=\d+$"))
    quote.click()
    page.wait_for_url(re.compile(r"/documents/\d+/code/\?excerpt=\d+$"))
