"""The codebook page's pattern rules: the editor saves through the code service (so the history
records it), refuses bad rules beside the editor, and previews draft rules over the project's
ready documents; readers see the rules without the editor."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from coding.models import Code
from coding.suggest import preview
from observations.models import Document
from tests.factories import CodeFactory, DocumentFactory

pytestmark = pytest.mark.django_db

TEXT = "I was charged twice for the card. Charges like that hurt.\n\nThen a refund came."


@pytest.fixture(autouse=True)
def _fresh_preview_cache():
    preview.cache_clear()
    yield
    preview.cache_clear()


def _page(team, code: Code) -> str:
    return reverse("frontend:codebook", args=[team.project.slug]) + f"?code={code.pk}"


def _save_url(team, code: Code) -> str:
    return reverse("frontend:codebook-code", args=[team.project.slug, code.pk])


def _preview_url(team, code: Code) -> str:
    return reverse("frontend:codebook-patterns-preview", args=[team.project.slug, code.pk])


def _rows(*rules: tuple[str, str]) -> dict[str, list[str]]:
    return {"pattern_type": [kind for kind, _ in rules], "pattern_value": [v for _, v in rules]}


def test_editor_lists_the_stored_rules_for_a_researcher(team, client_as):
    code = CodeFactory.create(
        project=team.project,
        patterns=[
            {"type": "keyword", "text": "refund"},
            {"type": "tokens", "pattern": [{"LEMMA": "charge"}, {"LOWER": "twice"}]},
        ],
    )

    html = client_as(team.researcher).get(_page(team, code)).content.decode()

    assert 'id="cb-patterns-form"' in html
    assert ">refund</textarea>" in html
    assert (
        "[{&quot;LEMMA&quot;: &quot;charge&quot;}, {&quot;LOWER&quot;: &quot;twice&quot;}]" in html
    )
    assert _preview_url(team, code) in html
    assert 'hx-trigger="load, input delay:350ms from:#cb-patterns-form' in html


def test_a_coder_reads_the_rules_without_the_editor(team, client_as):
    code = CodeFactory.create(
        project=team.project, patterns=[{"type": "phrase", "text": "bill shock"}]
    )

    html = client_as(team.coder).get(_page(team, code)).content.decode()

    assert "<code>bill shock</code>" in html
    assert 'id="cb-patterns-form"' not in html
    assert "patterns/preview" not in html


def test_saving_rules_goes_through_the_service_and_into_the_history(team, client_as):
    code = CodeFactory.create(project=team.project, name="Fees")

    response = client_as(team.researcher).post(
        _save_url(team, code),
        {
            "action": "patterns",
            **_rows(
                ("keyword", " refund "),
                ("phrase", ""),  # an emptied row: removed
                ("tokens", '[{"LEMMA": "charge"}, {"LOWER": "twice"}]'),
            ),
        },
    )

    assert response.status_code == 302
    code.refresh_from_db()
    assert code.patterns == [
        {"type": "keyword", "text": "refund"},
        {"type": "tokens", "pattern": [{"LEMMA": "charge"}, {"LOWER": "twice"}]},
    ]
    change = team.project.codebook_changes.order_by("-id").first()
    assert change.summary == "Changed patterns of 'Fees'."
    assert change.user == team.researcher


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            (("keyword", "fee"), ("tokens", "[{LEMMA: 1}")),
            "Rule 2: the token pattern is not valid JSON",
        ),
        ((("keyword", "bill shock"),), "Rule 1: a keyword is one word"),
        ((("tokens", '[{"LEMA": "x"}]'),), "Rule 1: invalid token pattern: token 0, LEMA"),
    ],
)
def test_bad_rules_are_refused_beside_the_editor_keeping_the_draft(team, client_as, rows, message):
    code = CodeFactory.create(project=team.project, patterns=[{"type": "keyword", "text": "old"}])

    response = client_as(team.researcher).post(
        _save_url(team, code), {"action": "patterns", **_rows(*rows)}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="cb-patterns-error"' in html
    assert message in html
    assert f">{escape(rows[0][1])}</textarea>" in html  # the draft is kept for fixing
    code.refresh_from_db()
    assert code.patterns == [{"type": "keyword", "text": "old"}]


def test_preview_counts_hits_and_highlights_them_with_reader_links(team, client_as):
    code = CodeFactory.create(project=team.project)
    document = DocumentFactory.create(project=team.project, title="Call <b>7</b>", text=TEXT)
    DocumentFactory.create(project=team.project, text="Nothing to see.")
    DocumentFactory.create(
        project=team.project, text="charged but pending", status=Document.Status.PENDING
    )

    response = client_as(team.researcher).post(
        _preview_url(team, code), _rows(("keyword", "charge"), ("phrase", "a refund"))
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-preview-count="3"' in html
    assert "3 hits</strong>\n    in 1 of 2 ready documents" in html
    assert "<mark>charged</mark> twice for the card." in html
    assert "<mark>Charges</mark> like that hurt." in html
    assert "Then <mark>a refund</mark> came." in html
    assert "Call &lt;b&gt;7&lt;/b&gt;" in html  # escaped
    reader = reverse("frontend:document-detail", args=[team.project.slug, document.pk])
    assert f'href="{reader}?at={TEXT.index("charged")}&amp;len=7#hit"' in html
    assert "Rule 1 <code>charge</code>: 2" in html
    assert "Rule 2 <code>a refund</code>: 1" in html


def test_preview_reparses_a_document_whose_text_changed(team, client_as):
    code = CodeFactory.create(project=team.project)
    document = DocumentFactory.create(project=team.project, text="A fee.")
    client = client_as(team.researcher)
    assert (
        'data-preview-count="1"'
        in client.post(_preview_url(team, code), _rows(("keyword", "fee"))).content.decode()
    )

    Document.objects.filter(pk=document.pk).update(
        text="A fee and another fee.", text_version=2, char_count=22
    )

    html = client.post(_preview_url(team, code), _rows(("keyword", "fee"))).content.decode()
    assert 'data-preview-count="2"' in html


def test_preview_of_an_invalid_draft_says_what_is_wrong(team, client_as):
    code = CodeFactory.create(project=team.project)

    response = client_as(team.researcher).post(
        _preview_url(team, code), _rows(("phrase", "fee"), ("tokens", "[{"))
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Not yet a valid rule" in html
    assert "Rule 2: the token pattern is not valid JSON" in html


def test_preview_of_no_rules_invites_adding_one(team, client_as):
    code = CodeFactory.create(project=team.project)

    html = client_as(team.researcher).post(_preview_url(team, code), _rows(("keyword", ""))).content
    assert b"add a rule to see where it matches" in html


def test_preview_needs_edit_codebook_and_membership(team, client_as):
    code = CodeFactory.create(project=team.project)
    other = CodeFactory.create(project=team.other_project)

    assert (
        client_as(team.coder).post(_preview_url(team, code), _rows(("keyword", "fee"))).status_code
        == 403
    )
    assert (
        client_as(team.outsider)
        .post(_preview_url(team, code), _rows(("keyword", "fee")))
        .status_code
        == 404
    )
    foreign = reverse("frontend:codebook-patterns-preview", args=[team.project.slug, other.pk])
    assert client_as(team.researcher).post(foreign, _rows(("keyword", "fee"))).status_code == 404
    assert client_as(team.researcher).get(_preview_url(team, code)).status_code == 405
