"""Builders for REFI-QDA test archives: zips in memory, Annex A fixtures, plausible texts."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "refi"
FILLER = (
    "we talked about breakfast and the morning rush and what people eat before work while the "
    "kettle boils and the children look for their shoes "
)


def fixture(name: str) -> bytes:
    """A retyped Annex A example; a missing file fails naming it."""
    path = FIXTURES / name
    assert path.is_file(), f"missing fixture {path}"
    return path.read_bytes()


def qdpx(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> io.BytesIO:
    """A zip archive holding `entries` (name -> bytes), rewound."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def text_with(length: int, quotes: dict[int, str]) -> str:
    """Filler text of `length` code points with each quote placed at its position."""
    chars = list((FILLER * (length // len(FILLER) + 1))[:length])
    for start, quote in quotes.items():
        chars[start : start + len(quote)] = list(quote)
    return "".join(chars)[:length]


def tool_position(raw: str, index: int, unit: str, crlf_as_one: bool) -> int:
    """How a tool counting in `unit` numbers raw code-point index `index` (computed directly,
    not with the code under test)."""
    prefix = raw[:index]
    units = len(prefix.encode("utf-16-le")) // 2 if unit == "utf16" else len(prefix)
    return units - prefix.count("\r\n") if crlf_as_one else units


def docx_bytes(paragraphs: list[str]) -> bytes:
    """A Word document with one paragraph per item."""
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
