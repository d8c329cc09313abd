"""`.docx` (python-docx) and `.odt` (odfpy) transcripts. Pure.

Both are zip archives, so the archive is checked before any library reads it: it must open,
hold its main XML part, and not expand absurdly (a zip bomb). The main part is also read once
with defusedxml, which refuses entity declarations (billion laughs, external entities) that the
libraries might otherwise expand. Paragraphs (and table rows) are then fed, one line each, to
the shared line parser, so speaker prefixes work exactly as in .txt; with no speakers the text
is the non-empty paragraphs joined by one `\\n`.
"""

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from observations.importers.base import ParsedDocument, ParseError, ParseOptions
from observations.importers.decode import check_length
from observations.importers.plaintext import title_from
from observations.importers.turns import looks_like_speaker, parse_lines
from observations.text import normalise_text

# An archive may expand to 50x its size, and always to 100 MB; beyond both it is refused.
MAX_EXPANSION = 50
EXPANSION_ALLOWANCE = 100 * 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc / .xls before 2007


def open_archive(filename: str, data: bytes, kind: str, main_part: str) -> zipfile.ZipFile:
    """The upload as a zip archive holding `main_part`, checked for damage, bombs and XML tricks.

    `kind` names the format in messages (".docx"). Raises ParseError for anything else.
    """
    damaged = f"not a valid {kind} file (the archive is damaged or incomplete)"
    if data.startswith(_OLE_MAGIC):
        message = f"not a valid {kind} file: it is an old-style Office file; save it as {kind}"
        raise ParseError(filename, message)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ParseError(filename, damaged) from None
    expanded = sum(member.file_size for member in members)
    if expanded > MAX_EXPANSION * len(data) and expanded > EXPANSION_ALLOWANCE:
        raise ParseError(
            filename,
            f"the {kind} archive would expand to {expanded // 2**20:,} MB; refused as unsafe",
        )
    if main_part not in archive.namelist():
        raise ParseError(filename, f"{damaged}: {main_part} is missing")
    try:
        SafeET.fromstring(archive.read(main_part))
    except DefusedXmlException:
        raise ParseError(filename, f"the {kind} file declares XML entities; refused") from None
    except Exception:  # zlib, CRC and XML errors all mean the same thing to the uploader
        raise ParseError(filename, f"{damaged}: {main_part} cannot be read") from None
    return archive


def parse_docx(filename: str, data: bytes, options: ParseOptions) -> list[ParsedDocument]:
    """One transcript from a Word document's body paragraphs and table rows, in order."""
    open_archive(filename, data, ".docx", "word/document.xml")
    try:
        lines = list(_docx_lines(data))
    except Exception:  # python-docx raises many types for broken parts; all are bad input here
        raise ParseError(filename, "not a valid .docx file (it cannot be read)") from None
    return _document(filename, lines, options)


def parse_odt(filename: str, data: bytes, options: ParseOptions) -> list[ParsedDocument]:
    """One transcript from an OpenDocument text's paragraphs and headings, in order."""
    open_archive(filename, data, ".odt", "content.xml")
    try:
        lines = list(_odt_lines(data))
    except Exception:  # odfpy raises many types for broken parts; all are bad input here
        raise ParseError(filename, "not a valid .odt file (it cannot be read)") from None
    return _document(filename, lines, options)


def _document(filename: str, lines: list[str], options: ParseOptions) -> list[ParsedDocument]:
    lines = [line for line in normalise_text("\n".join(lines)).split("\n") if line.strip()]
    if not lines:
        raise ParseError(filename, "the document has no text")
    check_length(filename, "\n".join(lines), options.max_chars)
    text, turns = parse_lines(filename, lines)
    check_length(filename, text, options.max_chars)
    return [ParsedDocument(title=title_from(filename), text=text, turns=turns)]


def _docx_lines(data: bytes) -> Iterator[str]:
    import docx  # imported here: only uploads of this type pay for it
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                yield _row_line([cell.text for cell in row.cells])
        else:
            yield _docx_text(block._p)


def _docx_text(paragraph: Any) -> str:
    """A paragraph's text as accepted: tracked insertions, hyperlinks and content controls
    included (python-docx's `.text` skips all but hyperlinks), deletions and text boxes not."""
    runs = paragraph.xpath(".//w:r[not(ancestor::w:del) and not(ancestor::w:txbxContent)]")
    return "".join(run.text for run in runs)


def _row_line(cells: list[str]) -> str:
    """A transcript table row (`Speaker | words`, `Time | Speaker | words`) as a speaker line."""
    values = [cell.strip() for cell in dict.fromkeys(cells) if cell.strip()]  # merged cells repeat
    if len(values) == 2 and looks_like_speaker(values[0]):
        return f"{values[0]}: {values[1]}"
    if len(values) == 3 and looks_like_speaker(values[1]) and values[0][:1].isdigit():
        return f"[{values[0]}] {values[1]}: {values[2]}"
    return "\n".join(values)


def _odt_lines(data: bytes) -> Iterator[str]:
    from odf.opendocument import load  # imported here: only uploads of this type pay for it

    blocks = {(_TEXT_NS, "p"), (_TEXT_NS, "h")}

    def walk(node: Any) -> Iterator[str]:
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname in blocks:
                yield _odt_text(child)
            elif child.nodeType == child.ELEMENT_NODE and qname not in _ODT_SKIP:
                yield from walk(child)

    yield from walk(load(io.BytesIO(data)).text)


_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
# Not spoken words: comments, footnotes, and the deleted text that tracked changes keep.
_ODT_SKIP = {(_OFFICE_NS, "annotation"), (_TEXT_NS, "note"), (_TEXT_NS, "tracked-changes")}
_ODT_BREAKS = {(_TEXT_NS, "line-break"): "\n", (_TEXT_NS, "tab"): "\t"}


def _odt_text(element: Any) -> str:
    """A paragraph's text, as odfpy's teletype.extractText but without comments and notes."""
    parts: list[str] = []
    for child in element.childNodes:
        if child.nodeType == child.TEXT_NODE:
            parts.append(child.data)
        elif child.qname in _ODT_BREAKS:
            parts.append(_ODT_BREAKS[child.qname])
        elif child.qname == (_TEXT_NS, "s"):
            parts.append(" " * int(child.getAttribute("c") or 1))
        elif child.qname not in _ODT_SKIP:
            parts.append(_odt_text(child))
    return "".join(parts)
