"""Processing a document after its text is stored: checks now, the spaCy ingest next."""

from django.core.exceptions import ValidationError

from observations.models import Document


def document_process(*, document: Document) -> dict[str, int]:
    """Check a document's turns against its text and mark it ready; returns its statistics.

    Idempotent: running it again on a ready document gives the same result.
    """
    from observations.text import word_count

    turns = list(document.turns.order_by("index"))
    document.status = Document.Status.PROCESSING
    document.save(update_fields=["status"])
    for turn in turns:
        if turn.end > len(document.text):
            document.status = Document.Status.FAILED
            document.save(update_fields=["status"])
            raise ValidationError(f"Turn {turn.index} ends beyond the text of {document.title!r}.")
    document.char_count = len(document.text)
    document.status = Document.Status.READY
    document.save(update_fields=["char_count", "status"])
    return {
        "document": document.pk,
        "characters": document.char_count,
        "words": word_count(document.text),
        "turns": len(turns),
    }
