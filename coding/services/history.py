"""The codebook's history: recording each change with its rows before and after, and undo.

A change stores complete rows of every code, excerpt and suggestion it touched (and the links
of memos it re-pointed). Undo writes the `before` rows back with `QuerySet.update` and
re-creates deleted rows with their old ids, so timestamps and ids come back exactly as they were.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateTimeField, Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from coding.models import Code, CodebookChange, Excerpt, Memo, Suggestion
from research.concurrency import versions_bump
from research.models import Project, User


def _fields(model: type[Model]) -> tuple[str, ...]:
    # Every concrete column, read from the model: a field added later (as `Excerpt.suggestion`
    # was) is snapshotted and restored without anyone remembering to list it here.
    return tuple(field.attname for field in model._meta.concrete_fields)


CODE_ROW = _fields(Code)
EXCERPT_ROW = _fields(Excerpt)
SUGGESTION_ROW = _fields(Suggestion)
MEMO_ROW = ("id", "code_id", "excerpt_id")
_DATES = frozenset(
    field.attname
    for model in (Code, Excerpt, Suggestion)
    for field in model._meta.concrete_fields
    if isinstance(field, DateTimeField)
)

Rows = list[dict[str, Any]]
State = dict[str, Rows]


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    row = {field: getattr(obj, field) for field in fields}
    for field, value in row.items():
        if isinstance(value, datetime):
            row[field] = value.isoformat()
    return row


def snapshot(
    *,
    codes: Iterable[int] = (),
    excerpts: Iterable[int] = (),
    memos: Iterable[int] = (),
    suggestions: Iterable[int] = (),
) -> State:
    """The current rows of the given codes, excerpts, memos and suggestions (missing ids are
    left out); every column of codes, excerpts and suggestions, the links of memos."""
    code_rows = Code.objects.filter(pk__in=list(codes)).order_by("id")
    excerpt_rows = Excerpt.objects.filter(pk__in=list(excerpts)).order_by("id")
    memo_rows = Memo.objects.filter(pk__in=list(memos)).order_by("id")
    suggestion_rows = Suggestion.objects.filter(pk__in=list(suggestions)).order_by("id")
    return {
        "codes": [_row(code, CODE_ROW) for code in code_rows],
        "excerpts": [_row(excerpt, EXCERPT_ROW) for excerpt in excerpt_rows],
        "memos": [_row(memo, MEMO_ROW) for memo in memo_rows],
        "suggestions": [_row(row, SUGGESTION_ROW) for row in suggestion_rows],
    }


def ids(state: State, kind: str) -> list[int]:
    return [row["id"] for row in state.get(kind, [])]


def change_record(
    *,
    project: Project,
    user: User | None,
    action: str,
    summary: str,
    before: State,
    after: State,
    code: Code | None = None,
) -> CodebookChange:
    """Store one change; call inside the transaction of the change itself."""
    return CodebookChange.objects.create(
        project=project,
        user=user,
        action=action,
        code=code if code is not None and code.pk is not None else None,
        summary=summary[:500],
        before=before,
        after=after,
    )


def _values(row: dict[str, Any]) -> dict[str, Any]:
    # A restored row gets a newer version, never its recorded one (see `_bumped`): an editor who
    # loaded it before the undo must reload, and versions never repeat.
    values = {key: value for key, value in row.items() if key not in ("id", "version")}
    for field in _DATES & values.keys():
        if isinstance(values[field], str):
            values[field] = parse_datetime(values[field])
    return values


def _is_versioned(model: type[Model]) -> bool:
    return any(field.attname == "version" for field in model._meta.concrete_fields)


def _version(row: dict[str, Any]) -> int:
    # The recorded version (rows snapshotted before versions existed: 1); raised after restoring.
    return int(row.get("version", 1))


def _check_undoable(change: CodebookChange) -> None:
    later = (
        CodebookChange.objects.filter(project_id=change.project_id, undone_at__isnull=True)
        .order_by("-id")
        .first()
    )
    if change.undone_at is not None:
        raise ValidationError({"change": "This change has already been undone."})
    if later is None or later.pk != change.pk:
        raise ValidationError(
            {
                "change": (
                    "Only the most recent change can be undone; undo the later changes first "
                    f"(latest: {later.summary if later else '-'})."
                )
            }
        )
    _check_created_unused(change)
    # An excerpt a coder re-coded since would silently lose that work if forced back.
    after_rows = {row["id"]: row for row in change.after.get("excerpts", [])}
    current = Excerpt.objects.filter(pk__in=list(after_rows)).values_list("pk", "code_id")
    changed = [pk for pk, code_id in current if code_id != after_rows[pk]["code_id"]]
    if changed:
        raise ValidationError(
            {"change": f"{len(changed)} excerpt(s) were re-coded since; it cannot be undone."}
        )
    # Likewise a decision made since on a suggestion the change moved.
    decided = {row["id"]: row["status"] for row in change.after.get("suggestions", [])}
    now = Suggestion.objects.filter(pk__in=list(decided)).values_list("pk", "status")
    redecided = [pk for pk, status in now if status != decided[pk]]
    if redecided:
        raise ValidationError(
            {"change": (f"{len(redecided)} suggestion(s) were decided since; it cannot be undone.")}
        )


def _check_created_unused(change: CodebookChange) -> None:
    before_codes, after_codes = set(ids(change.before, "codes")), set(ids(change.after, "codes"))
    created = after_codes - before_codes
    if not created:
        return
    used = Excerpt.objects.filter(code_id__in=created).exclude(
        pk__in=ids(change.before, "excerpts") + ids(change.after, "excerpts")
    )
    children = Code.objects.filter(parent_id__in=created).exclude(pk__in=created)
    memos = Memo.objects.filter(code_id__in=created).exclude(pk__in=ids(change.after, "memos"))
    # Deleting the code would cascade to its suggestions: decided ones are training data.
    decided = (
        Suggestion.objects.filter(code_id__in=created)
        .exclude(status=Suggestion.Status.PENDING)
        .exclude(pk__in=ids(change.after, "suggestions"))
    )
    if used.exists() or children.exists() or memos.exists() or decided.exists():
        raise ValidationError(
            {"change": "Codes this change created are in use since; it cannot be undone."}
        )


def _restore(model: type[Model], rows: Rows, after: State, kind: str) -> list[int]:
    """Write `rows` back: existing ones get their old values, ones the change itself deleted
    are re-created with their old ids (rows deleted since by someone else stay deleted).
    Returns the ids re-created."""
    manager = model._default_manager
    existing = set(manager.filter(pk__in=[row["id"] for row in rows]).values_list("pk", flat=True))
    after_ids = set(ids(after, kind))
    # Existing rows first: a merge's surviving suggestion must leave the span before its
    # dropped twin is re-created there.
    for row in rows:
        if row["id"] in existing:
            manager.filter(pk=row["id"]).update(**_values(row))
    created = []
    for row in rows:
        if row["id"] in existing or row["id"] in after_ids:  # in after: deleted since, by a coder
            continue
        if kind == "suggestions" and _span_taken(row):
            continue  # generated again since on the same span: that one stands
        versioned = {"version": _version(row)} if _is_versioned(model) else {}
        manager.bulk_create([model(id=row["id"], **versioned, **_values(row))])
        created.append(row["id"])
    # bulk_create stamps auto_now(_add) fields; write the recorded timestamps back.
    for row in rows:
        if row["id"] in created:
            manager.filter(pk=row["id"]).update(**_values(row))
    if _is_versioned(model):
        versions_bump(manager.filter(pk__in=[row["id"] for row in rows]))
    return created


def _span_taken(row: dict[str, Any]) -> bool:
    return Suggestion.objects.filter(
        document_id=row["document_id"], code_id=row["code_id"], start=row["start"], end=row["end"]
    ).exists()


def _drop_dangling_links(excerpt_ids: list[int], suggestion_ids: list[int]) -> None:
    # A link to a row deleted since (an excerpt a coder removed, a suggestion regenerated away)
    # cannot be restored; the row itself is, without the link.
    Excerpt.objects.filter(pk__in=excerpt_ids, suggestion_id__isnull=False).exclude(
        suggestion_id__in=Suggestion.objects.values("pk")
    ).update(suggestion=None)
    Suggestion.objects.filter(pk__in=suggestion_ids, excerpt_id__isnull=False).exclude(
        excerpt_id__in=Excerpt.objects.values("pk")
    ).update(excerpt=None)


@transaction.atomic
def codebook_undo(*, change: CodebookChange, user: User) -> CodebookChange:
    """Restore the codebook, excerpts and suggestions to exactly what they were before `change`.

    Only the project's most recent change that is not undone can be undone, and only while
    nothing it created is in use, no excerpt it moved was re-coded and no suggestion it moved
    was decided since (ValidationError saying why otherwise). Excerpts a coder deleted since
    stay deleted, and links to them are cleared.
    """
    change = CodebookChange.objects.select_for_update().get(pk=change.pk)
    _check_undoable(change)
    before, after = change.before, change.after
    existing_codes = set(
        Code.objects.filter(pk__in=ids(before, "codes")).values_list("pk", flat=True)
    )
    # 1. Codes the change deleted come back (parents first: `before` lists them in id order,
    #    and a parent is always older than its child), then the others get their old values.
    for row in before.get("codes", []):
        if row["id"] not in existing_codes:
            Code.objects.bulk_create([Code(id=row["id"], version=_version(row), **_values(row))])
    for row in before.get("codes", []):
        Code.objects.filter(pk=row["id"]).update(**_values(row))
    versions_bump(Code.objects.filter(pk__in=ids(before, "codes")))
    # 2. Suggestions go back, then excerpts: moved ones go back, collapsed duplicates are
    #    re-created. An excerpt is one suggestion's provenance at most (a unique column), so
    #    the links are cleared before being written back.
    excerpt_ids, suggestion_ids = ids(before, "excerpts"), ids(before, "suggestions")
    Excerpt.objects.filter(pk__in=excerpt_ids).update(suggestion=None)
    _restore(Suggestion, before.get("suggestions", []), after, "suggestions")
    _restore(Excerpt, before.get("excerpts", []), after, "excerpts")
    _drop_dangling_links(excerpt_ids, suggestion_ids)
    for row in before.get("memos", []):
        Memo.objects.filter(pk=row["id"]).update(**_values(row))
    # 3. Rows the change created go away, children before parents.
    Suggestion.objects.filter(pk__in=set(ids(after, "suggestions")) - set(suggestion_ids)).delete()
    Excerpt.objects.filter(pk__in=set(ids(after, "excerpts")) - set(excerpt_ids)).delete()
    created_codes = sorted(set(ids(after, "codes")) - set(ids(before, "codes")), reverse=True)
    for pk in created_codes:
        Code.objects.filter(pk=pk).delete()
    change.undone_at = timezone.now()
    change.undone_by = user
    change.save(update_fields=["undone_at", "undone_by"])
    return change
