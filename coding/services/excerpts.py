"""Writes to excerpts: one coder's application of a code to a span of a document."""

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.hypotheses import data_changed
from coding.models import Code, Excerpt, Suggestion
from observations.models import Document
from research.concurrency import version_claim
from research.models import User
from research.validation import check_in_project


def _check_span(document: Document, start: int, end: int) -> str:
    if not 0 <= start < end:
        raise ValidationError({"start": "Need 0 <= start < end."})
    if end > len(document.text):
        raise ValidationError(
            {"end": f"End {end} is beyond the document's {len(document.text)} characters."}
        )
    quote = document.text[start:end]
    if not quote.strip():
        raise ValidationError({"start": "The selected span holds only white space."})
    return quote


@transaction.atomic
def excerpt_create(
    *,
    document: Document,
    code: Code,
    start: int,
    end: int,
    coder: User,
    memo: str = "",
    text: str | None = None,
    suggestion: Suggestion | None = None,
) -> Excerpt:
    """Apply `code` to `[start, end)` of `document` and store the quote.

    If the caller sends the `text` it saw, it must equal the document's text at that span, so a
    client working from a stale copy cannot code the wrong words. `suggestion` records the
    suggestion a coder accepted to make this excerpt (provenance; see coding.suggest.services).
    """
    check_in_project(document.project, "code", code)
    if code.is_archived:
        raise ValidationError({"code": f"{code.name!r} is archived."})
    quote = _check_span(document, start, end)
    if text is not None and text != quote:
        raise ValidationError({"text": "Does not match the document at these offsets."})
    data_changed(document.project_id)
    return Excerpt.objects.create(
        project=document.project,
        document=document,
        code=code,
        start=start,
        end=end,
        text=quote,
        coder=coder,
        memo=memo,
        suggestion=suggestion,
    )


@transaction.atomic
def excerpt_update(
    *,
    excerpt: Excerpt,
    code: Code | None = None,
    start: int | None = None,
    end: int | None = None,
    memo: str | None = None,
    needs_review: bool | None = None,
    expected_version: int | None = None,
) -> Excerpt:
    """Change an excerpt's code, span or memo; a new span is re-checked and its quote re-copied.

    `needs_review=False` accepts the anchoring a text edit left (after any new span): the flag and
    reason are cleared and the quote re-copied from the current text. Only an edit sets the flag.
    The write is a compare-and-swap on `version` (default: the version `excerpt` was loaded
    with): `VersionConflict` and nothing written when it changed since.
    """
    if needs_review:
        raise ValidationError(
            {"needs_review": "Only an edit of the document flags an excerpt; send false to clear."}
        )
    if code is not None:
        check_in_project(excerpt.project, "code", code)
        excerpt.code = code
    if start is not None or end is not None or needs_review is False:
        excerpt.start = excerpt.start if start is None else start
        excerpt.end = excerpt.end if end is None else end
        excerpt.text = _check_span(excerpt.document, excerpt.start, excerpt.end)
    if needs_review is False:
        excerpt.needs_review = False
        excerpt.review_reason = ""
    if memo is not None:
        excerpt.memo = memo
    version_claim(excerpt, expected_version)  # after the checks: a refusal leaves it as loaded
    excerpt.save()
    data_changed(excerpt.project_id)
    return excerpt


@transaction.atomic
def excerpt_delete(*, excerpt: Excerpt, expected_version: int | None = None) -> None:
    """Delete an excerpt, if it is still at `expected_version` (default: as loaded); otherwise
    `VersionConflict` and nothing deleted."""
    version_claim(excerpt, expected_version)
    data_changed(excerpt.project_id)
    excerpt.delete()
