"""The `<Sources>` of a REFI-QDA project -> `QdaSource`s (text only), and what is not carried.

Text comes from `PlainTextContent`, else the `plainTextPath` file (UTF-8, BOM or not), else —
when that is missing or blank — the words of the `richTextPath` .docx. A PDF source is carried
as the text source of its `Representation`. Pictures, audio, video, transcripts and PDF page
areas are not carried: each source adds one sentence to the report with its selections counted
per kind. Selection positions are converted by `coding.refi.positions`.
"""

from __future__ import annotations

import io
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from coding.refi.archive import RefiError
from coding.refi.model import QdaCoding, QdaSelection, QdaSource, VariableValue
from coding.refi.positions import PositionMap, Span, choose_counting, strip_bom
from coding.refi.xmlread import (
    attr,
    child,
    child_text,
    children,
    guid_of,
    local,
    ref_guid,
    timestamp,
)

SourceReader = Callable[[str], bytes | None]
ValueReader = Callable[[Element, str], tuple[str, VariableValue] | None]

_MEDIA_SELECTIONS = ("PictureSelection", "PDFSelection", "AudioSelection", "VideoSelection")


@dataclass
class SourceContext:
    """What reading sources needs from the project: file access, origin, the shared report."""

    read: SourceReader
    origin: str = ""
    value: ValueReader | None = None
    not_carried: list[str] = field(default_factory=list)


def read_sources(sources: Element | None, ctx: SourceContext) -> list[QdaSource]:
    """Every text source under `<Sources>`, in order; the rest reported in `ctx.not_carried`."""
    out: list[QdaSource] = []
    for element in [] if sources is None else list(sources):
        kind = local(element)
        if kind == "TextSource":
            source = _text_source(element, element, ctx)
        elif kind == "PDFSource":
            source = _pdf_source(element, ctx)
        else:
            source = None
            _report_media(element, ctx)
        if source is not None:
            out.append(source)
    return out


def _label(element: Element) -> str:
    name = unicodedata.normalize("NFC", attr(element, "name"))
    return f"'{name}' ({guid_of(element)})" if name else f"({guid_of(element)})"


def _pdf_source(element: Element, ctx: SourceContext) -> QdaSource | None:
    representation = child(element, "Representation")
    source = None if representation is None else _text_source(representation, element, ctx)
    carried = {selection.guid for selection in (source.selections if source else [])}
    # ATLAS.ti writes a text selection of a PDF twice: as a page area and in the text.
    areas = [s for s in children(element, "PDFSelection") if guid_of(s) not in carried]
    if representation is None:
        ctx.not_carried.append(
            f"PDFSource {_label(element)}: it has no plain-text Representation, so neither "
            f"it nor its {len(areas)} PDFSelection(s) can be carried; Verbatim holds text only"
        )
    elif areas:
        ctx.not_carried.append(
            f"{len(areas)} PDFSelection(s) (page areas) in PDFSource {_label(element)}: "
            "Verbatim holds text only"
        )
    return source


def _report_media(element: Element, ctx: SourceContext) -> None:
    counts: Counter[str] = Counter()
    for node in element.iter():
        name = local(node)
        if name in (*_MEDIA_SELECTIONS, "TranscriptSelection", "Transcript", "Coding"):
            counts[name] += 1
    parts = [f"{count} {name}(s)" for name, count in sorted(counts.items())]
    held = f" with {', '.join(parts)}" if parts else ""
    ctx.not_carried.append(
        f"{local(element)} {_label(element)}{held}: Verbatim holds text sources only"
    )


def _text_source(text: Element, outer: Element, ctx: SourceContext) -> QdaSource | None:
    """A `QdaSource` from a TextSource-typed element; `outer` gives its identity (the PDF
    source for a Representation). None, reported, when no text can be found."""
    label = f"{local(outer)} {_label(outer)}"
    raw = _load_text(text, label, ctx)
    elements = list(children(text, "PlainTextSelection"))
    if raw is None:
        paths = [p for p in (attr(text, "plainTextPath"), attr(text, "richTextPath")) if p]
        where = f" ({' or '.join(paths)} not in the archive)" if paths else ""
        ctx.not_carried.append(
            f"{label}: its text could not be found{where}; the source and its "
            f"{len(elements)} selection(s) were not carried"
        )
        return None
    spans = [_span(element) for element in elements]
    counting = choose_counting(raw, spans, ctx.origin)
    positions = PositionMap(raw, counting)
    source = QdaSource(
        guid=guid_of(outer),
        # NFC like the text, so a name typed decomposed matches one typed composed.
        name=unicodedata.normalize("NFC", attr(outer, "name") or attr(text, "name"))
        or guid_of(outer),
        text=positions.text,
        description=child_text(outer, "Description") or child_text(text, "Description"),
        user_guid=user_of(outer),
        created_at=timestamp(attr(outer, "creationDateTime")),
    )
    for element, span in zip(elements, spans, strict=True):
        converted = positions.convert(span.start, span.end)
        if converted is None:
            ctx.not_carried.append(
                f"PlainTextSelection {_label(element)} in {label}: positions "
                f"{span.start}-{span.end} do not fit its text ({positions.length} "
                f"{counting.describe()}); not carried"
            )
            continue
        source.selections.append(_selection(element, converted, ctx))
    for node in (outer, text) if outer is not text else (text,):
        source.codings.extend(_codings(node, "", ctx, label))
        source.note_guids.extend(ref_guid(ref) for ref in children(node, "NoteRef"))
        for value_element in children(node, "VariableValue"):
            value = ctx.value(value_element, label) if ctx.value else None
            if value is not None:
                source.variables[value[0]] = value[1]
    return source


