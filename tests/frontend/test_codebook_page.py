"""The codebook page: everyone reads the tree, researchers and owners edit it through one service
per form, every form works as a plain POST and as an htmx partial swap."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from coding import services
from coding.models import Code, CodebookChange, Excerpt
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory

pytestmark = pytest.mark.django_db

EDIT_FORMS = ('name="action" value="update"', 'name="action" value="move"', "New theme")


def _page(team) -> str:
    return reverse("frontend:codebook", args=[team.project.slug])


def _code_url(team, code: Code, suffix: str = "") -> str:
    name = f"frontend:codebook-{suffix}" if suffix else "frontend:codebook-code"
    return reverse(name, args=[team.project.slug, code.pk])


def _tree(team) -> tuple[Code, Code, Code]:
    theme = CodeFactory.create(project=team.project, name="Trust", color="#7a4ea3")
    child = CodeFactory.create(
        project=team.project,
        name="Fees feel hidden",
        parent=theme,
        description="Customer suspects costs were not shown up front.",
        inclusion_notes="Mentions of surprise charges.",
        exclusion_notes="Complaints about the price level itself.",
        example="I only saw the fee on my first bill.",
    )
    other = CodeFactory.create(project=team.project, name="Price too high")
    return theme, child, other


def test_tree_shows_codes_with_counts_and_notes_when_a_coder_reads_it(team, client_as):
    _theme, child, _ = _tree(team)
    document = DocumentFactory.create(project=team.project, text="I only saw the fee later on.")
    ExcerptFactory.create(document=document, code=child, coder=team.coder)

    response = client_as(team.coder).get(_page(team), {"code": child.pk})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Fees feel hidden" in html
    assert "Trust" in html
    assert "Mentions of surprise charges." in html
    assert "Complaints about the price level itself." in html
    assert "I only saw the fee on my first bill." in html
    assert 'aria-current="true"' in html
    assert '1<span class="visually-hidden"> excerpts</span>' in html


@pytest.mark.parametrize("role", ["coder", "manager"])
def test_no_edit_controls_when_role_cannot_edit_codebook(team, client_as, role):
    _, child, _ = _tree(team)

    html = client_as(team.user(role)).get(_page(team), {"code": child.pk}).content.decode()

    assert "<form" not in html.split('id="codebook"', 1)[1].split("</main>")[0].replace(
        'action="/accounts/logout/"', ""
    )
    for marker in EDIT_FORMS:
        assert marker not in html
    assert "Undo" not in html
    assert "Import codes" not in html
    assert "data-move-url" not in html  # nothing to drag either


@pytest.mark.parametrize("role", ["coder", "manager"])
def test_posts_are_refused_when_role_cannot_edit_codebook(team, client_as, role):
    _, child, other = _tree(team)
    client = client_as(team.user(role))

    responses = [
        client.post(_page(team), {"name": "Sneaky"}),
        client.post(_code_url(team, child), {"action": "update", "name": "Renamed"}),
        client.post(_code_url(team, child, "merge"), {"into": other.pk}),
        client.post(_code_url(team, child, "split"), {"name": "New"}),
        client.get(_code_url(team, child, "merge")),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert not Code.objects.filter(name__in=["Sneaky", "Renamed", "New"]).exists()


def test_page_is_404_when_user_is_not_a_member(team, client_as):
    _tree(team)
    assert client_as(team.outsider).get(_page(team)).status_code == 404


def test_researcher_sees_edit_controls_when_a_code_is_selected(team, client_as):
    _, child, _ = _tree(team)

    html = client_as(team.researcher).get(_page(team), {"code": child.pk}).content.decode()

    for marker in EDIT_FORMS:
        assert marker in html
    assert "Merge into…" in html
    assert "Import codes" in html


def test_researcher_creates_theme_and_child_when_posting_the_forms(team, client_as):
    client = client_as(team.researcher)

    response = client.post(_page(team), {"name": "Onboarding", "color": "#4c78a8"})
    theme = Code.objects.get(project=team.project, name="Onboarding")
    client.post(_page(team), {"name": "SIM arrives late", "parent": theme.pk})

    assert response.status_code == 302
    assert response["Location"].endswith(f"?code={theme.pk}#code-panel")
    assert Code.objects.get(name="SIM arrives late").parent_id == theme.pk
    assert CodebookChange.objects.filter(project=team.project, user=team.researcher).count() == 2


def test_partial_is_returned_when_htmx_posts_a_rename(team, client_as):
    _, child, _ = _tree(team)

    response = client_as(team.researcher).post(
        _code_url(team, child),
        {"action": "update", "name": "Hidden fees", "color": "#aa3300", "description": "d"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    child.refresh_from_db()
    assert response.status_code == 200
    assert (child.name, child.color) == ("Hidden fees", "#aa3300")
    assert "<html" not in html
    assert "Hidden fees" in html
    assert response["HX-Push-Url"].endswith(f"?code={child.pk}")


def test_duplicate_name_is_shown_when_rename_is_refused(team, client_as):
    theme, child, _ = _tree(team)
    CodeFactory.create(project=team.project, name="Contract unclear", parent=theme)

    response = client_as(team.researcher).post(
        _code_url(team, child), {"action": "update", "name": "contract unclear"}
    )

    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    child.refresh_from_db()
    assert child.name == "Fees feel hidden"


def test_researcher_moves_archives_and_unarchives_when_posting(team, client_as):
    theme, child, other = _tree(team)
    client = client_as(team.researcher)

    client.post(_code_url(team, other), {"action": "move", "parent": theme.pk})
    client.post(_code_url(team, child), {"action": "archive"})
    other.refresh_from_db()
    child.refresh_from_db()
    archived = child.is_archived
    html = client.get(_page(team)).content.decode()
    client.post(_code_url(team, child), {"action": "unarchive"})
    child.refresh_from_db()

    assert other.parent_id == theme.pk
    assert archived
    assert "Archived" in html
    assert not child.is_archived


def test_delete_is_offered_only_when_the_code_is_empty(team, client_as):
    _, child, other = _tree(team)
    ExcerptFactory.create(
        document=DocumentFactory.create(project=team.project), code=child, coder=team.coder
    )
    client = client_as(team.researcher)

    with_excerpts = client.get(_page(team), {"code": child.pk}).content.decode()
    empty = client.get(_page(team), {"code": other.pk}).content.decode()
    refused = client.post(_code_url(team, child), {"action": "delete"})
    deleted = client.post(_code_url(team, other), {"action": "delete"})

    assert 'value="delete"' not in with_excerpts
    assert 'value="delete"' in empty
    assert refused.status_code == 400
    assert Code.objects.filter(pk=child.pk).exists()
    assert deleted.status_code == 302
    assert not Code.objects.filter(pk=other.pk).exists()


def test_merge_confirmation_counts_moves_and_duplicates_when_reviewing(team, client_as):
    _, child, other = _tree(team)
    document = DocumentFactory.create(project=team.project, text="The fee was a surprise to me.")
    ExcerptFactory.create(document=document, code=child, coder=team.coder, start=0, end=7)
    ExcerptFactory.create(document=document, code=child, coder=team.coder, start=8, end=11)
    ExcerptFactory.create(document=document, code=other, coder=team.coder, start=0, end=7)
    client = client_as(team.researcher)

    review = client.get(_code_url(team, child, "merge"), {"into": other.pk}).content.decode()
    response = client.post(_code_url(team, child, "merge"), {"into": other.pk})

    assert "2 excerpts</strong> move" in review
    assert "<strong>1</strong> of them is an exact duplicate" in review
    assert response.status_code == 302
    assert not Code.objects.filter(pk=child.pk).exists()
    assert Excerpt.objects.filter(code=other).count() == 2  # the duplicate collapsed


def test_split_moves_the_chosen_excerpts_when_posting(team, client_as):
    _, child, _ = _tree(team)
    document = DocumentFactory.create(project=team.project, title="Call with P07")
    kept = ExcerptFactory.create(document=document, code=child, coder=team.coder, start=0, end=4)
    moved = ExcerptFactory.create(document=document, code=child, coder=team.coder, start=5, end=9)
    client = client_as(team.researcher)

    listing = client.get(_code_url(team, child, "split")).content.decode()
    response = client.post(
        _code_url(team, child, "split"), {"name": "Fees at sign-up", "excerpts": [moved.pk]}
    )

    new = Code.objects.get(name="Fees at sign-up")
    assert "Call with P07" in listing
    assert f'value="{kept.pk}"' in listing
    assert response.status_code == 302
    assert new.parent_id == child.parent_id
    assert list(new.excerpts.values_list("pk", flat=True)) == [moved.pk]
    assert Excerpt.objects.get(pk=kept.pk).code_id == child.pk


def test_split_without_excerpts_is_refused_when_none_is_ticked(team, client_as):
    _, child, _ = _tree(team)

    response = client_as(team.researcher).post(_code_url(team, child, "split"), {"name": "X"})

    assert response.status_code == 400
    assert "Choose at least one excerpt" in response.content.decode()
    assert not Code.objects.filter(name="X").exists()


def test_history_lists_changes_and_undo_restores_when_researcher_undoes(team, client_as):
    _, child, _ = _tree(team)
    client = client_as(team.researcher)
    client.post(_code_url(team, child), {"action": "update", "name": "Hidden fees"})
    change = CodebookChange.objects.filter(project=team.project).latest("id")

    html = client.get(_page(team)).content.decode()
    response = client.post(
        reverse("frontend:codebook-undo", args=[team.project.slug]), {"change": change.pk}
    )

    child.refresh_from_db()
    assert "Renamed" in html
    assert "researcher1" in html
    assert ">Undo</button>" in html
    assert response.status_code == 302
    assert child.name == "Fees feel hidden"


def test_code_name_is_escaped_when_it_contains_markup(team, client_as):
    evil = CodeFactory.create(project=team.project, name="<img src=x onerror=alert(1)>")

    html = client_as(team.researcher).get(_page(team), {"code": evil.pk}).content.decode()

    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_export_downloads_csv_when_a_manager_asks(team, client_as):
    _tree(team)

    response = client_as(team.manager).get(
        reverse("frontend:codebook-export", args=[team.project.slug])
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert "Trust > Fees feel hidden" in response.content.decode()


def test_import_error_names_row_and_column_and_creates_nothing_when_csv_is_bad(team, client_as):
    data = b"path,color\nTrust > Delays,#123456\nTrust > Fees,red\n"
    before = Code.objects.count()

    response = client_as(team.researcher).post(
        reverse("frontend:codebook-import", args=[team.project.slug]),
        {"file": SimpleUploadedFile("codebook.csv", data, content_type="text/csv")},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "Row 3, column “color”" in html
    assert "Nothing was imported" in html
    assert Code.objects.count() == before


def test_import_creates_codes_when_csv_is_good(team, client_as):
    data = b"path,description\nTrust,\nTrust > Delays,Waiting for the SIM\n"

    response = client_as(team.researcher).post(
        reverse("frontend:codebook-import", args=[team.project.slug]),
        {"file": SimpleUploadedFile("codebook.csv", data, content_type="text/csv")},
    )

    assert response.status_code == 302
    delays = Code.objects.get(project=team.project, name="Delays")
    assert delays.parent is not None
    assert delays.parent.name == "Trust"
    assert delays.description == "Waiting for the SIM"


def test_undo_walks_back_in_turn_when_the_latest_change_is_already_undone(team, client_as):
    _, child, _ = _tree(team)
    client = client_as(team.researcher)
    undo = reverse("frontend:codebook-undo", args=[team.project.slug])
    client.post(_code_url(team, child), {"action": "update", "name": "Hidden fees"})
    client.post(_code_url(team, child), {"action": "archive"})
    archive, rename = CodebookChange.objects.filter(project=team.project).order_by("-id")[:2]

    client.post(undo, {"change": archive.pk})
    html = client.get(_page(team)).content.decode()
    client.post(undo, {"change": rename.pk})

    child.refresh_from_db()
    assert f'name="change" value="{rename.pk}"' in html
    assert (child.name, child.is_archived) == ("Fees feel hidden", False)


def test_stale_edit_is_refused_with_the_current_code_and_the_typed_text_kept(team, client_as):
    """Two researchers edit one code: the second save, drawn before the first, gets a 409 that
    shows the code as it is now and keeps what they typed; saving again replaces it on purpose."""
    _, child, _ = _tree(team)
    page = client_as(team.researcher).get(_page(team), {"code": child.pk}).content.decode()
    assert f'name="version" value="{child.version}"' in page
    drawn = child.version
    # The other researcher saves in between:
    services.code_update(code=Code.objects.get(pk=child.pk), description="Theirs.")
    typed = {
        "action": "update",
        "version": str(drawn),
        "name": "Fees feel hidden",
        "color": "#7a4ea3",
        "description": "Mine, typed for ten minutes.",
    }

    refused = client_as(team.researcher).post(_code_url(team, child), typed)

    html = refused.content.decode()
    child.refresh_from_db()
    assert refused.status_code == 409
    assert child.description == "Theirs."  # nothing of the stale save was written
    assert "Someone else changed" in html
    assert "Mine, typed for ten minutes." in html  # the typed text is still in the form
    assert f'name="version" value="{child.version}"' in html  # ready to save again on purpose
    saved = client_as(team.researcher).post(
        _code_url(team, child), {**typed, "version": str(child.version)}
    )
    child.refresh_from_db()
    assert saved.status_code == 302
    assert child.description == "Mine, typed for ten minutes."


def test_delete_with_a_stale_version_is_refused(team, client_as):
    _, _, other = _tree(team)
    drawn = other.version
    services.code_update(code=Code.objects.get(pk=other.pk), description="Now defined.")
    response = client_as(team.researcher).post(
        _code_url(team, other), {"action": "delete", "version": str(drawn)}
    )
    assert response.status_code == 409
    assert Code.objects.filter(pk=other.pk).exists()
