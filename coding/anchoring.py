"""Re-anchoring excerpts when their document's text is edited.

Registered as a text-edit hook of observations (see CodingConfig.ready): observations cannot import
coding, so it calls us through the hook instead.
"""

from django.db.models import F
from django.utils import timezone

from coding.models import Excerpt
from observations.anchoring import HookResult, OffsetMap
from observations.models import Document

# review_reason is 255 characters; the quote gets what the sentence around it leaves.
_QUOTE_ROOM = 150


def _review_reason(old_quote: str) -> str:
    quote = old_quote if len(old_quote) <= _QUOTE_ROOM else old_quote[: _QUOTE_ROOM - 1] + "…"
    day = timezone.localdate().isoformat()
    return f"The coded words were changed by an edit on {day}: was “{quote}”."[:255]


def excerpts_reanchor(document: Document, offset_map: OffsetMap) -> HookResult:
    """Map every excerpt of `document` through `offset_map`: one select, then one bulk update per
    500 changed excerpts (no query per excerpt).

    Guarantees afterwards: `0 <= start < end <= len(document.text)` for every excerpt; an excerpt
    whose words survived unchanged moves with them (its `text` equals the new slice); an excerpt
    whose words were changed or deleted keeps its old quote in `text`, gets the closest surviving
    range and `needs_review` with a reason. No excerpt is deleted.
    """
    excerpts = list(
        Excerpt.objects.filter(document=document).only(
            "id", "start", "end", "text", "needs_review", "review_reason", "updated_at"
        )
    )
    moved = flagged = 0
    now = timezone.now()
    changed: list[Excerpt] = []
    for excerpt in excerpts:
        span = offset_map.exact(excerpt.start, excerpt.end)
        if span.intact:
            if (span.start, span.end) == (excerpt.start, excerpt.end):
                continue
            moved += 1
        elif not excerpt.needs_review:
            # Flag once; an excerpt already waiting for review keeps its first reason and quote.
            excerpt.needs_review = True
            excerpt.review_reason = _review_reason(excerpt.text)
            flagged += 1
        excerpt.start, excerpt.end = span.start, span.end
        excerpt.updated_at = now
        # The span moved: a client holding the old version must not write its old offsets back.
        excerpt.version = F("version") + 1
        changed.append(excerpt)
    Excerpt.objects.bulk_update(
        changed,
        ["start", "end", "needs_review", "review_reason", "updated_at", "version"],
        batch_size=500,
    )
    return HookResult(moved=moved, flagged=flagged)
