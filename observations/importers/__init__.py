"""File parsers for transcript and survey import. Pure: bytes in, `ParsedDocument`s out.

`parse_file` is the one entry point: it picks the parser by extension (case-insensitive) and
raises `ParseError` (naming the file, and the line or row when known) for every bad input —
empty, unsupported type, binary, corrupt archive, over `options.max_chars`. Text is normalised
(NFC, `\\n`, no BOM) before any offset is computed. How turns are rendered into the text (each
turn `Name: words`, turn offsets covering the words only) is described in turns.py.
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
