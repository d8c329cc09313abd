"""What every file parser returns, and how it reports bad input. Pure: no ORM, no Django models.

A parser turns one uploaded file (name + bytes) into one or more `ParsedDocument`s whose text is
already normalised (NFC, `\\n`, no BOM) and whose turn offsets index that text. The import service
maps speakers to participants or interviewers and writes everything in one transaction.
"""

from dataclasses import dataclass, field
from typing import Any


class ParseError(ValueError):
    """Bad input, with where it is: the file and, when known, the line (text) or row (tables)."""

    def __init__(
        self, filename: str, message: str, *, line: int | None = None, row: int | None = None
    ) -> None:
        self.filename = filename
        self.message = message
        self.line = line
        self.row = row
        where = f" line {line}" if line is not None else f" row {row}" if row is not None else ""
        super().__init__(f"{filename}{where}: {message}")

    def as_error(self) -> dict[str, Any]:
        """The API's error item: `{"file", "line" or "row", "message"}`."""
        error: dict[str, Any] = {"file": self.filename, "message": self.message}
        if self.line is not None:
            error["line"] = self.line
        if self.row is not None:
            error["row"] = self.row
        return error


@dataclass(frozen=True)
class ParsedTurn:
    """One speaker turn: `[start, end)` of the parsed text, timestamps in milliseconds."""

    speaker: str
    start: int
    end: int
    started_at_ms: int | None = None
    ended_at_ms: int | None = None


@dataclass
class ParsedDocument:
    """One codable text from a file. Survey rows carry the respondent and their attributes."""

    title: str
    text: str
    kind: str = "transcript"  # a `Document.Kind` value
    turns: list[ParsedTurn] = field(default_factory=list)
    respondent: str | None = None  # survey: the pseudonym or id column's value
    customer_ref: str | None = None  # survey: the customer-ref column's value, if chosen
    attributes: dict[str, Any] = field(default_factory=dict)  # survey: the other columns

    @property
    def speakers(self) -> list[str]:
        """Distinct speaker names in order of first appearance."""
        return list(dict.fromkeys(turn.speaker for turn in self.turns if turn.speaker))


@dataclass(frozen=True)
class ParseOptions:
    """Choices a person makes for tabular files (survey CSV/XLSX); ignored by other formats."""

    text_columns: tuple[str, ...] = ()
    respondent_column: str | None = None
    customer_ref_column: str | None = None
    max_chars: int = 2_000_000
