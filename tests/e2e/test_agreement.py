"""The agreement page in a real browser: compare two coders, read the figures, reconcile one
disputed passage by keeping one coder's excerpt and another by keeping the version of the coder
who did not apply the code. Screenshots land in test-artifacts/."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from coding.models import AgreementDecision, Excerpt
from tests.coding.test_agreement_api import study  # noqa: F401 (the fixture)
from tests.e2e.conftest import ARTIFACTS
from tests.factories import CodeFactory, ExcerptFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]


def test_researcher_compares_two_coders_and_keeps_one_coders_excerpt(
    study,  # noqa: F811
    live_server,
    page: Page,
    login,
):
    # Both also coded the middle sentence alike, so each stays a coder here to the end.
    calm = CodeFactory.create(project=study.project, name="Calm")
    for coder in (study.ana, study.ben):
        ExcerptFactory.create(document=study.doc, code=calm, coder=coder, start=18, end=50)
    login(page, "researcher1")
    page.goto(live_server.url + reverse("frontend:project-home", args=[study.project.slug]))
    page.get_by_role("link", name="Inter-coder agreement").click()
    page.get_by_label("ana").check()
    page.get_by_label("ben").check()
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".agree-unit")).to_contain_text(
        "Unit: character — every character of the compared documents counts once per code"
    )
    expect(page.locator(".agree-table tbody tr").filter(has_text="Pain")).to_contain_text("64.7%")
    passages = page.locator("article.agree-passage")
    expect(passages).to_have_count(2)
    first = passages.first
    expect(first.locator(".agree-side").nth(1).locator("mark")).to_have_text("Sign-up wa")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "agreement.png"), full_page=True)

    first.get_by_role("button", name="Keep ana's").click()
    expect(page.locator(".message--success")).to_contain_text("Reconciled a passage of 'Pain'")
    expect(page.locator("article.agree-passage")).to_have_count(1)
    expect(page.locator(".agree-decisions")).to_contain_text("Keep one coder's")
    decision = AgreementDecision.objects.get()
    assert decision.action == "keep"
    assert not Excerpt.objects.filter(coder=study.ben, start=0).exists()

    # ana did not apply Pain to the last sentence: keeping her version removes ben's there.
    last = page.locator("article.agree-passage")
    expect(last.get_by_role("button", name="Keep ana's (code not applied)")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "agreement-not-applied.png"), full_page=True)
    last.get_by_role("button", name="Keep ana's (code not applied)").click()
    expect(page.locator(".message--success")).to_contain_text("Reconciled a passage of 'Pain'")
    expect(page.locator("article.agree-passage")).to_have_count(0)
    expect(page.get_by_role("heading", name="Disagreements (0)")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "agreement-reconciled.png"), full_page=True)
    assert not Excerpt.objects.filter(code=study.pain, start=51).exists()
    assert AgreementDecision.objects.count() == 2
