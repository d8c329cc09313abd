"""Pages of the documents area: the document list, the reader, and search.

The reader can open "at the spot": `?at=<offset>&len=<n>` marks that range of the text with
`<mark id="hit">`, and links add `#hit`, so the browser scrolls there without JavaScript. The
block holding the spot is split on the server into before / mark / after, each auto-escaped.
"""

import re
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from coding.selectors import excerpt_list
from frontend.views import AuthedRequest
from observations.models import Document
from observations.selectors import (
    SEARCH_LIMIT,
    Reader,
    document_list,
    document_processing_error,
    document_reader,
    document_search,
    turn_speaker,
)
from research.audit import audit_transcript_read
from research.permissions import access_project
from research.roles import Capability

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Block:
    """One block of the reader: a speaker turn, a field note or a paragraph, as text pieces."""

    start: int
    before: str
    mark: str = ""
    after: str = ""
    speaker: str = ""
    role: str = ""  # "participant", "interviewer", "note" or "" (plain text)
    when: str = ""

    @property
    def has_mark(self) -> bool:
        return bool(self.mark)


def clock(ms: int | None) -> str:
    """A timestamp as a transcript shows it: `m:ss` under an hour, `h:mm:ss` from an hour on."""
    if ms is None:
        return ""
    seconds = ms // 1000
    hours, minutes, secs = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _spot(request: AuthedRequest, text: str) -> tuple[int, int] | None:
    """The `[start, end)` range to mark from `?at=&len=`, clipped to the text; None if absent or
    malformed. Without `len` the word at `at` is marked."""
    try:
        at = int(request.GET["at"])
    except (KeyError, ValueError):
        return None
    if not 0 <= at < len(text):
        return None
    try:
        length = int(request.GET.get("len", ""))
    except ValueError:
        word = _WORD.match(text, at)
        length = word.end() - at if word else 1
    return at, min(len(text), at + max(1, length))


def _block(text: str, start: int, end: int, spot: tuple[int, int] | None, **label: str) -> Block:
    if spot is None or not start <= spot[0] < end:
        return Block(start=start, before=text[start:end], **label)
    mark_end = min(end, spot[1])
    return Block(
        start=start,
        before=text[start : spot[0]],
        mark=text[spot[0] : mark_end],
        after=text[mark_end:end],
        **label,
    )


def _ranges(reader: Reader) -> list[tuple[int, int, dict[str, str]]]:
    """The labelled ranges of the document: turns, else field-note ranges, else none."""
    if reader.turns:
        return [
            (
                turn.start,
                turn.end,
                {
                    "speaker": turn_speaker(turn) or "Unknown speaker",
                    "role": "interviewer" if turn.interviewer_id else "participant",
                    "when": clock(turn.started_at_ms),
                },
            )
            for turn in reader.turns
        ]
    return [
        (
            note.document_start or 0,
            note.document_end or 0,
            {
                "speaker": note.get_kind_display()
                + (f" · {note.participant.pseudonym}" if note.participant else ""),
                "role": "note",
                "when": f"{note.observed_at:%H:%M}",
            },
        )
        for note in reader.notes
        if (note.document_end or 0) > (note.document_start or 0)
    ]


def _paragraphs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Blank-line separated paragraphs of `text[start:end]`, as ranges, blank ones left out."""
    spans, cursor = [], start
    for gap in _PARAGRAPH_BREAK.finditer(text, start, end):
        spans.append((cursor, gap.start()))
        cursor = gap.end()
    spans.append((cursor, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


LABEL_MAX = 100


def _label_start(text: str, cursor: int, start: int) -> int:
    """Where the label line of the range starting at `start` begins ("P07: ", "10:42 · Quote: ").

    Imports and field notes write each turn or note as `label: words` on one line, and the range
    holds only the words; the block's header already shows the label, so it is not repeated as a
    paragraph of its own. Text before the label line (a title, a date) is still shown.
    """
    line_start = max(text.rfind("\n", cursor, start) + 1, cursor)
    label = text[line_start:start]
    if label.strip().endswith(":") and len(label) <= LABEL_MAX:
        return line_start
    return start


def reader_blocks(reader: Reader, spot: tuple[int, int] | None) -> list[Block]:
    """The whole text as blocks in order: labelled ranges, and any text between them as plain
    paragraphs, so no character of the document is left out of the page."""
    text = reader.document.text
    blocks: list[Block] = []
    cursor = 0
    for start, end, label in [*_ranges(reader), (len(text), len(text), {})]:
        if start < cursor:  # overlapping ranges would repeat text; show the rest only
            start = cursor
        shown_until = _label_start(text, cursor, start) if label else start
        for a, b in _paragraphs(text, cursor, shown_until):
            blocks.append(_block(text, a, b, spot))
        if end > start:
            blocks.append(_block(text, start, end, spot, **label))
        cursor = max(cursor, end)
    return blocks


@login_required
@require_safe
def document_list_page(request: AuthedRequest, slug: str) -> HttpResponse:
    access = access_project(request.user, slug)
    kinds = Document.Kind
    kind = request.GET.get("kind", "")
    documents = document_list(project=access.project)
    if kind in kinds.values:
        documents = documents.filter(kind=kind)
    else:
        kind = ""
    context = {
        "project": access.project,
        "documents": documents,
        "kinds": kinds.choices,
        "kind": kind,
    }
    return render(request, "frontend/documents/list.html", context)


@login_required
@require_safe
def document_detail_page(request: AuthedRequest, slug: str, pk: int) -> HttpResponse:
    access = access_project(request.user, slug)
    reader = document_reader(project=access.project, pk=pk)
    audit_transcript_read(
        project=access.project,
        user=request.user,
        document_id=reader.document.pk,
        request=request,
    )
    spot = _spot(request, reader.document.text)
    coded = excerpt_list(project=access.project).filter(document=reader.document)
    counts = coded.aggregate(total=Count("id"), review=Count("id", filter=Q(needs_review=True)))
    context = {
        "project": access.project,
        "document": reader.document,
        "blocks": reader_blocks(reader, spot),
        "spot": spot,
        "turn_count": len(reader.turns),
        "processing_error": document_processing_error(document=reader.document),
        "excerpt_count": counts["total"],
        "review_count": counts["review"],
        "can_code": access.can(Capability.CODE),
        # Set when the reader was opened from a search hit: the page links back to the results.
        "q": request.GET.get("q", "").strip()[:500],
    }
    return render(request, "frontend/documents/detail.html", context)


@login_required
@require_safe
def search_page(request: AuthedRequest, slug: str) -> HttpResponse:
    access = access_project(request.user, slug)
    q = request.GET.get("q", "").strip()
    context: dict[str, object] = {"project": access.project, "q": q, "limit": SEARCH_LIMIT}
    status = 200
    if q:
        try:
            result = document_search(project=access.project, q=q)
            context["result"] = result
            context["document_count"] = len({hit.document_id for hit in result.hits})
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
            status = 400
    return render(request, "frontend/documents/search.html", context, status=status)


urlpatterns = [
    path("p/<slug:slug>/documents/", document_list_page, name="document-list"),
    path("p/<slug:slug>/documents/<int:pk>/", document_detail_page, name="document-detail"),
    path("p/<slug:slug>/search/", search_page, name="search"),
]
