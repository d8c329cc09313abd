"""Create, update and delete codes (the basic codebook writes)."""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.models import DEFAULT_CODE_COLOR, Code
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
