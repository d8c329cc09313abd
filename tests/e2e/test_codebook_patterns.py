"""The pattern editor in a real browser: typing a keyword updates the live preview's count and
highlights the matches; adding and removing rules works; saving keeps the rules."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from coding.models import Code
from tests.e2e.conftest import ARTIFACTS
from tests.factories import CodeFactory, DocumentFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]


def test_typing_a_keyword_updates_the_live_preview(team, live_server, page: Page, login) -> None:
    code = CodeFactory.create(
        project=team.project,
        name="Unexpected charges",
        patterns=[{"type": "phrase", "text": "bill shock"}],
    )
    DocumentFactory.create(
        project=team.project,
        title="Call with Ana <i>",
        text=(
            "I was charged twice in May. The bill shock was real.\n\n"
            "They charge a fee for everything."
        ),
    )
    DocumentFactory.create(
        project=team.project, title="Call with Ben", text="Charges appeared later."
    )

    login(page, "researcher1")
    page.goto(
        live_server.url
        + reverse("frontend:codebook", args=[team.project.slug])
        + f"?code={code.pk}"
    )
    preview = page.locator("#cb-preview")
    expect(preview.locator(".cb-preview__count")).to_contain_text("1 hit")

    page.get_by_role("button", name="Add a rule").click()
    rows = page.locator("[data-pattern-row]")
    blank = rows.nth(rows.count() - 1)
    blank.get_by_role("textbox", name="Rule", exact=True).fill("charge")

    expect(preview.locator(".cb-preview__count")).to_contain_text("4 hits")
    expect(preview.locator(".cb-preview__count")).to_contain_text("in 2 of 2 ready documents")
    expect(preview.locator("mark").first).to_have_text("charged")
    expect(preview).to_contain_text("Call with Ana <i>")  # a title with markup is text
    page.screenshot(path=str(ARTIFACTS / "codebook-pattern-preview.png"), full_page=True)

    page.locator("[data-pattern-row]").first.get_by_role("button", name="Remove this rule").click()
    expect(preview.locator(".cb-preview__count")).to_contain_text("3 hits")

    page.get_by_role("button", name="Save rules").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved 1 pattern rule")
    assert Code.objects.get(pk=code.pk).patterns == [{"type": "keyword", "text": "charge"}]
