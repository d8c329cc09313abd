"""The code tree of an imported REFI-QDA project, merged into the project's codebook by path.

A code whose path (names from the top, ignoring case) already exists in the codebook is reused
as it is; the rest are created under their parents with the file's colour and description. The
whole import is one entry in the codebook's history, as a CSV codebook import is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from coding.models import DEFAULT_CODE_COLOR, Code, CodebookChange
from coding.refi.export import split_code_description
from coding.refi.model import QdaCode, QdaProject, guid
from coding.services.codebook_csv import SEPARATOR
from coding.services.codes import HEX_COLOR, _check_code
from coding.services.history import change_record, snapshot
from research.models import Project, User

NAME_MAX = 120


@dataclass
class CodeOutcome:
    """Codes by the file's guid, what was created and reused (by path), lines for the report."""

    by_guid: dict[str, Code] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    not_codable: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)


def _key(parts: list[str]) -> str:
    return SEPARATOR.join(part.casefold() for part in parts)


def _existing_paths(project: Project) -> dict[str, Code]:
    codes = {code.pk: code for code in project.codes.all()}
    names: dict[int, list[str]] = {}

    def parts(code: Code) -> list[str]:
        if code.pk not in names:
            parent = codes.get(code.parent_id) if code.parent_id else None
            names[code.pk] = (parts(parent) if parent else []) + [code.name]
        return names[code.pk]

    return {_key(parts(code)): code for code in codes.values()}


def _name(code: QdaCode, lines: list[str]) -> str:
    name = " ".join(code.name.split())
    if not name:
        lines.append(f"A code with no name (guid {code.guid}) was named 'Unnamed code'.")
        return "Unnamed code"
    if len(name) > NAME_MAX:
        lines.append(f"Code name {name!r} shortened to {NAME_MAX} characters.")
        return name[:NAME_MAX].rstrip()
    return name


def import_codes(*, project: Project, qda: QdaProject, user: User | None) -> CodeOutcome:
    """Create the file's codes that the codebook lacks (parents before children) and map every
    file code guid to a Verbatim code. Two file codes with the same path map to one code."""
    outcome = CodeOutcome()
    by_path = _existing_paths(project)
    created_ids: list[int] = []

    def walk(codes: list[QdaCode], parent: Code | None, parent_parts: list[str]) -> None:
        for position, qda_code in enumerate(codes):
            parts = [*parent_parts, _name(qda_code, outcome.not_carried)]
            key = _key(parts)
            path = SEPARATOR.join(parts)
            code = by_path.get(key)
            if code is None:
                code = _create(project, user, qda_code, parts[-1], parent, position)
                by_path[key] = code
                created_ids.append(code.pk)
                outcome.created.append(path)
            elif code.pk in created_ids:
                outcome.not_carried.append(
                    f"Two codes in the file have the path {path!r}: they became one code."
                )
            elif path not in outcome.reused:
                outcome.reused.append(path)
            if not qda_code.is_codable:
                outcome.not_codable.append(path)
            outcome.by_guid[guid(qda_code.guid)] = code
            walk(qda_code.children, code, parts)

    walk(qda.codes, None, [])
    if created_ids:
        change_record(
            project=project,
            user=user,
            action=CodebookChange.Action.IMPORT,
            summary=f"Imported {len(created_ids)} code(s) from a REFI-QDA project.",
            before=snapshot(),
            after=snapshot(codes=created_ids),
        )
    return outcome


def _create(
    project: Project,
    user: User | None,
    qda_code: QdaCode,
    name: str,
    parent: Code | None,
    position: int,
) -> Code:
    color = qda_code.color if HEX_COLOR.match(qda_code.color or "") else DEFAULT_CODE_COLOR
    code = Code(
        project=project,
        parent=parent,
        name=name,
        # Verbatim's export folds the inclusion/exclusion notes and example into Description.
        **split_code_description(qda_code.description.strip()),
        color=color.lower(),
        position=position,
        created_by=user,
    )
    try:
        _check_code(code)
    except ValidationError as exc:
        raise ValidationError(f"Code {name!r}: {'; '.join(exc.messages)}") from None
    code.save()
    return code
