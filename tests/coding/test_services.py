"""Codebook, excerpt and memo services, and the constraints behind them."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from coding import services
from coding.models import Code, Excerpt
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory


def test_excerpt_create_stores_quote_in_code_points_when_text_has_emoji(team):
    text = "P07: The app 😡 never let me in. Café staff helped."
    document = DocumentFactory.create(project=team.project, text=text)
    code = CodeFactory.create(project=team.project)
    start = text.index("never")
    excerpt = services.excerpt_create(
        document=document, code=code, start=start, end=start + 15, coder=team.coder
    )
    assert excerpt.text == "never let me in"
    assert excerpt.project == team.project
    cafe = text.index("Café")
    assert (
        services.excerpt_create(
            document=document, code=code, start=cafe, end=cafe + 4, coder=team.coder, text="Café"
        ).text
        == "Café"
    )


@pytest.mark.parametrize(
    ("start", "end", "field"), [(5, 5, "start"), (9, 4, "start"), (0, 10**6, "end")]
)
def test_excerpt_create_refuses_when_offsets_are_outside_the_document(team, start, end, field):
    document = DocumentFactory.create(project=team.project)
    with pytest.raises(ValidationError) as error:
        services.excerpt_create(
            document=document,
            code=CodeFactory.create(project=team.project),
            start=start,
            end=end,
            coder=team.coder,
        )
    assert field in error.value.message_dict


def test_excerpt_create_refuses_when_client_text_does_not_match(team):
    document = DocumentFactory.create(project=team.project, text="abcdef")
    with pytest.raises(ValidationError) as error:
        services.excerpt_create(
            document=document,
            code=CodeFactory.create(project=team.project),
            start=0,
            end=3,
            coder=team.coder,
            text="xyz",
        )
    assert "text" in error.value.message_dict


def test_excerpt_create_refuses_when_code_is_from_another_project(team):
    document = DocumentFactory.create(project=team.project)
    with pytest.raises(ValidationError) as error:
        services.excerpt_create(
            document=document,
            code=CodeFactory.create(project=team.other_project),
            start=0,
            end=3,
            coder=team.coder,
        )
    assert "code" in error.value.message_dict


def test_excerpt_update_recopies_quote_when_span_changes(team):
    excerpt = ExcerptFactory.create(
        document=DocumentFactory.create(project=team.project, text="abcdefghij"), start=0, end=3
    )
    updated = services.excerpt_update(excerpt=excerpt, start=2, end=6, memo="widened")
    assert (updated.text, updated.memo) == ("cdef", "widened")


def test_excerpt_range_is_checked_by_database_when_inserted_directly(team):
    excerpt = ExcerptFactory.create(document=DocumentFactory.create(project=team.project))
    with pytest.raises(IntegrityError), transaction.atomic():
        Excerpt.objects.filter(pk=excerpt.pk).update(start=5, end=5)


def test_code_names_are_unique_among_siblings_ignoring_case_when_created(team):
    theme = services.code_create(project=team.project, name="Activation friction")
    services.code_create(project=team.project, name="Waiting", parent=theme)
    with pytest.raises(ValidationError):
        services.code_create(project=team.project, name="waiting", parent=theme)
    with pytest.raises(ValidationError):
        services.code_create(project=team.project, name="ACTIVATION FRICTION")
    # The same name under another parent is fine.
    other = services.code_create(project=team.project, name="Billing")
    assert services.code_create(project=team.project, name="Waiting", parent=other)


def test_code_names_are_unique_in_database_when_inserted_directly(team):
    CodeFactory.create(project=team.project, name="Price")
    with pytest.raises(IntegrityError), transaction.atomic():
        Code.objects.create(project=team.project, name="price")
    parent = CodeFactory.create(project=team.project)
    CodeFactory.create(project=team.project, name="Speed", parent=parent)
    with pytest.raises(IntegrityError), transaction.atomic():
        Code.objects.create(project=team.project, name="SPEED", parent=parent)


def test_code_update_refuses_when_moving_under_own_descendant(team):
    theme = CodeFactory.create(project=team.project)
    child = CodeFactory.create(project=team.project, parent=theme)
    grandchild = CodeFactory.create(project=team.project, parent=child)
    with pytest.raises(ValidationError) as error:
        services.code_update(code=theme, parent=grandchild)
    assert "parent" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.code_update(code=theme, parent=theme)


def test_code_update_refuses_when_color_is_not_hex(team):
    with pytest.raises(ValidationError) as error:
        services.code_update(code=CodeFactory.create(project=team.project), color="blue")
    assert "color" in error.value.message_dict


def test_code_delete_refuses_when_excerpts_or_children_depend_on_it(team):
    excerpt = ExcerptFactory.create(document=DocumentFactory.create(project=team.project))
    with pytest.raises(ValidationError) as error:
        services.code_delete(code=excerpt.code)
    assert "1 excerpt" in str(error.value)
    parent = CodeFactory.create(project=team.project)
    CodeFactory.create(project=team.project, parent=parent)
    with pytest.raises(ValidationError):
        services.code_delete(code=parent)
    lonely = CodeFactory.create(project=team.project)
    services.code_delete(code=lonely)
    assert not Code.objects.filter(pk=lonely.pk).exists()


def test_memo_create_refuses_when_linked_to_another_projects_document(team):
    foreign = DocumentFactory.create(project=team.other_project)
    with pytest.raises(ValidationError) as error:
        services.memo_create(project=team.project, author=team.coder, text="note", document=foreign)
    assert "document" in error.value.message_dict
    memo = services.memo_create(project=team.project, author=team.coder, text="  A pattern  ")
    assert memo.text == "A pattern"
