"""File parsers for transcript and survey import. Pure: bytes in, `ParsedDocument`s out.

`parse_file` is the one entry point: it picks the parser by extension (case-insensitive) and
raises `ParseError` (naming the file, and the line or row when known) for every bad input —
empty, unsupported type, binary, damaged or unsafe archive, over `options.max_chars`. Text is
decoded (decode.py) and normalised (NFC, `\n`, no BOM) before any offset is computed.

How a transcript is written into `ParsedDocument.text` (turns.py, captions.py):
- each turn is one line `Name: words` (a turn's own line breaks kept), turns joined by `\n`,
  after any preamble (a title paragraph, a "Date: ..." line) that belongs to no turn;
- `text[turn.start:turn.end]` is exactly the spoken words, never the label or a timestamp, so
  excerpts and "customer words only" analyses use what was said;
- timestamps are milliseconds; where a format gives only starts (Otter, `[mm:ss]`), a turn ends
  when the next one starts;
- text with no recognisable speakers is kept as it was, with no turns at all.
Surveys (tables.py) give one `kind="survey"` document per answered row, without turns.
"""

from collections.abc import Callable

from observations.importers.base import ParsedDocument, ParsedTurn, ParseError, ParseOptions
from observations.importers.captions import parse_srt, parse_vtt
from observations.importers.office import parse_docx, parse_odt
from observations.importers.plaintext import parse_txt
from observations.importers.tables import parse_csv, parse_xlsx, table_columns

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ParseError",
    "ParseOptions",
    "ParsedDocument",
    "ParsedTurn",
    "parse_file",
    "survey_columns",
]

Parser = Callable[[str, bytes, ParseOptions], list[ParsedDocument]]

_PARSERS: dict[str, Parser] = {
    ".txt": parse_txt,
    ".docx": parse_docx,
    ".odt": parse_odt,
    ".vtt": parse_vtt,
    ".srt": parse_srt,
    ".csv": parse_csv,
    ".xlsx": parse_xlsx,
}

_DEFAULT_OPTIONS = ParseOptions()  # frozen, so one shared default is safe

SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(_PARSERS)


def parse_file(
    filename: str, data: bytes, options: ParseOptions = _DEFAULT_OPTIONS
) -> list[ParsedDocument]:
    """Parse one uploaded file into documents (one for transcripts, one per row for surveys).

    Raises ParseError for any bad input; never returns an empty list.
    """
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    parser = _PARSERS.get(extension)
    if parser is None:
        found = f"a {extension} file" if extension else "a file without an extension"
        raise ParseError(
            filename,
            f"{found} cannot be imported; supported types: {', '.join(SUPPORTED_EXTENSIONS)}",
        )
    if not data:
        raise ParseError(filename, "the file is empty")
    return parser(filename, data, options)


def survey_columns(
    filename: str, data: bytes, options: ParseOptions = _DEFAULT_OPTIONS
) -> list[str]:
    """The column names of a survey .csv/.xlsx (what `ParseOptions` columns must match); [] for
    other file types. Raises ParseError when the table cannot be read."""
    if not filename.lower().endswith((".csv", ".xlsx")):
        return []
    if not data:
        raise ParseError(filename, "the file is empty")
    return table_columns(filename, data, options.max_chars)
