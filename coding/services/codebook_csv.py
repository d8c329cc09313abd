"""The codebook as CSV: export for spreadsheets, import that creates and updates, never deletes.

A code is named by its path from the top, `Theme > Code`. Cells starting with = + - @, a tab or
a carriage return are prefixed with a single quote on export so a spreadsheet does not run them
as formulas; import removes that quote again, so a round trip is exact.
"""

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.models import Code, CodebookChange
from coding.services.codes import HEX_COLOR, _check_code
from coding.services.history import change_record, snapshot
from observations.importers.base import ParseError
from observations.importers.decode import decode_text
from observations.services.imports import ImportValidationError
from research.concurrency import version_claim
from research.models import Project, User

SEPARATOR = " > "
COLUMNS = (
    "path",
    "name",
    "parent path",
    "description",
    "inclusion_notes",
    "exclusion_notes",
    "example",
    "color",
    "archived",
    "excerpt_count",
)
TEXT_COLUMNS = ("description", "inclusion_notes", "exclusion_notes", "example")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CHARS = 5_000_000
_TRUE = {"true", "yes", "1", "y", "x"}
_FALSE = {"false", "no", "0", "n", ""}


def _safe(value: Any) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _unsafe(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:2] in _FORMULA_START and text[1:] else text


def _paths(codes: list[Code]) -> dict[int, str]:
    by_id = {code.pk: code for code in codes}
    paths: dict[int, str] = {}

    def path(code: Code) -> str:
        if code.pk not in paths:
            parent = by_id.get(code.parent_id) if code.parent_id else None
            paths[code.pk] = (path(parent) + SEPARATOR if parent else "") + code.name
        return paths[code.pk]

    for code in codes:
        path(code)
    return paths


def codebook_export_csv(project: Project) -> str:
    """The whole codebook as CSV text, parents before children, one row per code."""
    from coding.selectors import code_list

    codes = list(code_list(project=project))
    paths = _paths(codes)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for code in sorted(codes, key=lambda c: (paths[c.pk].count(SEPARATOR), c.position, c.pk)):
        parent = paths[code.parent_id] if code.parent_id else ""
        row = [paths[code.pk], code.name, parent]
        row += [getattr(code, column) for column in TEXT_COLUMNS]
        row += [code.color, "yes" if code.is_archived else "no", code.excerpt_count]  # type: ignore[attr-defined]
        writer.writerow([_safe(cell) for cell in row])
    return out.getvalue()


@dataclass
class ImportResult:
    created: list[Code] = field(default_factory=list)
    updated: list[Code] = field(default_factory=list)
    change: CodebookChange | None = None


def _key(path: str) -> str:
    return SEPARATOR.join(part.strip().lower() for part in path.split(">"))


def _read_rows(data: bytes) -> list[dict[str, str]]:
    try:
        text = decode_text("codebook.csv", data, max_chars=MAX_CHARS)
    except ParseError as exc:
        raise ImportValidationError([{"file": "codebook.csv", "message": str(exc)}]) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if "path" not in header and "name" not in header:
        raise ImportValidationError(
            [{"file": "codebook.csv", "row": 1, "message": "Need a 'path' or 'name' column."}]
        )
    reader.fieldnames = header
    return [
        {key: _unsafe((value or "").strip()) for key, value in row.items() if key} for row in reader
    ]


def _error(row: int, column: str, message: str) -> dict[str, Any]:
    return {"file": "codebook.csv", "row": row, "field": column, "message": message}


def _parse_row(number: int, row: dict[str, str], errors: list[dict[str, Any]]) -> list[str]:
    """The row's path as a list of names; errors are appended (column named)."""
    path = row.get("path") or ""
    if not path:
        parent, name = row.get("parent path", ""), row.get("name", "")
        path = f"{parent}{SEPARATOR}{name}" if parent else name
    parts = [part.strip() for part in path.split(">")]
    if not path or not all(parts):
        errors.append(_error(number, "path", "Every level of the path needs a name."))
    if any(len(part) > 120 for part in parts):
        errors.append(_error(number, "path", "A code name has at most 120 characters."))
    if row.get("name") and parts and row["name"].strip().lower() != parts[-1].lower():
        errors.append(_error(number, "name", "Does not match the last part of the path."))
    if row.get("color") and not HEX_COLOR.match(row["color"]):
        errors.append(_error(number, "color", "Use a hex colour such as #4c78a8."))
    if row.get("archived", "").lower() not in _TRUE | _FALSE:
        errors.append(_error(number, "archived", "Use yes or no."))
    return parts


@transaction.atomic
def codebook_import_csv(*, project: Project, user: User | None, data: bytes) -> ImportResult:
    """Create missing codes by path and update the texts, colour and archived flag of existing
    ones; never deletes. All or nothing: on any problem raises ImportValidationError whose errors
    name the row (1 = header) and column, and nothing is written. One CodebookChange records it.
    """
    rows = _read_rows(data)
    errors: list[dict[str, Any]] = []
    parsed = [(number, row, _parse_row(number, row, errors)) for number, row in enumerate(rows, 2)]
    if errors:
        raise ImportValidationError(errors)
    codes = list(project.codes.all())
    paths = _paths(codes)
    by_path = {_key(paths[code.pk]): code for code in codes}
    touched_before = sorted({code.pk for code in codes})
    before = snapshot(codes=touched_before)
    result = ImportResult()
    for number, row, parts in sorted(parsed, key=lambda item: len(item[2])):
        for depth in range(1, len(parts) + 1):
            key = _key(SEPARATOR.join(parts[:depth]))
            if key in by_path:
                continue
            parent = by_path.get(_key(SEPARATOR.join(parts[: depth - 1]))) if depth > 1 else None
            code = Code(project=project, parent=parent, name=parts[depth - 1], created_by=user)
            _save(code, number, "path")
            by_path[key] = code
            result.created.append(code)
        code = by_path[_key(SEPARATOR.join(parts))]
        changed = False
        for column in TEXT_COLUMNS:
            if column in row and getattr(code, column) != row[column]:
                setattr(code, column, row[column])
                changed = True
        if row.get("color") and code.color != row["color"]:
            code.color, changed = row["color"], True
        if row.get("archived") and code.is_archived != (row["archived"].lower() in _TRUE):
            code.is_archived, changed = row["archived"].lower() in _TRUE, True
        if changed:
            _save(code, number, "description")
            if code not in result.created and code not in result.updated:
                result.updated.append(code)
    summary = (
        f"Imported the codebook: {len(result.created)} created, {len(result.updated)} updated."
    )
    all_ids = [code.pk for code in result.created] + [code.pk for code in result.updated]
    result.change = change_record(
        project=project,
        user=user,
        action=CodebookChange.Action.IMPORT,
        summary=summary,
        before={**before, "codes": [r for r in before["codes"] if r["id"] in all_ids]},
        after=snapshot(codes=all_ids),
    )
    return result


def _save(code: Code, number: int, column: str) -> None:
    try:
        _check_code(code)
    except ValidationError as exc:
        messages = [
            m for errs in getattr(exc, "error_dict", {}).values() for e in errs for m in e.messages
        ]
        raise ImportValidationError(
            [_error(number, column, message) for message in messages or exc.messages]
        ) from None
    if code.pk is not None:
        version_claim(code)  # an open editor of this code must reload before saving over it
    code.save()
