"""Write a `QdaProject` as REFI-QDA XML: `project.qde`, a `.qdpx` archive, a `.qdc` codebook.

Guarantees: the output validates against the spec's Project.xsd / Codebook.xsd (containers the
schema requires to be non-empty are left out when empty); the same `QdaProject` always gives
the same bytes (attributes in a fixed order, no export time, fixed zip timestamps, entries in a
fixed order); each text source is written as `sources/<GUID>.txt`, UTF-8 without BOM, exactly
its `text`, so positions are code points of that text.

XML 1.0 cannot hold most control characters (U+0000-U+001F except tab, LF and CR), lone
surrogates, U+FFFE and U+FFFF, even escaped. They are removed from names, descriptions and note
texts (`xml_text`); source texts are not XML and keep them, so positions never shift.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from decimal import Decimal
from typing import IO

from lxml import etree

from coding.refi.model import (
    QdaCode,
    QdaCoding,
    QdaNote,
    QdaProject,
    QdaSelection,
    QdaSource,
    VariableValue,
)

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
# The spec's limit on one internal file (section 8.5).
MAX_SOURCE_BYTES = 2**31 - 1
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Fixed, so two exports of the same data are the same bytes (zip's epoch is 1980).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("", value)


def source_file_name(source: QdaSource) -> str:
    """The archive member holding a text source's plain text."""
    return f"sources/{source.guid}.txt"


