"""Pure text helpers shared by every way text enters Verbatim. No ORM."""

import unicodedata

BOM = "\ufeff"


def normalise_text(text: str) -> str:
    """Return `text` as Verbatim stores it: BOM stripped, `\\n` line endings, Unicode NFC."""
    text = text.removeprefix(BOM)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def word_count(text: str) -> int:
    """Whitespace-separated words: a cheap size measure for lists and reports."""
    return len(text.split())
