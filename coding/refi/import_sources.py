"""Text sources of an imported REFI-QDA project as documents, through `document_create`.

The text is normalised as every text entering Verbatim is (BOM, CRLF, NFC); when that changes
it, selection positions are moved with the same offset map a text edit uses, so each still
covers the same words. Speaker turns are found as a .txt import finds them, but only when that
leaves the text exactly as it is (the file's positions point into this text).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from coding.refi.export_cases import KIND_VARIABLE
from coding.refi.import_people import variable_names
from coding.refi.model import QdaProject, QdaSource, VariableValue, guid
from observations.anchoring import OffsetMap
from observations.importers.base import ParseError
from observations.importers.turns import parse_lines
from observations.models import Document
from observations.services.documents import TurnInput, document_create
from observations.services.speakers import UNMAPPED, default_speaker_map
from observations.text import normalise_text
from research.models import Participant, Project, User

TITLE_MAX = 255

Span = tuple[int, int]


@dataclass
class DocumentOutcome:
    """Documents by source guid, each selection's span in the stored text, report lines."""

    documents: dict[str, Document] = field(default_factory=dict)
    # source guid -> selection guid -> [start, end) in the document's (normalised) text
    spans: dict[str, dict[str, Span]] = field(default_factory=dict)
    not_carried: list[str] = field(default_factory=list)


def _source_variables(qda: QdaProject) -> dict[str, dict[str, VariableValue]]:
    """Source guid -> variable name -> value: the source's own variables, then those of the
    nameless cases that refer to it (how several tools store document attributes)."""
    names = variable_names(qda)
    out: dict[str, dict[str, VariableValue]] = {}
    for source in qda.sources:
        values = out.setdefault(guid(source.guid), {})
        for key, value in source.variables.items():
            values[names.get(guid(key), key)] = value
    for case in qda.cases:
        if case.name.strip():
            continue
        for source_guid in case.source_guids:
            values = out.setdefault(guid(source_guid), {})
            for key, value in case.variables.items():
                values.setdefault(names.get(guid(key), key), value)
    return out


def _kind(values: dict[str, VariableValue]) -> str:
    for name, value in values.items():
        if name.casefold() == KIND_VARIABLE.casefold() and value is not None:
            text = str(value).strip().casefold()
            for kind in Document.Kind:
                if text in (kind.value, str(kind.label).casefold()):
                    return str(kind.value)
    return str(Document.Kind.TRANSCRIPT)


def _spans(source: QdaSource, text: str) -> dict[str, Span]:
    """Each selection's [start, end) in `text` (the normalised text); out-of-range ones left out."""
    spans: dict[str, Span] = {}
    offsets = None if text == source.text else OffsetMap.from_texts(source.text, text)
    for selection in source.selections:
        if not 0 <= selection.start < selection.end <= len(source.text):
            continue
        start, end = selection.start, selection.end
        if offsets is not None:
            start, end = offsets.contain(start, end)
        if start < end:
            spans[guid(selection.guid)] = (start, end)
    return spans


def _turns(
    project: Project, user: User, title: str, text: str, participant: Participant | None
) -> list[TurnInput]:
    try:
        body, parsed = parse_lines(title, text.split("\n"))
    except ParseError:
        return []
    if not parsed or not text.startswith(body) or text[len(body) :].strip():
        return []  # turns would need the text rewritten; positions point into it as it is
    targets = default_speaker_map(
        project=project,
        user=user,
        speakers=list(dict.fromkeys(turn.speaker for turn in parsed)),
        participant=participant,
    )
    return [
        TurnInput(
            start=turn.start,
            end=turn.end,
            speaker=turn.speaker[:128],
            participant=targets.get(turn.speaker, UNMAPPED).participant,
            interviewer=targets.get(turn.speaker, UNMAPPED).interviewer,
            started_at_ms=turn.started_at_ms,
            ended_at_ms=turn.ended_at_ms,
        )
        for turn in parsed
    ]


def import_sources(
    *,
    project: Project,
    qda: QdaProject,
    user: User,
    participants: dict[str, Participant],
    source_name: str = "",
    progress: Callable[[float, str], None] | None = None,
) -> DocumentOutcome:
    """Create one document per source with text; a source with no text is left out and named.

    `participants` maps source guids to the participant whose case refers to the source.
    """
    outcome = DocumentOutcome()
    variables = _source_variables(qda)
    dropped: set[str] = set()
    for number, source in enumerate(qda.sources, start=1):
        key = guid(source.guid)
        title = " ".join(source.name.split())[:TITLE_MAX] or f"Source {number}"
        text = normalise_text(source.text)
        if not text.strip():
            outcome.not_carried.append(
                f"Source {title!r} has no text and was not imported"
                f" ({len(source.selections)} selection(s) with it)."
            )
            continue
        values = variables.get(key, {})
        dropped.update(name for name in values if name.casefold() != KIND_VARIABLE.casefold())
        participant = participants.get(key)
        try:
            document, _job = document_create(
                project=project,
                creator=user,
                title=title,
                text=text,
                kind=_kind(values),
                participant=participant,
                turns=_turns(project, user, title, text, participant),
                source_name=(source_name or source.name)[:TITLE_MAX],
            )
        except ValidationError as exc:
            raise ValidationError(f"Source {title!r}: {'; '.join(exc.messages)}") from None
        outcome.documents[key] = document
        outcome.spans[key] = _spans(source, text)
        if progress is not None:
            progress(number / len(qda.sources), f"Imported {number} of {len(qda.sources)} sources")
    if dropped:
        outcome.not_carried.append(
            "Document variables not carried (a Verbatim document has no variables): "
            + ", ".join(sorted(dropped))
            + "."
        )
    return outcome
