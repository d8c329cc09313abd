"""Codebook operations (merge, split, archive, move, delete), their history, and exact undo."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coding import selectors, services
from coding.models import Code, CodebookChange, Excerpt, Memo
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    MemoFactory,
    ParticipantFactory,
)


def _columns(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.name != "version"]


def state(project) -> dict:
    """Every code, excerpt and memo link of the project, field by field; not the versions, which
    every write raises, undo included (tests/coding/test_versions.py)."""
    codes = {c["id"]: c for c in Code.objects.filter(project=project).values(*_columns(Code))}
    excerpts = {
        e["id"]: e for e in Excerpt.objects.filter(project=project).values(*_columns(Excerpt))
    }
    memos = {m["id"]: m for m in Memo.objects.filter(project=project).values()}
    return {"codes": codes, "excerpts": excerpts, "memos": memos}


@pytest.fixture
def book(team):
    """Theme > (Price, Cost); Price has a child; excerpts by two coders, one exact duplicate."""
    project = team.project
    document = DocumentFactory.create(project=project)
    theme = services.code_create(project=project, name="Money", creator=team.researcher)
    price = services.code_create(
        project=project, name="Price", parent=theme, creator=team.researcher
    )
    cost = services.code_create(project=project, name="Cost", parent=theme, creator=team.researcher)
    child = services.code_create(
        project=project, name="Too expensive", parent=price, creator=team.researcher
    )
    old = timezone.now() - timedelta(days=2)
    twin_on_cost = ExcerptFactory.create(
        document=document, code=cost, coder=team.coder, start=0, end=11, memo="first look"
    )
    Excerpt.objects.filter(pk=twin_on_cost.pk).update(created_at=old)
    dup_on_price = ExcerptFactory.create(
        document=document, code=price, coder=team.coder, start=0, end=11, memo="second look"
    )
    other_coder = ExcerptFactory.create(
        document=document, code=price, coder=team.researcher, start=0, end=11
    )
    other_span = ExcerptFactory.create(
        document=document, code=price, coder=team.coder, start=2, end=11
    )
    note = MemoFactory.create(project=project, author=team.researcher, excerpt=dup_on_price)
    code_memo = MemoFactory.create(project=project, author=team.researcher, code=price)
    return {
        "document": document,
        "theme": theme,
        "price": price,
        "cost": cost,
        "child": child,
        "twin": twin_on_cost,
        "dup": dup_on_price,
        "other_coder": other_coder,
        "other_span": other_span,
        "note": note,
        "code_memo": code_memo,
    }


def test_merge_moves_excerpts_and_collapses_only_exact_duplicates_when_codes_overlap(team, book):
    services.code_merge(source=book["price"], target=book["cost"], user=team.researcher)
    assert not Code.objects.filter(pk=book["price"].pk).exists()
    on_cost = set(Excerpt.objects.filter(code=book["cost"]).values_list("pk", flat=True))
    # Same span by another coder, and a different span by the same coder, are not duplicates.
    assert on_cost == {book["twin"].pk, book["other_coder"].pk, book["other_span"].pk}
    kept = Excerpt.objects.get(pk=book["twin"].pk)
    assert kept.memo == "first look\n\nsecond look"
    assert Memo.objects.get(pk=book["note"].pk).excerpt_id == kept.pk
    assert Memo.objects.get(pk=book["code_memo"].pk).code_id == book["cost"].pk
    assert Code.objects.get(pk=book["child"].pk).parent_id == book["cost"].pk


def test_merge_refuses_when_target_is_inside_source(team, book):
    with pytest.raises(ValidationError) as error:
        services.code_merge(source=book["price"], target=book["child"], user=team.researcher)
    assert "into" in error.value.message_dict


def test_split_moves_chosen_excerpts_to_a_new_sibling_when_they_belong_to_the_code(team, book):
    new = services.code_split(
        code=book["price"], excerpts=[book["dup"]], name="Price shock", user=team.researcher
    )
    assert new.parent_id == book["theme"].pk
    assert list(new.excerpts.values_list("pk", flat=True)) == [book["dup"].pk]
    assert book["price"].excerpts.count() == 2


def test_split_refuses_when_an_excerpt_belongs_to_another_code(team, book):
    with pytest.raises(ValidationError) as error:
        services.code_split(
            code=book["price"], excerpts=[book["twin"]], name="Nope", user=team.researcher
        )
    assert "excerpts" in error.value.message_dict
    assert not Code.objects.filter(name="Nope").exists()


def test_archive_blocks_new_excerpts_but_keeps_old_ones_when_code_is_archived(team, book):
    services.code_archive(code=book["price"], user=team.researcher)
    assert book["price"].excerpts.count() == 3
    with pytest.raises(ValidationError):
        services.excerpt_create(
            document=book["document"], code=book["price"], start=0, end=5, coder=team.coder
        )
    services.code_unarchive(code=book["price"], user=team.researcher)
    assert services.excerpt_create(
        document=book["document"], code=book["price"], start=0, end=5, coder=team.coder
    ).pk


def test_move_refuses_when_it_would_make_a_cycle(team, book):
    with pytest.raises(ValidationError) as error:
        services.code_move(code=book["theme"], parent=book["child"], user=team.researcher)
    assert "parent" in error.value.message_dict


def _operations(team, book):
    return {
        "create": lambda: services.code_create(
            project=team.project, name="New", creator=team.researcher
        ),
        "rename": lambda: services.code_update(
            code=book["price"], name="Pricing", user=team.researcher
        ),
        "update": lambda: services.code_update(
            code=book["price"], description="Money asked", color="#aa0000", user=team.researcher
        ),
        "move": lambda: services.code_move(
            code=book["child"], parent=book["cost"], position=3, user=team.researcher
        ),
        "archive": lambda: services.code_archive(code=book["price"], user=team.researcher),
        "merge": lambda: services.code_merge(
            source=book["price"], target=book["cost"], user=team.researcher
        ),
        "split": lambda: services.code_split(
            code=book["price"],
            excerpts=[book["dup"], book["other_span"]],
            name="Shock",
            user=team.researcher,
        ),
        "import": lambda: services.codebook_import_csv(
            project=team.project,
            user=team.researcher,
            data=b"path,description\nMoney > Price,New words\nMoney > Fees > Hidden,Sneaky\n",
        ),
    }


@pytest.mark.parametrize(
    "action",
    ["create", "rename", "update", "move", "archive", "delete", "merge", "split", "import"],
)
def test_undo_restores_codes_and_excerpts_exactly_when_any_operation_is_undone(team, book, action):
    if action == "delete":
        # A code nobody used, created (and recorded) before the snapshot.
        spare = services.code_create(project=team.project, name="Spare", creator=team.researcher)
        operation = lambda: services.code_delete(code=spare, user=team.researcher)  # noqa: E731
    else:
        operation = _operations(team, book)[action]
    before = state(team.project)
    operation()
    change = CodebookChange.objects.filter(project=team.project).latest("id")
    assert change.action == action
    assert change.user == team.researcher
    assert change.created_at is not None
    assert change.summary
    assert change.before != change.after
    assert state(team.project) != before
    services.codebook_undo(change=change, user=team.owner)
    assert state(team.project) == before
    change.refresh_from_db()
    assert change.undone_at is not None
    assert change.undone_by == team.owner


def test_undo_refused_when_a_later_change_exists(team, book):
    services.code_update(code=book["price"], name="Pricing", user=team.researcher)
    first = CodebookChange.objects.latest("id")
    services.code_archive(code=book["cost"], user=team.researcher)
    with pytest.raises(ValidationError) as error:
        services.codebook_undo(change=first, user=team.researcher)
    assert "most recent" in str(error.value)
    assert Code.objects.get(pk=book["price"].pk).name == "Pricing"


def test_undo_refused_when_a_created_code_is_used_since(team, book):
    new = services.code_create(project=team.project, name="Fresh", creator=team.researcher)
    ExcerptFactory.create(document=book["document"], code=new, coder=team.coder)
    with pytest.raises(ValidationError):
        services.codebook_undo(change=CodebookChange.objects.latest("id"), user=team.researcher)
    assert Code.objects.filter(pk=new.pk).exists()


def test_history_records_who_and_what_when_codes_change(team, book):
    actions = list(
        selectors.codebook_history(project=team.project).values_list("action", flat=True)
    )
    assert actions == ["create"] * 4  # newest first; the fixture created four codes
    services.code_merge(source=book["price"], target=book["cost"], user=team.researcher)
    latest = selectors.codebook_history(project=team.project).first()
    assert latest is not None
    assert latest.action == "merge"
    assert "Price" in latest.summary
    assert "1 exact duplicate" in latest.summary


def test_code_list_counts_excerpts_and_participants_in_one_query_when_rows_grow(team):
    code = CodeFactory.create(project=team.project)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            list(selectors.code_list(project=team.project))
        return len(queries)

    first = count_queries()
    for n in range(3):
        participant = ParticipantFactory.create(project=team.project)
        document = DocumentFactory.create(project=team.project, participant=participant)
        ExcerptFactory.create(document=document, code=code, coder=team.coder)
        ExcerptFactory.create(document=document, code=code, coder=team.coder, start=2)
        CodeFactory.create(project=team.project, name=f"Extra {n}")
    assert count_queries() == first == 1
    row: Any = selectors.code_list(project=team.project).get(pk=code.pk)  # annotated
    assert (row.excerpt_count, row.participant_count) == (6, 3)


def test_undo_refused_when_a_moved_excerpt_was_recoded_since(team, book):
    new = services.code_split(
        code=book["price"], excerpts=[book["dup"]], name="Shock", user=team.researcher
    )
    # The split raised the excerpt's version: re-code it as loaded after the split.
    services.excerpt_update(excerpt=Excerpt.objects.get(pk=book["dup"].pk), code=book["cost"])
    with pytest.raises(ValidationError) as error:
        services.codebook_undo(change=CodebookChange.objects.latest("id"), user=team.researcher)
    assert "re-coded" in str(error.value)
    assert Code.objects.filter(pk=new.pk).exists()
    assert Excerpt.objects.get(pk=book["dup"].pk).code_id == book["cost"].pk


def test_undo_refused_when_change_was_already_undone(team, book):
    services.code_archive(code=book["cost"], user=team.researcher)
    change = CodebookChange.objects.latest("id")
    services.codebook_undo(change=change, user=team.researcher)
    with pytest.raises(ValidationError) as error:
        services.codebook_undo(change=change, user=team.researcher)
    assert "already been undone" in str(error.value)


def _merge_queries(team, excerpts: int) -> int:
    document = DocumentFactory.create(project=team.project)
    source = CodeFactory.create(project=team.project)
    target = CodeFactory.create(project=team.project)
    for i in range(excerpts):
        ExcerptFactory.create(document=document, code=source, start=i, end=i + 5)
    with CaptureQueriesContext(connection) as ctx:
        services.code_merge(source=source, target=target, user=team.researcher)
    assert Excerpt.objects.filter(code=target).count() == excerpts
    return len(ctx.captured_queries)


def test_merge_query_count_does_not_grow_when_source_has_more_excerpts(team):
    assert _merge_queries(team, 3) == _merge_queries(team, 30)