def _time(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


def _value_text(value: VariableValue) -> tuple[str, str]:
    """The VariableValue child element's name and text for `value`."""
    if isinstance(value, bool):
        return "BooleanValue", "true" if value else "false"
    if isinstance(value, int):
        return "IntegerValue", str(value)
    if isinstance(value, float):
        # xsd:decimal has no exponent: 1e-07 must be written 0.0000001.
        return "FloatValue", format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        return "DateTimeValue", _time(value)
    if isinstance(value, dt.date):
        return "DateValue", value.isoformat()
    return "TextValue", xml_text(str(value))


class _Builder:
    """Builds elements in one namespace, with attributes in the order given, empties skipped."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def root(self, tag: str, **attrs: str | None) -> etree._Element:
        element = etree.Element(f"{{{self.ns}}}{tag}", nsmap={None: self.ns})
        self._set(element, attrs)
        return element

    def sub(self, parent: etree._Element, tag: str, **attrs: str | None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{self.ns}}}{tag}")
        self._set(element, attrs)
        return element

    def text(self, parent: etree._Element, tag: str, value: str) -> None:
        if value:
            self.sub(parent, tag).text = xml_text(value)

    def refs(self, parent: etree._Element, tag: str, guids: list[str]) -> None:
        for guid in guids:
            self.sub(parent, tag, targetGUID=guid)

    @staticmethod
    def _set(element: etree._Element, attrs: dict[str, str | None]) -> None:
        for name, value in attrs.items():
            if value is not None and value != "":
                element.set(name, xml_text(value))


def _dump(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _code(b: _Builder, parent: etree._Element, code: QdaCode, notes: bool) -> None:
    element = b.sub(
        parent,
        "Code",
        guid=code.guid,
        name=code.name,
        isCodable="true" if code.is_codable else "false",
        color=code.color or None,
    )
    b.text(element, "Description", code.description)
    if notes:  # the codebook schema has no NoteRef
        b.refs(element, "NoteRef", code.note_guids)
    for child in code.children:
        _code(b, element, child, notes)


def write_codebook_xml(qda: QdaProject) -> bytes:
    """The code tree as a `.qdc` (CodeBook in urn:QDA-XML:codebook:1.0).

    Raises ValueError when there is no code: the schema requires at least one."""
    if not qda.codes:
        raise ValueError("The project has no codes: a REFI-QDA codebook needs at least one.")
    b = _Builder(CODEBOOK_NS)
    root = b.root("CodeBook", origin=qda.origin)
    codes = b.sub(root, "Codes")
    for code in qda.codes:
        _code(b, codes, code, notes=False)
    return _dump(root)


def _variable_values(b: _Builder, parent: etree._Element, values: dict[str, VariableValue]) -> None:
    for guid, value in values.items():
        if value is None:
            continue
        element = b.sub(parent, "VariableValue")
        b.sub(element, "VariableRef", targetGUID=guid)
        tag, text = _value_text(value)
        b.sub(element, tag).text = text


def _coding(b: _Builder, parent: etree._Element, coding: QdaCoding) -> None:
    element = b.sub(
        parent,
        "Coding",
        guid=coding.guid,
        creatingUser=coding.user_guid,
        creationDateTime=_time(coding.created_at) if coding.created_at else None,
    )
    b.sub(element, "CodeRef", targetGUID=coding.code_guid)
    b.refs(element, "NoteRef", coding.note_guids)


def _selection(b: _Builder, parent: etree._Element, selection: QdaSelection) -> None:
    element = b.sub(
        parent,
        "PlainTextSelection",
        guid=selection.guid,
        name=selection.name,
        startPosition=str(selection.start),
        endPosition=str(selection.end),
        creatingUser=selection.user_guid,
        creationDateTime=_time(selection.created_at) if selection.created_at else None,
    )
    b.text(element, "Description", selection.description)
    for coding in selection.codings:
        _coding(b, element, coding)
    b.refs(element, "NoteRef", selection.note_guids)


def _source(b: _Builder, parent: etree._Element, source: QdaSource) -> None:
    element = b.sub(
        parent,
        "TextSource",
        guid=source.guid,
        name=source.name,
        plainTextPath=f"internal://{source.guid}.txt",
        creatingUser=source.user_guid,
        creationDateTime=_time(source.created_at) if source.created_at else None,
    )
    b.text(element, "Description", source.description)
    for selection in source.selections:
        _selection(b, element, selection)
    for coding in source.codings:
        _coding(b, element, coding)
    b.refs(element, "NoteRef", source.note_guids)
    _variable_values(b, element, source.variables)


def _note(b: _Builder, parent: etree._Element, note: QdaNote) -> None:
    element = b.sub(
        parent,
        "Note",
        guid=note.guid,
        name=note.name,
        creatingUser=note.user_guid,
        creationDateTime=_time(note.created_at) if note.created_at else None,
    )
    # PlainTextContent rather than a file: the schema allows either, and notes are short.
    b.sub(element, "PlainTextContent").text = xml_text(note.text)


def write_project_xml(qda: QdaProject) -> bytes:
    """`project.qde`: the Project element in urn:QDA-XML:project:1.0, sources by internal path."""
    b = _Builder(PROJECT_NS)
    root = b.root("Project", name=qda.name or "Untitled", origin=qda.origin)
    if qda.users:
        users = b.sub(root, "Users")
        for user in qda.users:
            b.sub(users, "User", guid=user.guid, name=user.name, id=user.id)
    if qda.codes:
        codes = b.sub(b.sub(root, "CodeBook"), "Codes")
        for code in qda.codes:
            _code(b, codes, code, notes=True)
    if qda.variables:
        variables = b.sub(root, "Variables")
        for variable in qda.variables:
            element = b.sub(
                variables,
                "Variable",
                guid=variable.guid,
                name=variable.name or variable.guid,
                typeOfVariable=variable.type,
            )
            b.text(element, "Description", variable.description)
    if qda.cases:
        cases = b.sub(root, "Cases")
        for case in qda.cases:
            element = b.sub(cases, "Case", guid=case.guid, name=case.name)
            b.text(element, "Description", case.description)
            b.refs(element, "CodeRef", case.code_guids)
            _variable_values(b, element, case.variables)
            b.refs(element, "SourceRef", case.source_guids)
            b.refs(element, "SelectionRef", case.selection_guids)
    if qda.sources:
        sources = b.sub(root, "Sources")
        for source in qda.sources:
            _source(b, sources, source)
    if qda.notes:
        notes = b.sub(root, "Notes")
        for note in qda.notes:
            _note(b, notes, note)
    b.text(root, "Description", qda.description)
    return _dump(root)


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever the exporting host
    info.external_attr = 0o644 << 16
    return info


def write_qdpx(qda: QdaProject, fileobj: IO[bytes]) -> None:
    """Write the `.qdpx` archive to `fileobj`: `project.qde`, then `sources/<GUID>.txt` in the
    order of `qda.sources`. Raises ValueError if a source is larger than the spec allows."""
    texts = [(source_file_name(s), s.text.encode("utf-8")) for s in qda.sources]
    for name, data in texts:
        if len(data) > MAX_SOURCE_BYTES:
            raise ValueError(f"{name} is {len(data)} bytes; REFI-QDA allows {MAX_SOURCE_BYTES}.")
    with zipfile.ZipFile(fileobj, "w") as archive:
        archive.writestr(_entry("project.qde"), write_project_xml(qda))
        for name, data in texts:
            archive.writestr(_entry(name), data)
