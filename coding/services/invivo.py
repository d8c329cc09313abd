"""In-vivo coding: a code named by the participant's own words, applied to those words at once."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.models import Code, Excerpt
from coding.services.codes import code_create
from coding.services.excerpts import excerpt_create
from observations.models import Document
from research.models import User

_SPACE = re.compile(r"\s+")
NAME_LIMIT = 120


def in_vivo_name(quote: str) -> str:
    """The code name for a quote: its words with white space collapsed and outer quotes removed,
    cut at a word boundary to fit the 120-character name field."""
    name = _SPACE.sub(" ", quote).strip().strip("\"'“”‘’").strip()
    if len(name) > NAME_LIMIT:
        cut = name[: NAME_LIMIT - 1].rsplit(" ", 1)[0] or name[: NAME_LIMIT - 1]
        name = cut + "…"
    return name


@transaction.atomic
def code_create_in_vivo(
    *, document: Document, start: int, end: int, coder: User
) -> tuple[Code, Excerpt]:
    """Create a top-level code named by `document.text[start:end]` and apply it to that span.

    A top-level code of that name (ignoring case) that is not archived is reused, so selecting the
    same words twice does not fail. Both rows are written or neither.
    """
    if not (isinstance(start, int) and isinstance(end, int)) or not 0 <= start < end:
        raise ValidationError({"start": "Need 0 <= start < end."})
    name = in_vivo_name(document.text[start:end])
    if not name:
        raise ValidationError({"start": "The selected span holds no words."})
    project = document.project
    code = Code.objects.filter(
        project=project, parent__isnull=True, name__iexact=name, is_archived=False
    ).first()
    if code is None:
        code = code_create(project=project, name=name, creator=coder)
    excerpt = excerpt_create(document=document, code=code, start=start, end=end, coder=coder)
    return code, excerpt
