"""Codebook operations beyond a single code's fields: move, archive, merge and split.

Each is one transaction that also records a CodebookChange with the rows before and after, so
`codebook_undo` can restore the earlier state exactly.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coding.models import DEFAULT_CODE_COLOR, Code, CodebookChange, Excerpt, Memo
from coding.services.codes import _check_code, code_update
from coding.services.history import change_record, snapshot
from research.models import User
from research.validation import check_in_project


@transaction.atomic
def code_move(
    *, code: Code, parent: Code | None, position: int | None = None, user: User | None = None
) -> Code:
    """Put `code` under `parent` (None: top level), optionally at `position` among siblings.

    Moving a code under itself or one of its descendants is refused.
    """
    changes: dict[str, object] = {"parent": parent}
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


@transaction.atomic
def code_merge(*, source: Code, target: Code, user: User | None = None) -> Code:
    """Merge `source` into `target` and delete `source`; returns `target`.

    Guaranteed: every excerpt of `source` ends up on `target`, except exact duplicates (same
    document, start, end and coder as one already there) which collapse into the older of the two;
    the newer one's memo is appended to the kept one's when different and memos written about it
    are re-pointed to the kept one. Source's child codes move under `target`, memos about
    `source` move to `target`. Nothing else is lost, and undo restores every row exactly.
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
    before = snapshot(
        codes=[source.pk, *(c.pk for c in children)], excerpts=touched, memos=memo_ids
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
        kept.save(update_fields=["code", "memo", "updated_at"])
        Memo.objects.filter(excerpt=dropped).update(excerpt=kept)
        dropped.delete()
        on_target[(kept.document_id, kept.start, kept.end, kept.coder_id)] = kept
        collapsed += 1
    for child in children:
        child.parent = target
        _check_code(child)
        child.save(update_fields=["parent", "updated_at"])
    Memo.objects.filter(code=source).update(code=target)
    source.delete()
    summary = (
        f"Merged {source.name!r} into {target.name!r}: {len(moving) - collapsed} excerpt(s) "
        f"moved, {collapsed} exact duplicate(s) collapsed, {len(children)} child code(s) moved."
    )
    change_record(
        project=target.project,
        user=user,
        action=CodebookChange.Action.MERGE,
        code=target,
        summary=summary,
        before=before,
        after=snapshot(codes=[c.pk for c in children], excerpts=touched, memos=memo_ids),
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
    (same parent), and return the new code. Every chosen excerpt must belong to `code`."""
    if not excerpts:
        raise ValidationError({"excerpts": "Choose at least one excerpt to split off."})
    wrong = [e.pk for e in excerpts if e.code_id != code.pk]
    if wrong:
        raise ValidationError({"excerpts": f"Excerpt(s) {wrong} are not coded {code.name!r}."})
    chosen = sorted({e.pk for e in excerpts})
    before = snapshot(excerpts=chosen)
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
    Excerpt.objects.filter(pk__in=chosen).update(code=new)
    change_record(
        project=code.project,
        user=user,
        action=CodebookChange.Action.SPLIT,
        code=new,
        summary=f"Split {len(chosen)} excerpt(s) of {code.name!r} into new code {new.name!r}.",
        before=before,
        after=snapshot(codes=[new.pk], excerpts=chosen),
    )
    return new
