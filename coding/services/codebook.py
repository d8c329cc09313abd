"""Codebook operations beyond a single code's fields: move, archive, merge and split.

Each is one transaction that also records a CodebookChange with the rows before and after, so
`codebook_undo` can restore the earlier state exactly.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from coding.models import DEFAULT_CODE_COLOR, Code, CodebookChange, Excerpt, Memo, Suggestion
from coding.services.codes import _check_code, code_update
from coding.services.history import change_record, snapshot
from research.concurrency import versions_bump
from research.models import User
from research.validation import check_in_project


@transaction.atomic
def code_move(
    *, code: Code, parent: Code | None, position: int | None = None, user: User | None = None
) -> Code:
    """Put `code` under `parent` (None: top level), optionally at `position` among siblings.

    Moving a code under itself or one of its descendants is refused.
    """
    changes: dict[str, Any] = {"parent": parent}
    if position is not None:
        changes["position"] = position
    return code_update(code=code, user=user, **changes)


@transaction.atomic
def code_archive(*, code: Code, user: User | None = None) -> Code:
    """Archive a code: it keeps its excerpts but cannot be applied to new ones."""
    if code.is_archived:
        raise ValidationError({"code": f"{code.name!r} is already archived."})
    return code_update(code=code, user=user, is_archived=True)


@transaction.atomic
def code_unarchive(*, code: Code, user: User | None = None) -> Code:
    """Make an archived code available for coding again."""
    if not code.is_archived:
        raise ValidationError({"code": f"{code.name!r} is not archived."})
    return code_update(code=code, user=user, is_archived=False)


def _descendant_ids(code: Code) -> set[int]:
    rows = list(Code.objects.filter(project_id=code.project_id).values_list("pk", "parent_id"))
    found: set[int] = set()
    frontier = {code.pk}
    while frontier:  # one query above; the walk is in memory
        frontier = {pk for pk, parent in rows if parent in frontier} - found
        found |= frontier
    return found


def _joined_memo(kept: str, other: str) -> str:
    if not other or other == kept or other in kept:
        return kept
    return f"{kept}\n\n{other}" if kept else other


Span = tuple[int, int, int]  # document, start, end


def _span(suggestion: Suggestion) -> Span:
    return (suggestion.document_id, suggestion.start, suggestion.end)


def _rank(suggestion: Suggestion, target: Code) -> tuple[bool, bool, bool]:
    # A decision outranks none (it is training data); an acceptance outranks a rejection (an
    # excerpt on the merged code rests on it); otherwise the target's own suggestion stays.
    status = suggestion.status
    accepted = status == Suggestion.Status.ACCEPTED
    return (accepted, status != Suggestion.Status.PENDING, suggestion.code_id == target.pk)


def _linked_suggestions(excerpt_ids: list[int]) -> list[int]:
    """Suggestions linked either way to these excerpts (provenance, or the excerpt made)."""
    made = Excerpt.objects.filter(pk__in=excerpt_ids, suggestion__isnull=False)
    return list(
        Suggestion.objects.filter(
            Q(excerpt_id__in=excerpt_ids) | Q(pk__in=made.values("suggestion_id"))
        ).values_list("pk", flat=True)
    )


def _merge_suggestions(
    *, moving: list[Suggestion], on_target: dict[Span, Suggestion], target: Code
) -> int:
    """Move `moving` (the source's suggestions) to `target`; where `target` has one on the same
    span, keep the higher ranked (`_rank`) and delete the other, handing the deleted one's
    excerpt link to the kept one when that is accepted and has none. Returns how many went."""
    plain = [s.pk for s in moving if _span(s) not in on_target]
    Suggestion.objects.filter(pk__in=plain).update(code=target)
    dropped = 0
    for suggestion in moving:
        twin = on_target.get(_span(suggestion))
        if twin is None:
            continue
        kept, gone = sorted((suggestion, twin), key=lambda s: _rank(s, target), reverse=True)
        orphan = Excerpt.objects.filter(suggestion=gone).values_list("pk", flat=True).first()
        gone.delete()  # first: the kept one may need its span on the target
        Suggestion.objects.filter(pk=kept.pk).update(code=target)
        if (
            orphan is not None
            and kept.status == Suggestion.Status.ACCEPTED
            and not Excerpt.objects.filter(suggestion=kept).exists()
        ):
            Excerpt.objects.filter(pk=orphan).update(suggestion=kept)
            Suggestion.objects.filter(pk=kept.pk).update(excerpt_id=orphan)
        dropped += 1
    return dropped


@transaction.atomic
def code_merge(*, source: Code, target: Code, user: User | None = None) -> Code:
    """Merge `source` into `target` and delete `source`; returns `target`.

    Guaranteed: every excerpt of `source` ends up on `target`, except exact duplicates (same
    document, start, end and coder as one already there) which collapse into the older of the two;
    the newer one's memo is appended to the kept one's when different and memos written about it
    are re-pointed to the kept one (and its suggestion link, if it had none). Source's child
    codes move under `target`, memos about `source` move to `target`. Source's suggestions,
    decided ones included (training data), move to `target`; where `target` has one for the
    same span only one stays: accepted before rejected before pending, else the target's.
    Nothing else is lost, and undo restores every row exactly.
    """
    check_in_project(source.project, "into", target)
    if source.pk == target.pk:
        raise ValidationError({"into": "A code cannot be merged into itself."})
    if target.pk in _descendant_ids(source):
        raise ValidationError({"into": f"{target.name!r} is inside {source.name!r}."})
    if target.is_archived:
        raise ValidationError({"into": f"{target.name!r} is archived; unarchive it first."})
    moving = list(source.excerpts.all())
    keys = {(e.document_id, e.start, e.end, e.coder_id) for e in moving}
    on_target = {
        (e.document_id, e.start, e.end, e.coder_id): e
        for e in target.excerpts.filter(document_id__in={k[0] for k in keys})
        if (e.document_id, e.start, e.end, e.coder_id) in keys
    }
    children = list(source.children.all())
    memo_ids = list(Memo.objects.filter(code=source).values_list("pk", flat=True)) + list(
        Memo.objects.filter(excerpt__in=moving + list(on_target.values())).values_list(
            "pk", flat=True
        )
    )
    touched = [e.pk for e in moving] + [e.pk for e in on_target.values()]
    suggestions = list(source.suggestions.all())
    spans = {_span(s) for s in suggestions}
    twins = {
        _span(s): s
        for s in target.suggestions.filter(document_id__in={span[0] for span in spans})
        if _span(s) in spans
    }
    suggestion_ids = {s.pk for s in suggestions} | {s.pk for s in twins.values()}
    suggestion_ids |= set(_linked_suggestions(touched))
    before = snapshot(
        codes=[source.pk, *(c.pk for c in children)],
        excerpts=touched,
        memos=memo_ids,
        suggestions=suggestion_ids,
    )
    collapsed = 0
    # Excerpts without a twin on the target move in one UPDATE, however many there are.
    plain = [e.pk for e in moving if (e.document_id, e.start, e.end, e.coder_id) not in on_target]
    Excerpt.objects.filter(pk__in=plain).update(code=target, updated_at=timezone.now())
    for excerpt in moving:
        twin = on_target.get((excerpt.document_id, excerpt.start, excerpt.end, excerpt.coder_id))
        if twin is None:
            continue
        kept, dropped = sorted((twin, excerpt), key=lambda e: (e.created_at, e.pk))
        kept.memo = _joined_memo(kept.memo, dropped.memo)
        kept.code = target
        Memo.objects.filter(excerpt=dropped).update(excerpt=kept)
        provenance = dropped.suggestion_id if kept.suggestion_id is None else None
        dropped.delete()  # first: an excerpt is one suggestion's provenance at most
        if provenance is not None:
            kept.suggestion_id = provenance
            Suggestion.objects.filter(pk=provenance).update(excerpt=kept)
        kept.save(update_fields=["code", "memo", "suggestion", "updated_at"])
        on_target[(kept.document_id, kept.start, kept.end, kept.coder_id)] = kept
        collapsed += 1
    for child in children:
        child.parent = target
        _check_code(child)
        child.save(update_fields=["parent", "updated_at"])
    Memo.objects.filter(code=source).update(code=target)
    kept_once = _merge_suggestions(moving=suggestions, on_target=twins, target=target)
    source.delete()
    # Editors holding these rows at their old versions must reload before writing over the merge.
    versions_bump(Excerpt.objects.filter(pk__in=touched))
    versions_bump(Code.objects.filter(pk__in=[target.pk, *(c.pk for c in children)]))
    target.refresh_from_db(fields=["version"])
    summary = (
        f"Merged {source.name!r} into {target.name!r}: {len(moving) - collapsed} excerpt(s) "
        f"moved, {collapsed} exact duplicate(s) collapsed, {len(children)} child code(s) moved, "
        f"{len(suggestions) - kept_once} suggestion(s) moved, {kept_once} kept once."
    )
    change_record(
        project=target.project,
        user=user,
        action=CodebookChange.Action.MERGE,
        code=target,
        summary=summary,
        before=before,
        after=snapshot(
            codes=[c.pk for c in children],
            excerpts=touched,
            memos=memo_ids,
            suggestions=suggestion_ids,
        ),
    )
    return target


@transaction.atomic
def code_split(
    *,
    code: Code,
    excerpts: list[Excerpt],
    name: str,
    user: User | None = None,
    color: str | None = None,
    description: str = "",
) -> Code:
    """Move the chosen excerpts of `code` to a new code named `name`, a sibling of `code`
    (same parent), and return the new code. Every chosen excerpt must belong to `code`.

    Suggestions of `code` linked to a chosen excerpt (its provenance) move with it, so an
    acceptance stays training data for the code its excerpt is on; the others stay."""
    if not excerpts:
        raise ValidationError({"excerpts": "Choose at least one excerpt to split off."})
    wrong = [e.pk for e in excerpts if e.code_id != code.pk]
    if wrong:
        raise ValidationError({"excerpts": f"Excerpt(s) {wrong} are not coded {code.name!r}."})
    chosen = sorted({e.pk for e in excerpts})
    linked = list(
        Suggestion.objects.filter(code=code, pk__in=_linked_suggestions(chosen)).values_list(
            "pk", flat=True
        )
    )
    before = snapshot(excerpts=chosen, suggestions=linked)
    new = Code(
        project=code.project,
        parent=code.parent,
        name=name,
        description=description,
        color=color or code.color or DEFAULT_CODE_COLOR,
        position=code.position,
        created_by=user,
    )
    _check_code(new)
    new.save()
    Excerpt.objects.filter(pk__in=chosen).update(code=new, version=F("version") + 1)
    Suggestion.objects.filter(pk__in=linked).update(code=new)
    change_record(
        project=code.project,
        user=user,
        action=CodebookChange.Action.SPLIT,
        code=new,
        summary=f"Split {len(chosen)} excerpt(s) of {code.name!r} into new code {new.name!r}.",
        before=before,
        after=snapshot(codes=[new.pk], excerpts=chosen, suggestions=linked),
    )
    return new
