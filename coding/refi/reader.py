"""REFI-QDA files as real tools write them -> `QdaProject`. Pure: no ORM, nothing on disk.

`read_qdpx` opens the archive safely (`coding.refi.archive`), `read_project_xml` reads a
`.qde` given a way to fetch its internal files, `read_qdc` reads a codebook. The reader is
tolerant (see `xmlread` for namespaces and attributes, `reader_sources` for text and paths,
`positions` for position units) and records in `QdaProject.not_carried` every element it
met and cannot carry into Verbatim (spec section 7), one sentence each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import IO
from xml.etree.ElementTree import Element

from coding.refi.archive import RefiError, open_qdpx
from coding.refi.model import (
    QdaCase,
    QdaCode,
    QdaNote,
    QdaProject,
    QdaUser,
    QdaVariable,
    VariableType,
    VariableValue,
)
from coding.refi.reader_sources import SourceContext, decode, read_sources, user_of
from coding.refi.xmlread import (
    attr,
    boolean,
    child,
    child_text,
    children,
    colour,
    guid_of,
    local,
    parse,
    ref_guid,
    timestamp,
)

_TYPES: dict[str, VariableType] = {
    "text": "Text",
    "boolean": "Boolean",
    "integer": "Integer",
    "float": "Float",
    "date": "Date",
    "datetime": "DateTime",
}


def read_qdpx(fileobj: IO[bytes]) -> QdaProject:
    """The project in a `.qdpx` archive; RefiError naming the entry for anything unsafe."""
    archive = open_qdpx(fileobj)
    return read_project_xml(archive.project_xml(), archive.source, entry=archive.project_entry)


def read_qdc(data: bytes, entry: str = "codebook.qdc") -> QdaProject:
    """The codes of a `.qdc` codebook (a `CodeBook` root, or a project's) as a project holding
    codes only; its Sets are reported as not carried."""
    root = parse(data, entry)
    project = QdaProject(name=attr(root, "name") or "Codebook", origin=attr(root, "origin"))
    if local(root) == "Project":
        codebook = child(root, "CodeBook")
        root = codebook if codebook is not None else Element("CodeBook")
    elif local(root) != "CodeBook":
        raise RefiError(f"{entry}: the root element is <{local(root)}>, not <CodeBook>")
    project.codes = _codes(child(root, "Codes"))
    _report_sets(child(root, "Sets"), project.not_carried)
    return project


def read_project_xml(
    xml_bytes: bytes,
    sources: Callable[[str], bytes | None],
    *,
    entry: str = "project.qde",
) -> QdaProject:
    """The project a `.qde` describes; `sources(path)` returns an internal file's bytes (for
    `plainTextPath`, `richTextPath`, a Note's path) or None when the archive lacks it."""
    root = parse(xml_bytes, entry)
    if local(root) != "Project":
        raise RefiError(f"{entry}: the root element is <{local(root)}>, not <Project>")
    project = QdaProject(
        name=attr(root, "name") or "Imported project",
        origin=attr(root, "origin"),
        description=child_text(root, "Description"),
    )
    report = project.not_carried
    project.users = [
        QdaUser(guid=guid_of(user), name=attr(user, "name"), id=attr(user, "id"))
        for users in children(root, "Users")
        for user in children(users, "User")
    ]
    codebook = child(root, "CodeBook")
    project.codes = _codes(child(codebook, "Codes") if codebook is not None else None)
    project.variables = [
        _variable(variable)
        for variables in children(root, "Variables")
        for variable in children(variables, "Variable")
    ]
    types = {variable.guid: variable.type for variable in project.variables}

    def value(element: Element, where: str) -> tuple[str, VariableValue] | None:
        return _value(element, types, where, report)

    ctx = SourceContext(read=sources, origin=project.origin, value=value, not_carried=report)
    project.sources = read_sources(child(root, "Sources"), ctx)
    project.cases = _cases(child(root, "Cases"), project, value)
    project.notes = [_note(note, ctx) for notes in children(root, "Notes") for note in notes]
    _report_sets(child(root, "Sets"), report)
    for name in ("Links", "Graphs"):
        element = child(root, name)
        items = list(element) if element is not None else []
        if items:
            report.append(f"{len(items)} {name[:-1]}(s){_names(items)}: Verbatim has no {name}")
    return project


def _codes(codes: Element | None) -> list[QdaCode]:
    return [] if codes is None else [_code(code) for code in children(codes, "Code")]


def _code(element: Element) -> QdaCode:
    return QdaCode(
        guid=guid_of(element),
        name=attr(element, "name") or "(unnamed code)",
        is_codable=boolean(attr(element, "isCodable"), True),
        color=colour(attr(element, "color")),
        description=child_text(element, "Description"),
        children=[_code(code) for code in children(element, "Code")],
        note_guids=[ref_guid(ref) for ref in children(element, "NoteRef")],
    )


def _variable(element: Element) -> QdaVariable:
    declared = attr(element, "typeOfVariable").strip().lower()
    return QdaVariable(
        guid=guid_of(element),
        name=attr(element, "name") or guid_of(element),
        type=_TYPES.get(declared, "Text"),
        description=child_text(element, "Description"),
    )


def _value(
    element: Element, types: dict[str, VariableType], where: str, report: list[str]
) -> tuple[str, VariableValue] | None:
    """A VariableValue as (variable guid, typed value); unreadable values are kept as text."""
    ref = child(element, "VariableRef")
    variable = ref_guid(ref) if ref is not None else ""
    if not variable:
        report.append(f"a VariableValue of {where} names no variable; not carried")
        return None
    for node in element:
        kind = local(node).removesuffix("Value")
        if kind in _TYPES.values():
            # TextValue is xsd:string: its spaces are the value's; typed values may be padded.
            text = (node.text or "") if kind == "Text" else (node.text or "").strip()
            try:
                return variable, _typed(kind, text)
            except (ValueError, InvalidOperation):
                report.append(f"{kind}Value {text!r} of {where} is not a {kind}; kept as text")
                return variable, text
    return variable, None


def _typed(kind: str, text: str) -> VariableValue:
    if kind == "Boolean":
        if text.lower() not in {"true", "false", "1", "0"}:
            raise ValueError(text)
        return text.lower() in {"true", "1"}
    if kind == "Integer":
        return int(text)
    if kind == "Float":
        return float(Decimal(text))
    if kind == "Date":
        return dt.date.fromisoformat(text)
    if kind == "DateTime":
        parsed = timestamp(text)
        if parsed is None:
            raise ValueError(text)
        return parsed
    return text


def _cases(
    cases: Element | None,
    project: QdaProject,
    value: Callable[[Element, str], tuple[str, VariableValue] | None],
) -> list[QdaCase]:
    """Named Cases as cases; a nameless Case referring to sources carries document variables
    (MAXQDA writes them so), which go onto those sources instead."""
    by_guid = {source.guid: source for source in project.sources}
    out: list[QdaCase] = []
    for element in [] if cases is None else children(cases, "Case"):
        case = QdaCase(
            guid=guid_of(element),
            name=attr(element, "name").strip(),
            description=child_text(element, "Description"),
            source_guids=[ref_guid(ref) for ref in children(element, "SourceRef")],
            selection_guids=[ref_guid(ref) for ref in children(element, "SelectionRef")],
            code_guids=[ref_guid(ref) for ref in children(element, "CodeRef")],
        )
        label = f"Case '{case.name}' ({case.guid})" if case.name else f"Case ({case.guid})"
        for value_element in children(element, "VariableValue"):
            found = value(value_element, label)
            if found is not None:
                case.variables[found[0]] = found[1]
        targets = [by_guid[guid] for guid in case.source_guids if guid in by_guid]
        if not case.name and case.source_guids and not case.selection_guids:
            for source in targets:
                source.variables.update(case.variables)
            if len(targets) < len(case.source_guids):
                project.not_carried.append(
                    f"{label}: document variables for {len(case.source_guids) - len(targets)} "
                    "source(s) that were not carried"
                )
            continue
        out.append(case)
    return out


def _note(element: Element, ctx: SourceContext) -> QdaNote:
    """A Note's text: PlainTextContent or its file; a Description comes first when both exist.
    A text file the archive lacks is kept in `QdaNote.missing_path` (import reports it once,
    with what became of the note)."""
    content = child(element, "PlainTextContent")
    text = (content.text or "") if content is not None else ""
    path = attr(element, "plainTextPath")
    missing = ""
    if not text.strip() and path:
        data = ctx.read(path)
        if data is None:
            missing = path
        else:
            text = decode(data, path, ctx)
    description = child_text(element, "Description").strip()
    if description and description != text.strip():
        text = f"{description}\n\n{text}" if text.strip() else description
    return QdaNote(
        guid=guid_of(element),
        name=attr(element, "name"),
        text=text.removeprefix("\ufeff"),
        user_guid=user_of(element),
        created_at=timestamp(attr(element, "creationDateTime")),
        missing_path=missing,
    )


def _report_sets(sets: Element | None, report: list[str]) -> None:
    items = [] if sets is None else list(children(sets, "Set"))
    if items:
        report.append(f"{len(items)} Set(s){_names(items)}: Verbatim has no sets")


def _names(items: list[Element], shown: int = 5) -> str:
    names = [f"'{attr(item, 'name')}'" for item in items if attr(item, "name")]
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f" ({', '.join(names[:shown])}{more})" if names else ""


__all__ = ["RefiError", "read_project_xml", "read_qdc", "read_qdpx"]
