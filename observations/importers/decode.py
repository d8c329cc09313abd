"""Bytes of a text upload (txt, vtt, srt, csv) to Verbatim's normalised text. Pure.

Order of trust: a byte-order mark (UTF-8, UTF-16, UTF-32) wins; then strict UTF-8, because text
that decodes as UTF-8 almost never is anything else; then charset-normalizer's best guess when it
recognised a language; else Windows-1252 (what Word and Excel still write on Windows) if the
bytes read as plausible Western text, since short samples fool the detector; else its guess.
Binary content is refused rather than decoded into mojibake: known binary signatures, NUL bytes
outside UTF-16, or too many control characters after decoding.
"""

import codecs
import re

from charset_normalizer import from_bytes

from observations.importers.base import ParseError
from observations.text import normalise_text

BINARY = "looks like a binary file, not text"

# Signatures of formats people upload by mistake (PDF, zip/docx, images, old Office, gzip).
_BINARY_MAGIC = (b"%PDF-", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control characters that never occur in real text (tab, newline, CR and form feed do).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_RATIO = 0.01
# charset-normalizer's guess is trusted when it recognised a language this well.
_SURE = 0.1
# What Western European text in cp1252 contains beyond ASCII: letters, typographic punctuation.
_WESTERN = frozenset(
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßŒœŠšŽžŸ"
    "“”‘’„‚–—…€•·«»‹›¡¿©®™°£¥§¶\u00a0"
)
_MAX_ACCENTED = 0.3
# Bytes that are not UTF-8 come back from `surrogateescape` as lone surrogates U+DC80..U+DCFF.
_STRAY = re.compile("[\udc80-\udcff]+")
_UTF8_NON_ASCII = re.compile("[\u0080-\udc7f\udd00-\U0010ffff]")


def decode_text(filename: str, data: bytes, *, max_chars: int) -> str:
    """Return the upload decoded and normalised (NFC, `\\n`, no BOM), never empty.

    Raises ParseError for an empty or whitespace-only file, binary content, undecodable bytes
    and text longer than `max_chars` characters.
    """
    if not data.strip():
        raise ParseError(filename, "the file is empty")
    text = normalise_text(_decode(filename, data))
    if not text.strip():
        raise ParseError(filename, "the file is empty")
    controls = len(_CONTROL.findall(text))
    if controls and controls > _MAX_CONTROL_RATIO * len(text):
        raise ParseError(filename, BINARY)
    check_length(filename, text, max_chars)
    return text


def check_length(filename: str, text: str, max_chars: int) -> None:
    """Raise ParseError when `text` is over the character limit."""
    if len(text) > max_chars:
        raise ParseError(
            filename, f"the text has {len(text):,} characters; the limit is {max_chars:,}"
        )


def _decode(filename: str, data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise ParseError(filename, f"{BINARY} (invalid {encoding.upper()})") from None
    if data.startswith(_BINARY_MAGIC):
        raise ParseError(filename, BINARY)
    if b"\x00" in data:
        guessed = _utf16_without_bom(data)
        if guessed is None:
            raise ParseError(filename, BINARY)
        return guessed
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    mixed = _utf8_with_cp1252_bytes(data)
    if mixed is not None:
        return mixed
    best = from_bytes(data).best()
    if best is not None and best.coherence >= _SURE:
        return data.decode("cp1252") if "cp1252" in best.could_be_from_charset else str(best)
    western = _plausible_cp1252(data)
    if western is not None:
        return western
    if best is None:
        raise ParseError(filename, BINARY)
    return str(best)


def _utf8_with_cp1252_bytes(data: bytes) -> str | None:
    """Mostly UTF-8 with a few Windows-1252 bytes pasted in (a file edited in two tools): each
    valid UTF-8 sequence read as UTF-8, each stray byte as Windows-1252, so neither half turns
    into mojibake. None when there is no multi-byte UTF-8 sequence (the file is simply not
    UTF-8) or a stray byte has no Windows-1252 meaning."""
    text = data.decode("utf-8", errors="surrogateescape")
    if not _UTF8_NON_ASCII.search(text):
        return None
    try:
        return _STRAY.sub(
            lambda m: bytes(ord(c) - 0xDC00 for c in m.group()).decode("cp1252"), text
        )
    except UnicodeDecodeError:
        return None


def _plausible_cp1252(data: bytes) -> str | None:
    """`data` as Windows-1252 when it reads like Western text, else None.

    charset-normalizer needs words in a known language; on a short answer ("Le café était
    “fermé”") it may guess a Baltic code page. Western text has few accented letters among
    plain ones and no stray symbols, which Cyrillic, Greek or Polish bytes read as cp1252 do.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    foreign = {char for char in text if ord(char) > 127}
    if not foreign <= _WESTERN:
        return None
    letters = sum(char.isalpha() for char in text)
    accented = sum(char.isalpha() for char in text if ord(char) > 127)
    return text if accented <= _MAX_ACCENTED * letters else None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII text has a NUL in every other byte."""
    if len(data) % 2:
        return None
    half = len(data) // 2
    for encoding, zeros in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
        if zeros.count(0) >= 0.9 * half:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None
