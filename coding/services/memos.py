"""Writes to memos."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.models import Memo
from research.models import Project, User
from research.validation import check_in_project, reject_unknown

MEMO_FIELDS = ("title", "text", "document", "code", "excerpt")


def _check_memo(memo: Memo) -> None:
    memo.text = memo.text.strip()
    if not memo.text:
        raise ValidationError({"text": "A memo needs some text."})
    for field in ("document", "code", "excerpt"):
        check_in_project(memo.project, field, getattr(memo, field))


@transaction.atomic
def memo_create(
    *, project: Project, author: User, text: str, title: str = "", **links: Any
) -> Memo:
    """Write a memo, optionally about a document, code or excerpt of the same project."""
    reject_unknown(links, ("document", "code", "excerpt"))
    memo = Memo(project=project, author=author, text=text, title=title.strip(), **links)
    _check_memo(memo)
    memo.save()
    return memo


@transaction.atomic
def memo_update(*, memo: Memo, **changes: Any) -> Memo:
    """Change a memo's title, text or what it is about."""
    reject_unknown(changes, MEMO_FIELDS)
    for field, value in changes.items():
        setattr(memo, field, value)
    _check_memo(memo)
    memo.save()
    return memo


@transaction.atomic
def memo_delete(*, memo: Memo) -> None:
    """Delete a memo."""
    memo.delete()
