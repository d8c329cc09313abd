"""The codebook page in a real browser: a researcher merges two codes and the excerpts survive;
a coder sees no edit controls; a code name with markup renders as text and runs nothing."""

import pytest
from django.urls import reverse
from playwright.sync_api import Dialog, Page, expect

from coding.models import Code, Excerpt
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]

EVIL = "<img src=x onerror=alert(1)>"


def _codebook(live_server, team) -> str:
    return live_server.url + reverse("frontend:codebook", args=[team.project.slug])


def test_excerpts_survive_when_researcher_merges_two_codes(
    team, live_server, page: Page, login
) -> None:
    theme = CodeFactory.create(project=team.project, name="Billing clarity")
    source = CodeFactory.create(project=team.project, name="Fee surprise", parent=theme)
    target = CodeFactory.create(project=team.project, name="First bill shock", parent=theme)
    document = DocumentFactory.create(
        project=team.project, text="The first bill had a fee I never agreed to pay."
    )
    moved = [
        ExcerptFactory.create(document=document, code=source, coder=team.coder, start=0, end=14),
        ExcerptFactory.create(document=document, code=source, coder=team.coder, start=21, end=24),
    ]
    ExcerptFactory.create(document=document, code=target, coder=team.coder, start=0, end=14)

    login(page, "researcher1")
    page.goto(_codebook(live_server, team))
    page.get_by_role("link", name="Fee surprise").click()
    expect(page.get_by_role("heading", level=2, name="Fee surprise")).to_be_visible()
    page.get_by_label("Merge into…").select_option(label="\u00a0\u00a0\u00a0First bill shock")
    page.get_by_role("button", name="Review merge").click()
    expect(page.locator(".cb-confirm")).to_contain_text("2 excerpts move")
    expect(page.locator(".cb-confirm")).to_contain_text("1 of them is an exact duplicate")
    page.get_by_role("button", name="Merge 2 excerpts into “First bill shock”").click()

    expect(page.get_by_role("status").first).to_contain_text(
        "Merged “Fee surprise” into “First bill shock”"
    )
    expect(page.locator(".cb-tree")).not_to_contain_text("Fee surprise")
    assert not Code.objects.filter(pk=source.pk).exists()
    on_target = set(Excerpt.objects.filter(code=target).values_list("start", "end"))
    assert on_target == {(0, 14), (21, 24)}  # nothing lost; the exact duplicate collapsed
    assert Excerpt.objects.filter(pk=moved[1].pk, code=target).exists()


def test_no_edit_controls_when_a_coder_opens_the_codebook(
    team, live_server, page: Page, login
) -> None:
    code = CodeFactory.create(project=team.project, name="Locked out", description="Cannot log in")

    login(page, "coder1")
    page.goto(_codebook(live_server, team) + f"?code={code.pk}")

    expect(page.get_by_role("heading", level=2, name="Locked out")).to_be_visible()
    expect(page.locator("#codebook")).to_contain_text("Cannot log in")
    expect(page.locator("#codebook form")).to_have_count(0)
    expect(page.get_by_role("button", name="Archive")).to_have_count(0)
    expect(page.get_by_label("Move to…")).to_have_count(0)
    expect(page.get_by_text("New theme")).to_have_count(0)


def test_markup_in_code_name_renders_as_text_when_viewed(
    team, live_server, page: Page, login
) -> None:
    code = CodeFactory.create(project=team.project, name=EVIL)
    dialogs: list[Dialog] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    login(page, "researcher1")
    page.goto(_codebook(live_server, team))
    page.locator(f"#cb-code-{code.pk}").click()

    expect(page.get_by_role("heading", level=2, name=EVIL)).to_be_visible()
    expect(page.locator(f"#cb-code-{code.pk}")).to_contain_text(EVIL)
    expect(page.locator("#codebook img")).to_have_count(0)
    page.wait_for_timeout(300)
    assert dialogs == []


def test_rename_and_undo_update_in_place_when_researcher_uses_htmx(
    team, live_server, page: Page, login
) -> None:
    code = CodeFactory.create(project=team.project, name="Porting delay")
    url = _codebook(live_server, team) + f"?code={code.pk}"

    login(page, "researcher1")
    page.goto(url)
    page.get_by_text("Edit name, colour and definition").click()
    page.get_by_label("Name", exact=True).fill("Number porting delay")
    page.get_by_label("Definition").fill("Waiting for the old number to move over.")
    page.get_by_role("button", name="Save changes").click()

    expect(page.locator("#codebook [role=status]")).to_contain_text("Saved “Number porting delay”")
    expect(page.locator("#codebook [role=status]")).to_be_focused()  # codebook.js
    expect(page.locator(".cb-history")).to_contain_text("Number porting delay")
    assert page.url == url  # swapped in place, no page load
    page.locator(".cb-history").get_by_role("button", name="Undo").click()

    expect(page.locator("#codebook [role=status]")).to_contain_text("Undone")
    expect(page.locator(".cb-tree")).to_contain_text("Porting delay")
    code.refresh_from_db()
    assert code.name == "Porting delay"
    assert code.description == ""


def test_drag_onto_another_code_moves_it_when_researcher_drops(
    team, live_server, page: Page, login
) -> None:
    theme = CodeFactory.create(project=team.project, name="Human help")
    loose = CodeFactory.create(project=team.project, name="Chatbot dead end")

    login(page, "researcher1")
    page.goto(_codebook(live_server, team))
    page.locator(f'.cb-row[data-code="{loose.pk}"]').drag_to(
        page.locator(f'.cb-row[data-code="{theme.pk}"]')
    )

    expect(page.locator("#codebook [role=status]")).to_contain_text(
        "Moved “Chatbot dead end” under “Human help”"
    )
    loose.refresh_from_db()
    assert loose.parent_id == theme.pk