def _span(element: Element) -> Span:
    def position(name: str) -> int:
        try:
            return int(attr(element, name).strip())
        except ValueError:
            return -1  # reported as not fitting, with the others

    return Span(position("startPosition"), position("endPosition"), attr(element, "name"))


def user_of(element: Element) -> str:
    """The element's creating user (else its modifying user) as a GUID, or ""."""
    for name in ("creatingUser", "modifyingUser"):
        if attr(element, name).strip():
            return guid_of(element, name)
    return ""


def _selection(element: Element, span: tuple[int, int], ctx: SourceContext) -> QdaSelection:
    user = user_of(element)
    label = f"PlainTextSelection {_label(element)}"
    return QdaSelection(
        guid=guid_of(element),
        start=span[0],
        end=span[1],
        name=attr(element, "name"),
        description=child_text(element, "Description"),
        user_guid=user,
        created_at=timestamp(attr(element, "creationDateTime")),
        codings=_codings(element, user, ctx, label),
        note_guids=[ref_guid(ref) for ref in children(element, "NoteRef")],
    )


def _codings(element: Element, user: str, ctx: SourceContext, label: str) -> list[QdaCoding]:
    """The element's Codings; a coding without a creatingUser is its selection's (`user`)."""
    out: list[QdaCoding] = []
    for coding in children(element, "Coding"):
        code_ref = child(coding, "CodeRef")
        code = ref_guid(code_ref) if code_ref is not None else ""
        if not code:
            ctx.not_carried.append(f"Coding {_label(coding)} of {label}: it names no code")
            continue
        out.append(
            QdaCoding(
                guid=guid_of(coding),
                code_guid=code,
                user_guid=user_of(coding) or user,
                created_at=timestamp(attr(coding, "creationDateTime")),
                note_guids=[ref_guid(ref) for ref in children(coding, "NoteRef")],
            )
        )
    return out


def _load_text(element: Element, label: str, ctx: SourceContext) -> str | None:
    """The source's raw text without BOM (not yet normalised), or None when none is found."""
    content = child(element, "PlainTextContent")
    if content is not None and (content.text or "").strip():
        return strip_bom(content.text or "")
    raw: str | None = None
    path = attr(element, "plainTextPath")
    data = ctx.read(path) if path else None
    if data is not None:
        raw = decode(data, path, ctx)
    if raw is None or not raw.strip():
        rich = attr(element, "richTextPath")
        docx = ctx.read(rich) if rich.lower().endswith(".docx") else None
        if docx is not None:
            return docx_text(docx, rich)
    return raw


def decode(data: bytes, path: str, ctx: SourceContext) -> str:
    """A source file's text: UTF-8 (the spec), with or without BOM; UTF-16 by its BOM; else
    read as Windows-1252 and reported, so the words arrive though a few may be wrong."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return strip_bom(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        ctx.not_carried.append(f"{path}: not UTF-8 as the spec requires; read as Windows-1252")
        return data.decode("cp1252", errors="replace")


def docx_text(data: bytes, path: str) -> str:
    """The words of a .docx, one paragraph a line (empty ones kept: tools count them), checked
    first by the observations importer's archive guard (zip bomb, entities)."""
    from docx import Document  # imported here: only projects that need it pay for it

    from observations.importers.base import ParseError
    from observations.importers.office import open_archive

    try:
        open_archive(path, data, ".docx", "word/document.xml")
        document = Document(io.BytesIO(data))
    except ParseError as exc:
        raise RefiError(str(exc)) from None
    except Exception:  # python-docx raises many types for broken parts; all are bad input here
        raise RefiError(f"{path}: not a valid .docx file (it cannot be read)") from None
    return "\n".join(paragraph.text for paragraph in document.paragraphs)
