"""The coding workspace page: one document, rendered by turn, that coders select and code.

The server renders the text only (one template loop over blocks, no per-turn queries). Every
character of `document.text` sits inside an element carrying `data-start` (its offset, a Python
`str` index), including the white space between blocks (hidden `.ws-gap` spans), so
workspace.js can turn any DOM selection into offsets. Highlights, stripes and panels are painted
by workspace.js from the workspace API in one pass.
"""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from frontend.areas.documents import Block, reader_blocks
from frontend.views import AuthedRequest
from observations.selectors import document_reader
from research.audit import audit_transcript_read
from research.permissions import access_project
from research.roles import Capability


@dataclass(frozen=True)
class Piece:
    """A run of the document: a labelled block (turn, note, paragraph) or the gap between two."""

    start: int
    text: str
    gap: bool = False
    speaker: str = ""
    role: str = ""
    when: str = ""


def workspace_pieces(text: str, blocks: list[Block]) -> list[Piece]:
    """Blocks and the gaps between them, in order, covering `text` exactly once."""
    pieces: list[Piece] = []
    cursor = 0
    for block in blocks:
        if block.start > cursor:
            pieces.append(Piece(start=cursor, text=text[cursor : block.start], gap=True))
        pieces.append(
            Piece(
                start=block.start,
                text=block.before,
                speaker=block.speaker,
                role=block.role,
                when=block.when,
            )
        )
        cursor = block.start + len(block.before)
    if cursor < len(text):
        pieces.append(Piece(start=cursor, text=text[cursor:], gap=True))
    return pieces


@login_required
@require_safe
def document_code_page(request: AuthedRequest, slug: str, pk: int) -> HttpResponse:
    access = access_project(request.user, slug)
    reader = document_reader(project=access.project, pk=pk)
    # The workspace shows the raw transcript: the audit log records who read it, as the reader does.
    audit_transcript_read(
        project=access.project,
        user=request.user,
        document_id=reader.document.pk,
        request=request,
    )
    text = reader.document.text
    context = {
        "project": access.project,
        "document": reader.document,
        "pieces": workspace_pieces(text, reader_blocks(reader, None)),
        "turn_count": len(reader.turns),
        "can_code": access.can(Capability.CODE),
        "can_edit_codebook": access.can(Capability.EDIT_CODEBOOK),
        "can_edit_others": access.can(Capability.EDIT_OTHERS_WORK),
    }
    return render(request, "frontend/workspace/workspace.html", context)


urlpatterns = [
    path("p/<slug:slug>/documents/<int:pk>/code/", document_code_page, name="document-code"),
]
