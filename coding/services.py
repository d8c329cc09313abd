"""Every write to codes, excerpts and memos."""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.models import DEFAULT_CODE_COLOR, Code, Excerpt, Memo
from observations.models import Document
from research.models import Project, User
from research.validation import check_in_project, reject_unknown

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
CODE_FIELDS = (
    "name",
    "parent",
    "description",
    "inclusion_notes",
    "exclusion_notes",
    "example",
    "color",
    "patterns",
    "position",
    "is_archived",
)
MEMO_FIELDS = ("title", "text", "document", "code", "excerpt")


def _check_code(code: Code) -> None:
    code.name = code.name.strip()
    if not code.name:
        raise ValidationError({"name": "A code needs a name."})
    if not HEX_COLOR.match(code.color or ""):
        raise ValidationError({"color": "Use a hex colour such as #4c78a8."})
    if not isinstance(code.patterns, list):
        raise ValidationError({"patterns": "Must be a list."})
    if code.parent is not None:
        check_in_project(code.project, "parent", code.parent)
        ancestor: Code | None = code.parent
        while ancestor is not None:  # a codebook is a few levels deep; this walks at most those
            if code.pk is not None and ancestor.pk == code.pk:
                raise ValidationError({"parent": "A code cannot be moved under itself."})
            ancestor = ancestor.parent
    siblings = Code.objects.filter(
        project_id=code.project_id, parent_id=code.parent_id, name__iexact=code.name
    ).exclude(pk=code.pk)
    if siblings.exists():
        where = f"under {code.parent.name!r}" if code.parent else "at the top level"
        raise ValidationError({"name": f"A code named {code.name!r} already exists {where}."})
    code.full_clean(exclude=["project", "parent", "created_by"], validate_constraints=False)


@transaction.atomic
def code_create(
    *,
    project: Project,
    name: str,
    creator: User | None = None,
    parent: Code | None = None,
    description: str = "",
    color: str = DEFAULT_CODE_COLOR,
    **fields: Any,
) -> Code:
    """Add a code to the codebook; names are unique (ignoring case) among siblings."""
    reject_unknown(fields, CODE_FIELDS)
    code = Code(
        project=project,
        name=name,
        parent=parent,
        description=description,
        color=color,
        created_by=creator,
        **fields,
    )
    _check_code(code)
    code.save()
    return code


@transaction.atomic
def code_update(*, code: Code, **changes: Any) -> Code:
    """Rename, move, recolour or describe a code. Moving under itself or a descendant is refused."""
    reject_unknown(changes, CODE_FIELDS)
    for field, value in changes.items():
        setattr(code, field, value)
    _check_code(code)
    code.save()
    return code


@transaction.atomic
def code_delete(*, code: Code) -> None:
    """Delete a code that has no excerpts and no child codes; otherwise say what depends on it."""
    excerpts = code.excerpts.count()
    children = code.children.count()
    if excerpts or children:
        raise ValidationError(
            {
                "code": (
                    f"{code.name!r} still has {excerpts} excerpt(s) and {children} child code(s); "
                    "merge, move or archive it instead."
                )
            }
        )
    code.delete()


def _check_span(document: Document, start: int, end: int) -> str:
    if not 0 <= start < end:
        raise ValidationError({"start": "Need 0 <= start < end."})
    if end > len(document.text):
        raise ValidationError(
            {"end": f"End {end} is beyond the document's {len(document.text)} characters."}
        )
    quote = document.text[start:end]
    if not quote.strip():
        raise ValidationError({"start": "The selected span holds only white space."})
    return quote


@transaction.atomic
def excerpt_create(
    *,
    document: Document,
    code: Code,
    start: int,
    end: int,
    coder: User,
    memo: str = "",
    text: str | None = None,
) -> Excerpt:
    """Apply `code` to `[start, end)` of `document` and store the quote.

    If the caller sends the `text` it saw, it must equal the document's text at that span, so a
    client working from a stale copy cannot code the wrong words.
    """
    check_in_project(document.project, "code", code)
    if code.is_archived:
        raise ValidationError({"code": f"{code.name!r} is archived."})
    quote = _check_span(document, start, end)
    if text is not None and text != quote:
        raise ValidationError({"text": "Does not match the document at these offsets."})
    return Excerpt.objects.create(
        project=document.project,
        document=document,
        code=code,
        start=start,
        end=end,
        text=quote,
        coder=coder,
        memo=memo,
    )


@transaction.atomic
def excerpt_update(
    *,
    excerpt: Excerpt,
    code: Code | None = None,
    start: int | None = None,
    end: int | None = None,
    memo: str | None = None,
    needs_review: bool | None = None,
) -> Excerpt:
    """Change an excerpt's code, span or memo; a new span is re-checked and its quote re-copied.

    `needs_review=False` accepts the anchoring a text edit left (after any new span): the flag and
    reason are cleared and the quote re-copied from the current text. Only an edit sets the flag.
    """
    if needs_review:
        raise ValidationError(
            {"needs_review": "Only an edit of the document flags an excerpt; send false to clear."}
        )
    if code is not None:
        check_in_project(excerpt.project, "code", code)
        excerpt.code = code
    if start is not None or end is not None or needs_review is False:
        excerpt.start = excerpt.start if start is None else start
        excerpt.end = excerpt.end if end is None else end
        excerpt.text = _check_span(excerpt.document, excerpt.start, excerpt.end)
    if needs_review is False:
        excerpt.needs_review = False
        excerpt.review_reason = ""
    if memo is not None:
        excerpt.memo = memo
    excerpt.save()
    return excerpt


@transaction.atomic
def excerpt_delete(*, excerpt: Excerpt) -> None:
    """Delete an excerpt."""
    excerpt.delete()


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
