"""A REFI-QDA project as plain data: what export writes and import reads, with no ORM and no XML.

Export goes database -> `QdaProject` -> XML + `sources/`; import goes archive -> XML -> `QdaProject`
-> database. Keeping this middle step pure lets each half be tested alone (the Annex A fixtures
parse to a `QdaProject` whose counts the spec gives; a `QdaProject` written and read back is
unchanged) and keeps tool quirks (namespaces, path forms, position units) in the reader only.

Positions in a `QdaSelection` are always Python `str` indices (code points) into
`QdaSource.text`, end exclusive, whatever unit the exporting tool counted in: the reader converts.
GUIDs are kept as the file wrote them, normalised by `guid()`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

VariableType = Literal["Text", "Boolean", "Integer", "Float", "Date", "DateTime"]
VariableValue = str | bool | int | float | dt.date | dt.datetime | None


def guid(value: str) -> str:
    """The canonical form of a GUID as REFI-QDA files write it: no braces, upper case."""
    return value.strip().strip("{}").upper()


@dataclass
class QdaUser:
    guid: str
    name: str = ""
    # `id` in the XML: Verbatim writes the username here and matches on it first when importing.
    id: str = ""


@dataclass
class QdaCode:
    guid: str
    name: str
    is_codable: bool = True
    color: str = ""  # "#RRGGBB" or ""
    description: str = ""
    children: list[QdaCode] = field(default_factory=list)
    note_guids: list[str] = field(default_factory=list)


@dataclass
class QdaCoding:
    guid: str
    code_guid: str
    user_guid: str = ""
    created_at: dt.datetime | None = None
    # Notes on this one coding (CodingType allows NoteRef): Verbatim writes an excerpt's own
    # memo here (and on the selection, where other tools look), so import can tell which of
    # the selection's excerpts it belongs to.
    note_guids: list[str] = field(default_factory=list)


@dataclass
class QdaSelection:
    """A PlainTextSelection: `[start, end)` in code points of the source's text."""

    guid: str
    start: int
    end: int
    name: str = ""
    description: str = ""
    user_guid: str = ""
    created_at: dt.datetime | None = None
    codings: list[QdaCoding] = field(default_factory=list)
    note_guids: list[str] = field(default_factory=list)


@dataclass
class QdaSource:
    """A text source (TextSource, or the text Representation of a PDF source)."""

    guid: str
    name: str
    text: str = ""
    description: str = ""
    user_guid: str = ""
    created_at: dt.datetime | None = None
    selections: list[QdaSelection] = field(default_factory=list)
    # Codings of the whole source (TextSource/Coding), not of a selection.
    codings: list[QdaCoding] = field(default_factory=list)
    note_guids: list[str] = field(default_factory=list)
    variables: dict[str, VariableValue] = field(default_factory=dict)  # variable guid -> value


@dataclass
class QdaVariable:
    guid: str
    name: str
    type: VariableType = "Text"
    description: str = ""


@dataclass
class QdaCase:
    guid: str
    name: str = ""
    description: str = ""
    variables: dict[str, VariableValue] = field(default_factory=dict)  # variable guid -> value
    source_guids: list[str] = field(default_factory=list)
    selection_guids: list[str] = field(default_factory=list)
    code_guids: list[str] = field(default_factory=list)


@dataclass
class QdaNote:
    """A Note: a memo, or an annotation when a selection or source refers to it by NoteRef."""

    guid: str
    name: str = ""
    text: str = ""
    user_guid: str = ""
    created_at: dt.datetime | None = None
    # The text file (plainTextPath) the Note names and the archive lacks: import reports such
    # notes once, with what became of them, instead of also counting them as empty.
    missing_path: str = ""


@dataclass
class QdaProject:
    name: str
    origin: str = ""
    description: str = ""
    users: list[QdaUser] = field(default_factory=list)
    codes: list[QdaCode] = field(default_factory=list)  # top level; children nest
    variables: list[QdaVariable] = field(default_factory=list)
    cases: list[QdaCase] = field(default_factory=list)
    sources: list[QdaSource] = field(default_factory=list)
    notes: list[QdaNote] = field(default_factory=list)
    # What the reader met and could not carry over (spec section 7), one plain sentence each,
    # e.g. "3 PictureSelections in 'cornflakes-n-milk.jpg': Verbatim holds text only".
    not_carried: list[str] = field(default_factory=list)

    def all_codes(self) -> list[QdaCode]:
        """Every code, parents before their children."""
        out: list[QdaCode] = []
        stack = list(reversed(self.codes))
        while stack:
            code = stack.pop()
            out.append(code)
            stack.extend(reversed(code.children))
        return out
