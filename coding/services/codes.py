"""Create, update and delete codes (the basic codebook writes)."""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.models import DEFAULT_CODE_COLOR, Code, CodebookChange
from coding.services.history import change_record, snapshot
from research.concurrency import version_claim
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
        raise ValidationError({"patterns": "Patterns must be a list."})
    if code.patterns:
        # Imported here: the rules' module loads spaCy, which a web process must not load
        # just to serve URLs (tests/observations/test_ingest.py).
        from coding.suggest import patterns

        problems = patterns.validate(code.patterns)
        if problems:
            raise ValidationError({"patterns": problems})
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
    """Add a code to the codebook; names are unique (ignoring case) among siblings.

    The creation is recorded in the codebook's history with `creator` as who did it.
    """
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
    where = f" under {parent.name!r}" if parent else ""
    change_record(
        project=project,
        user=creator,
        action=CodebookChange.Action.CREATE,
        code=code,
        summary=f"Created {code.name!r}{where}.",
        before=snapshot(),
        after=snapshot(codes=[code.pk]),
    )
    return code


def _update_action(code: Code, before: dict[str, Any]) -> tuple[str, str]:
    changed = {field for field, value in before.items() if getattr(code, field) != value}
    name = before.get("name", code.name)
    if changed == {"name"}:
        return CodebookChange.Action.RENAME, f"Renamed {name!r} to {code.name!r}."
    if changed and changed <= {"parent", "position"}:
        where = f"under {code.parent.name!r}" if code.parent else "to the top level"
        return CodebookChange.Action.MOVE, f"Moved {code.name!r} {where}."
    if changed == {"is_archived"}:
        if code.is_archived:
            return CodebookChange.Action.ARCHIVE, f"Archived {code.name!r}."
        return CodebookChange.Action.UNARCHIVE, f"Unarchived {code.name!r}."
    fields = ", ".join(sorted(field.replace("_", " ") for field in changed)) or "nothing"
    return CodebookChange.Action.UPDATE, f"Changed {fields} of {code.name!r}."


@transaction.atomic
def code_update(
    *, code: Code, user: User | None = None, expected_version: int | None = None, **changes: Any
) -> Code:
    """Rename, move, recolour, describe or archive a code; recorded in the history as done by
    `user`. Moving under itself or a descendant is refused. A compare-and-swap on `version`
    (default: as `code` was loaded): `VersionConflict` and nothing written when it changed."""
    reject_unknown(changes, CODE_FIELDS)
    old = snapshot(codes=[code.pk])
    before = {field: getattr(code, field) for field in changes}
    for field, value in changes.items():
        setattr(code, field, value)
    _check_code(code)
    version_claim(code, expected_version)  # after the checks: a refusal leaves `code` as loaded
    code.save()
    if all(getattr(code, field) == value for field, value in before.items()):
        return code  # nothing changed: nothing to record or undo
    action, summary = _update_action(code, before)
    change_record(
        project=code.project,
        user=user,
        action=action,
        code=code,
        summary=summary,
        before=old,
        after=snapshot(codes=[code.pk]),
    )
    return code


@transaction.atomic
def code_delete(
    *, code: Code, user: User | None = None, expected_version: int | None = None
) -> None:
    """Delete a code that has no excerpts and no child codes; otherwise say what depends on it.
    Only while it is still at `expected_version` (default: as loaded): else `VersionConflict`.

    Memos about the code go with it, as before; undo brings back the code, not those memos.
    Its suggestions go with it too (a code gone has nothing to suggest), but decided ones are
    training data: the history records them all, and undo brings them back with the code.
    """
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
    version_claim(code, expected_version)
    suggestions = list(code.suggestions.values_list("pk", flat=True))
    with_suggestions = f" and its {len(suggestions)} suggestion(s)" if suggestions else ""
    change_record(
        project=code.project,
        user=user,
        action=CodebookChange.Action.DELETE,
        summary=f"Deleted {code.name!r}{with_suggestions}.",
        before=snapshot(codes=[code.pk], suggestions=suggestions),
        after=snapshot(),
    )
    code.delete()
