"""Suggestions through codebook operations: merge, split and delete keep them (decisions are
training data), and undo brings every suggestion and excerpt link back exactly."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from coding import services
from coding.models import Code, CodebookChange, Excerpt, Memo, Suggestion
from tests.factories import DocumentFactory

PENDING, ACCEPTED, REJECTED = (
    Suggestion.Status.PENDING,
    Suggestion.Status.ACCEPTED,
    Suggestion.Status.REJECTED,
)
TEXT = "The fee was charged twice and the refund never came back to my card at all."


def _unversioned(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "version"}


def state(project) -> dict:
    """Every code, excerpt, memo link and suggestion of the project, field by field; not the
    versions, which every write raises, undo included (tests/coding/test_versions.py)."""
    codes = Code.objects.filter(project=project).values()
    excerpts = Excerpt.objects.filter(project=project).values()
    return {
        "codes": {c["id"]: _unversioned(c) for c in codes},
        "excerpts": {e["id"]: _unversioned(e) for e in excerpts},
        "memos": {m["id"]: m for m in Memo.objects.filter(project=project).values()},
        "suggestions": {s["id"]: s for s in Suggestion.objects.filter(project=project).values()},
    }


def suggest(document, code, start, end, status=PENDING, user=None, **fields) -> Suggestion:
    """A suggestion in `status`; an accepted one gets its excerpt (coder `user`) as provenance."""
    suggestion = Suggestion.objects.create(
        project=document.project,
        document=document,
        code=code,
        start=start,
        end=end,
        text=document.text[start:end],
        method=fields.pop("method", Suggestion.Method.MODEL),
        score=fields.pop("score", 0.5),
        **fields,
    )
    if status != PENDING:
        suggestion.status = status
        suggestion.decided_by = user
        suggestion.decided_at = timezone.now() - timedelta(hours=start + 1)
        if status == ACCEPTED:
            suggestion.excerpt = services.excerpt_create(
                document=document, code=code, start=start, end=end, coder=user,
                suggestion=suggestion,
            )  # fmt: skip
        suggestion.save()
    return suggestion


def made_by(suggestion: Suggestion) -> Excerpt:
    """The excerpt accepting `suggestion` made."""
    return Excerpt.objects.get(suggestion=suggestion)


@pytest.fixture
def codes(team):
    project = team.project
    document = DocumentFactory.create(project=project, text=TEXT, char_count=len(TEXT))
    source = services.code_create(project=project, name="Fees", creator=team.researcher)
    target = services.code_create(project=project, name="Billing", creator=team.researcher)
    return document, source, target


def merge(team, source, target) -> None:
    services.code_merge(source=source, target=target, user=team.researcher)


def test_merge_moves_suggestions_and_keeps_decisions_when_the_target_has_none(team, codes):
    document, source, target = codes
    pending = suggest(document, source, 0, 7, score=0.9, method=Suggestion.Method.PATTERN)
    accepted = suggest(document, source, 8, 11, ACCEPTED, team.coder, model_version=3)
    rejected = suggest(document, source, 12, 19, REJECTED, team.researcher)
    before = {s["id"]: s for s in Suggestion.objects.values()}

    merge(team, source, target)

    after = {s["id"]: s for s in Suggestion.objects.values()}
    assert set(after) == {pending.pk, accepted.pk, rejected.pk}
    for pk, row in after.items():
        assert row == before[pk] | {"code_id": target.pk}  # status, score, method, decider...
    excerpt = Excerpt.objects.get(suggestion=accepted)
    assert (excerpt.code_id, after[accepted.pk]["excerpt_id"]) == (target.pk, excerpt.pk)
    assert "3 suggestion(s) moved, 0 kept once" in CodebookChange.objects.latest("id").summary


@pytest.mark.parametrize(
    ("on_source", "on_target", "kept"),
    [
        (PENDING, PENDING, "target"),
        (REJECTED, PENDING, "source"),  # a decision outranks none
        (ACCEPTED, PENDING, "source"),
        (PENDING, REJECTED, "target"),
        (REJECTED, REJECTED, "target"),
        (ACCEPTED, ACCEPTED, "target"),
        (ACCEPTED, REJECTED, "source"),  # the moved excerpt rests on the acceptance
    ],
)
def test_merge_keeps_one_suggestion_per_span_when_both_codes_have_it(
    team, codes, on_source, on_target, kept
):
    document, source, target = codes
    theirs = suggest(document, source, 0, 7, on_source, team.coder)
    ours = suggest(document, target, 0, 7, on_target, team.researcher)
    expected = {"source": theirs, "target": ours}[kept]

    merge(team, source, target)

    survivor = Suggestion.objects.get(document=document, start=0, end=7)  # exactly one
    assert (survivor.pk, survivor.code_id, survivor.status) == (
        expected.pk,
        target.pk,
        expected.status,
    )
    assert survivor.decided_by_id == expected.decided_by_id
    if survivor.status == ACCEPTED:  # its provenance link holds both ways
        excerpt = Excerpt.objects.get(suggestion=survivor)
        assert survivor.excerpt_id == excerpt.pk
        assert excerpt.code_id == target.pk


def test_merge_hands_provenance_to_the_kept_excerpt_when_duplicates_collapse(team, codes):
    document, source, target = codes
    by_hand = services.excerpt_create(
        document=document, code=target, start=0, end=7, coder=team.coder
    )
    Excerpt.objects.filter(pk=by_hand.pk).update(created_at=timezone.now() - timedelta(days=1))
    accepted = suggest(document, source, 0, 7, ACCEPTED, team.coder)
    made = made_by(accepted)

    merge(team, source, target)

    assert not Excerpt.objects.filter(pk=made.pk).exists()  # collapsed into the older one
    assert Excerpt.objects.get(pk=by_hand.pk).suggestion_id == accepted.pk
    assert Suggestion.objects.get(pk=accepted.pk).excerpt_id == by_hand.pk


def scene(team, codes) -> None:
    """Every case at once: moves, each kind of conflict, a collapse that carries provenance."""
    document, source, target = codes
    suggest(document, source, 0, 7, score=0.9)
    suggest(document, source, 8, 11, ACCEPTED, team.coder, model_version=2)
    suggest(document, source, 12, 19, REJECTED, team.researcher)
    suggest(document, source, 20, 25, REJECTED, team.coder)
    suggest(document, target, 20, 25)  # pending twin: dropped for the decision
    suggest(document, source, 26, 30)
    suggest(document, target, 26, 30, REJECTED, team.researcher)  # decided twin: stays
    suggest(document, target, 31, 37, ACCEPTED, team.coder)
    suggest(document, source, 31, 37, ACCEPTED, team.coder)  # same coder: excerpts collapse
    suggest(document, target, 38, 43, REJECTED, team.coder)
    suggest(document, source, 38, 43, ACCEPTED, team.researcher)


def test_undo_restores_every_suggestion_and_link_exactly_when_a_merge_is_undone(team, codes):
    _, source, target = codes
    scene(team, codes)
    before = state(team.project)

    merge(team, source, target)
    assert Suggestion.objects.filter(code=target).count() == 7
    assert state(team.project) != before
    services.codebook_undo(change=CodebookChange.objects.latest("id"), user=team.owner)

    assert state(team.project) == before
    connection.check_constraints()  # no link left pointing at a missing row


def test_undo_restores_excerpt_provenance_when_it_brings_a_deleted_excerpt_back(team, codes):
    document, source, target = codes
    suggest(document, target, 0, 7, ACCEPTED, team.coder)
    theirs = suggest(document, source, 0, 7, ACCEPTED, team.coder)  # newer: its excerpt goes
    made, source_id = made_by(theirs), source.pk
    merge(team, source, target)
    assert not Excerpt.objects.filter(pk=made.pk).exists()

    services.codebook_undo(change=CodebookChange.objects.latest("id"), user=team.owner)

    back = Excerpt.objects.get(pk=made.pk)
    assert (back.code_id, back.suggestion_id) == (source_id, theirs.pk)
    assert Suggestion.objects.get(pk=theirs.pk).excerpt_id == made.pk


def test_undo_clears_provenance_when_the_suggestion_was_deleted_since(team, codes):
    document, source, target = codes
    services.excerpt_create(document=document, code=target, start=0, end=7, coder=team.coder)
    theirs = suggest(document, source, 0, 7, ACCEPTED, team.coder)
    made = made_by(theirs)
    merge(team, source, target)  # `made` collapses into the older excerpt; `theirs` moves
    assert Suggestion.objects.get(pk=theirs.pk).code_id == target.pk
    Suggestion.objects.filter(pk=theirs.pk).delete()

    services.codebook_undo(change=CodebookChange.objects.latest("id"), user=team.owner)

    assert Excerpt.objects.get(pk=made.pk).suggestion_id is None
    connection.check_constraints()


def test_undo_refused_when_a_moved_suggestion_was_decided_since(team, codes):
    document, source, target = codes
    moved, source_id = suggest(document, source, 0, 7), source.pk
    merge(team, source, target)
    Suggestion.objects.filter(pk=moved.pk).update(status=REJECTED)

    with pytest.raises(ValidationError) as error:
        services.codebook_undo(change=CodebookChange.objects.latest("id"), user=team.owner)

    assert "decided since" in str(error.value)
    assert not Code.objects.filter(pk=source_id).exists()


def test_split_moves_the_suggestions_behind_the_chosen_excerpts_when_splitting(team, codes):
    document, source, _ = codes
    chosen = suggest(document, source, 0, 7, ACCEPTED, team.coder)
    left = suggest(document, source, 8, 11, ACCEPTED, team.coder)
    rejected = suggest(document, source, 12, 19, REJECTED, team.coder)
    before = state(team.project)

    new = services.code_split(
        code=source, excerpts=[made_by(chosen)], name="Double charge", user=team.researcher
    )

    codes_now = dict(Suggestion.objects.values_list("pk", "code_id"))
    assert codes_now == {chosen.pk: new.pk, left.pk: source.pk, rejected.pk: source.pk}
    services.codebook_undo(change=CodebookChange.objects.latest("id"), user=team.owner)
    assert state(team.project) == before


def test_undo_of_split_refused_when_the_new_code_has_decisions_since(team, codes):
    document, source, _ = codes
    chosen = suggest(document, source, 0, 7, ACCEPTED, team.coder)
    new = services.code_split(
        code=source, excerpts=[made_by(chosen)], name="Double charge", user=team.researcher
    )
    suggest(document, new, 8, 11, REJECTED, team.coder)  # training data made since

    with pytest.raises(ValidationError, match="in use since"):
        services.codebook_undo(change=CodebookChange.objects.latest("id"), user=team.owner)
    assert Code.objects.filter(pk=new.pk).exists()


def test_undo_brings_back_the_suggestions_when_a_deleted_code_is_restored(team, codes):
    document, source, _ = codes
    suggest(document, source, 0, 7, score=0.75)
    suggest(document, source, 12, 19, REJECTED, team.researcher)
    before = state(team.project)

    services.code_delete(code=source, user=team.researcher)
    change = CodebookChange.objects.latest("id")
    assert "2 suggestion(s)" in change.summary
    assert not Suggestion.objects.exists()
    services.codebook_undo(change=change, user=team.owner)

    assert state(team.project) == before
