"""`.txt` transcripts: decode, then the shared line parser (turns.py). Pure."""

from observations.importers.base import ParsedDocument, ParseOptions
from observations.importers.decode import decode_text
from observations.importers.turns import parse_lines


def parse_txt(filename: str, data: bytes, options: ParseOptions) -> list[ParsedDocument]:
    """One transcript document; turns as described in turns.py, none for plain prose."""
    text = decode_text(filename, data, max_chars=options.max_chars)
    body, turns = parse_lines(filename, text.split("\n"))
    return [ParsedDocument(title=title_from(filename), text=body, turns=turns)]


def title_from(filename: str) -> str:
    """The file name without folders or extension, underscores read as spaces."""
    stem = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return stem.replace("_", " ").strip() or filename
