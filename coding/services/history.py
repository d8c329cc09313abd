"""The codebook's history: recording each change with its rows before and after, and undo.

A change stores complete rows of every code and excerpt it touched (and the links of memos it
re-pointed). Undo writes the `before` rows back with `QuerySet.update` and re-creates deleted
rows with their old ids, so timestamps and ids come back exactly as they were.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from coding.models import Code, CodebookChange, Excerpt, Memo
from research.models import Project, User

CODE_ROW = (
    "id",
    "project_id",
    "parent_id",
    "name",
    "description",
    "inclusion_notes",
    "exclusion_notes",
    "example",
    "color",
    "patterns",
    "position",
    "is_archived",
    "created_by_id",
    "created_at",
    "updated_at",
)
EXCERPT_ROW = (
    "id",
    "project_id",
    "document_id",
    "code_id",
    "start",
    "end",
    "text",
    "coder_id",
    "memo",
    "needs_review",
    "review_reason",
    "created_at",
    "updated_at",
)
MEMO_ROW = ("id", "code_id", "excerpt_id")
_DATES = ("created_at", "updated_at")

Rows = list[dict[str, Any]]
State = dict[str, Rows]


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    row = {field: getattr(obj, field) for field in fields}
    for field in _DATES:
        if isinstance(row.get(field), datetime):
            row[field] = row[field].isoformat()
    return row


def snapshot(
    *,
    codes: Iterable[int] = (),
    excerpts: Iterable[int] = (),
    memos: Iterable[int] = (),
) -> State:
    """The current rows of the given codes, excerpts and memos (missing ids are left out)."""
    code_rows = Code.objects.filter(pk__in=list(codes)).order_by("id")
    excerpt_rows = Excerpt.objects.filter(pk__in=list(excerpts)).order_by("id")
    memo_rows = Memo.objects.filter(pk__in=list(memos)).order_by("id")
    return {
        "codes": [_row(code, CODE_ROW) for code in code_rows],
        "excerpts": [_row(excerpt, EXCERPT_ROW) for excerpt in excerpt_rows],
        "memos": [_row(memo, MEMO_ROW) for memo in memo_rows],
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
    values = {key: value for key, value in row.items() if key != "id"}
    for field in _DATES:
        if isinstance(values.get(field), str):
            values[field] = parse_datetime(values[field])
    return values


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
    before_codes, after_codes = set(ids(change.before, "codes")), set(ids(change.after, "codes"))
    created = after_codes - before_codes
    if created:
        used = Excerpt.objects.filter(code_id__in=created).exclude(
            pk__in=ids(change.before, "excerpts") + ids(change.after, "excerpts")
        )
        children = Code.objects.filter(parent_id__in=created).exclude(pk__in=created)
        memos = Memo.objects.filter(code_id__in=created).exclude(pk__in=ids(change.after, "memos"))
        if used.exists() or children.exists() or memos.exists():
            raise ValidationError(
                {"change": "Codes this change created are in use since; it cannot be undone."}
            )
    # An excerpt a coder re-coded since would silently lose that work if forced back.
    after_rows = {row["id"]: row for row in change.after.get("excerpts", [])}
    current = Excerpt.objects.filter(pk__in=list(after_rows)).values_list("pk", "code_id")
    changed = [pk for pk, code_id in current if code_id != after_rows[pk]["code_id"]]
    if changed:
        raise ValidationError(
            {"change": f"{len(changed)} excerpt(s) were re-coded since; it cannot be undone."}
        )


@transaction.atomic
def codebook_undo(*, change: CodebookChange, user: User) -> CodebookChange:
    """Restore the codebook and excerpts to exactly what they were before `change`.

    Only the project's most recent change that is not undone can be undone, and only while
    nothing it created is in use and no excerpt it moved was re-coded since (ValidationError
    saying why otherwise). Excerpts a coder deleted since stay deleted.
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
            Code.objects.bulk_create([Code(id=row["id"], **_values(row))])
    for row in before.get("codes", []):
        Code.objects.filter(pk=row["id"]).update(**_values(row))
    # 2. Excerpts: moved ones go back, collapsed duplicates are re-created.
    after_excerpts = set(ids(after, "excerpts"))
    existing = set(
        Excerpt.objects.filter(pk__in=ids(before, "excerpts")).values_list("pk", flat=True)
    )
    for row in before.get("excerpts", []):
        if row["id"] in existing:
            Excerpt.objects.filter(pk=row["id"]).update(**_values(row))
        elif row["id"] not in after_excerpts:  # deleted by the change itself, not by a coder
            Excerpt.objects.bulk_create([Excerpt(id=row["id"], **_values(row))])
    for row in before.get("memos", []):
        Memo.objects.filter(pk=row["id"]).update(**_values(row))
    # 3. Rows the change created go away, children before parents.
    created_excerpts = after_excerpts - set(ids(before, "excerpts"))
    Excerpt.objects.filter(pk__in=created_excerpts).delete()
    created_codes = sorted(set(ids(after, "codes")) - set(ids(before, "codes")), reverse=True)
    for pk in created_codes:
        Code.objects.filter(pk=pk).delete()
    # bulk_create stamps auto_now fields; write the recorded timestamps back.
    for row in before.get("excerpts", []):
        Excerpt.objects.filter(pk=row["id"]).update(**_values(row))
    change.undone_at = timezone.now()
    change.undone_by = user
    change.save(update_fields=["undone_at", "undone_by"])
    return change
