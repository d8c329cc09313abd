"""Two browser tabs edit the same excerpt memo: the second save gets the conflict message, keeps
what was typed, and saving again replaces the first deliberately (issue 8.5)."""

import pytest
from playwright.sync_api import Page, expect

from coding.models import Excerpt
from tests.e2e.test_workspace import LINES, open_workspace, transcript
from tests.factories import CodeFactory, ExcerptFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]


def _open_panel(page: Page) -> None:
    page.locator("mark.ws-hl").focus()
    page.keyboard.press("Enter")


def test_second_tab_gets_conflict_and_keeps_its_memo_when_first_saved_meanwhile(
    team, live_server, page: Page, login
):
    document = transcript(team.project, LINES)
    start = document.text.index("forty minutes")
    excerpt = ExcerptFactory.create(
        document=document,
        code=CodeFactory.create(project=team.project, name="Support wait"),
        coder=team.coder,
        start=start,
        end=start + len("forty minutes"),
    )
    login(page, "coder1")
    other = page.context.new_page()
    open_workspace(page, live_server, document)
    open_workspace(other, live_server, document)
    _open_panel(page)
    _open_panel(other)
    page.locator("#ws-panel").get_by_label("Memo").fill("Written in the first tab.")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        page.locator("#ws-panel").get_by_role("button", name="Save").click()
    memo = other.locator("#ws-panel").get_by_label("Memo")
    memo.fill("Written in the second tab.")
    with other.expect_response(lambda r: r.request.method == "PATCH" and r.status == 409):
        other.locator("#ws-panel").get_by_role("button", name="Save").click()
    error = other.locator("#ws-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("someone changed this excerpt since you loaded it")
    expect(error).to_contain_text("Written in the first tab.")
    expect(memo).to_have_value("Written in the second tab.")
    assert Excerpt.objects.get(pk=excerpt.pk).memo == "Written in the first tab."
    with other.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        other.locator("#ws-panel").get_by_role("button", name="Save").click()
    excerpt.refresh_from_db()
    assert (excerpt.memo, excerpt.version) == ("Written in the second tab.", 3)
