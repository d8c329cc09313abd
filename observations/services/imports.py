"""Importing files as documents: parse everything first, then write the whole batch or nothing.

Parsers (`observations.importers`) turn bytes into normalised text and speaker turns. This module
checks sizes, maps each transcript speaker to a participant or an interviewer (so analyses can
count the customer's words only), links survey rows to their respondents, and creates every
document through `document_create` inside one transaction.
"""

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from observations import importers
from observations.importers.base import ParsedDocument, ParseError, ParseOptions
from observations.models import Document
from observations.services.documents import TurnInput, document_create
from observations.services.speakers import (
    UNMAPPED,
    FileSpeakerMaps,
    SpeakerMap,
    SpeakerTarget,
    default_speaker_map,
)
from research.models import Job, Participant, Project, User
from research.services import participant_create, participant_update

# Document kinds a file may be imported as (field notes belong to sessions).
IMPORT_KINDS = (Document.Kind.TRANSCRIPT, Document.Kind.SURVEY, Document.Kind.OTHER)

Progress = Callable[[str, int, int], None]  # (stage "parse" | "create", done, total)


@dataclass(frozen=True)
class UploadedFileLike:
    """One file as it arrived: its original name and its bytes."""

    name: str
    data: bytes


@dataclass
class FilePreview:
    """What one file would import as: its documents and each speaker's (default) mapping."""

    name: str
    documents: list[ParsedDocument] = field(default_factory=list)
    speakers: dict[str, SpeakerTarget] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def turn_count(self) -> int:
        return sum(len(document.turns) for document in self.documents)

    @property
    def is_survey(self) -> bool:
        return any(document.kind == Document.Kind.SURVEY for document in self.documents)


@dataclass
class ImportResult:
    """The created documents (in file order) with their processing jobs and mapping figures."""

    documents: list[Document]
    jobs: list[Job]
    turn_count: int = 0
    speakers_mapped: int = 0
    speakers_unmapped: int = 0
    participants_created: int = 0


class ImportValidationError(ValidationError):
    """A batch that cannot be imported; `errors` holds one `{"file", "line"/"row", "message"}` per
    problem (`{"field", "message"}` for a bad option), and nothing was written."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__([_describe(error) for error in errors])


def _describe(error: Mapping[str, Any]) -> str:
    where = str(error.get("file") or error.get("field") or "")
    if error.get("line") is not None:
        where += f", line {error['line']}"
    elif error.get("row") is not None:
        where += f", row {error['row']}"
    return f"{where}: {error['message']}" if where else str(error["message"])


def _parse(file: UploadedFileLike, options: ParseOptions) -> list[ParsedDocument]:
    # Imported here so the parsers (and their optional libraries) load only when a file arrives.
    from observations.importers import parse_file

    return parse_file(file.name, file.data, options)


def survey_columns(file: UploadedFileLike) -> list[str]:
    """The column names of a survey table as its parser reads the first row; [] for other
    files, or when the table cannot be read (the preview reports why)."""
    try:
        return importers.survey_columns(file.name, file.data)
    except ParseError:
        return []


def _parse_one(file: UploadedFileLike, options: ParseOptions) -> FilePreview:
    preview = FilePreview(name=file.name)
    limit = settings.VERBATIM_MAX_UPLOAD_BYTES
    if len(file.data) > limit:
        size = f"{len(file.data) / 1_048_576:.1f} MB"
        message = f"The file is {size}; the limit is {limit / 1_048_576:.0f} MB."
        preview.errors.append({"file": file.name, "message": message})
        return preview
    try:
        preview.documents = _parse(file, options)
    except ParseError as exc:
        preview.errors.append({**exc.as_error(), "file": file.name})
        return preview
    # A survey row left blank holds nothing to code: drop it rather than fail the batch.
    preview.documents = [
        d for d in preview.documents if d.text.strip() or d.kind != Document.Kind.SURVEY
    ]
    if not preview.documents:
        preview.errors.append({"file": file.name, "message": "The file holds no text."})
    max_chars = settings.VERBATIM_MAX_DOCUMENT_CHARS
    for document in preview.documents:
        if not document.text.strip():
            preview.errors.append({"file": file.name, "message": "The file holds no text."})
        elif len(document.text) > max_chars:
            message = f"The text is {len(document.text):,} characters; the limit is {max_chars:,}."
            preview.errors.append({"file": file.name, "message": message})
    return preview


def _parse_all(
    files: list[UploadedFileLike], options: ParseOptions, progress: Progress | None
) -> list[FilePreview]:
    if not files:
        raise ImportValidationError([{"field": "file", "message": "Choose at least one file."}])
    options = dataclasses.replace(options, max_chars=settings.VERBATIM_MAX_DOCUMENT_CHARS)
    previews = []
    for done, file in enumerate(files, start=1):
        previews.append(_parse_one(file, options))
        if progress:
            progress("parse", done, len(files))
    names = [file.name for file in files]
    for name in sorted({name for name in names if names.count(name) > 1}):
        message = "Two files have this name; rename one so each document is traceable."
        previews[names.index(name)].errors.append({"file": name, "message": message})
    return previews


def _file_map(
    name: str, speaker_map: SpeakerMap | None, files_map: FileSpeakerMaps | None
) -> dict[str, SpeakerTarget]:
    return {**(speaker_map or {}), **((files_map or {}).get(name) or {})}


def documents_preview(
    *,
    project: Project,
    user: User,
    files: list[UploadedFileLike],
    options: ParseOptions,
    participant: Participant | None = None,
    speaker_map: SpeakerMap | None = None,
    file_speaker_maps: FileSpeakerMaps | None = None,
    progress: Progress | None = None,
) -> list[FilePreview]:
    """Parse the files and propose each speaker's mapping, writing nothing."""
    previews = _parse_all(files, options, progress)
    for preview in previews:
        speakers = dict.fromkeys(s for doc in preview.documents for s in doc.speakers)
        preview.speakers = default_speaker_map(
            project=project,
            user=user,
            speakers=speakers,
            participant=participant,
            given=_file_map(preview.name, speaker_map, file_speaker_maps),
        )
    return previews


def documents_import(
    *,
    project: Project,
    user: User,
    files: list[UploadedFileLike],
    options: ParseOptions,
    participant: Participant | None = None,
    speaker_map: SpeakerMap | None = None,
    file_speaker_maps: FileSpeakerMaps | None = None,
    kind: str | None = None,
    title: str = "",
    progress: Progress | None = None,
) -> ImportResult:
    """Import every file as documents, all or nothing.

    Every file is parsed and checked first; any problem raises `ImportValidationError` naming each
    file (and line or row) and nothing is written. Otherwise all documents, new participants and
    turns are created in one transaction and each document's processing is queued after commit.
    """
    if kind is not None and kind not in IMPORT_KINDS:
        raise ImportValidationError([{"field": "kind", "message": f"Unknown kind {kind!r}."}])
    if title.strip() and len(files) > 1:
        message = "A title applies to one file; leave it empty when importing several."
        raise ImportValidationError([{"field": "title", "message": message}])
    previews = documents_preview(
        project=project,
        user=user,
        files=files,
        options=options,
        participant=participant,
        speaker_map=speaker_map,
        file_speaker_maps=file_speaker_maps,
        progress=progress,
    )
    errors = [error for preview in previews for error in preview.errors]
    if errors:
        raise ImportValidationError(errors)
    try:
        return _write(project, user, previews, participant, kind, title.strip(), progress)
    except ImportValidationError:
        raise
    except ValidationError as exc:  # a rule only the write checks; the transaction rolled back
        raise ImportValidationError([{"message": m} for m in exc.messages]) from exc


class _People:
    """Participants found or created during one import, so a pseudonym maps to one person."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.by_pseudonym = {p.pseudonym.casefold(): p for p in project.participants.all()}
        self.created = 0

    def get(
        self, pseudonym: str, *, customer_ref: str = "", attributes: dict[str, Any] | None = None
    ) -> Participant:
        pseudonym = pseudonym.strip()
        found = self.by_pseudonym.get(pseudonym.casefold())
        if found is None:
            found = participant_create(
                project=self.project,
                pseudonym=pseudonym,
                customer_ref=customer_ref or "",
                attributes=attributes or {},
            )
            self.by_pseudonym[pseudonym.casefold()] = found
            self.created += 1
        elif customer_ref or attributes:
            changes: dict[str, Any] = {"attributes": {**found.attributes, **(attributes or {})}}
            if customer_ref:
                changes["customer_ref"] = customer_ref
            found = participant_update(participant=found, **changes)
        return found

    def resolve(self, target: SpeakerTarget) -> SpeakerTarget:
        if target.pseudonym and target.participant is None:
            return SpeakerTarget(participant=self.get(target.pseudonym))
        return target


def _stem(name: str) -> str:
    return PurePath(name.replace("\\", "/")).stem or name


@transaction.atomic
def _write(
    project: Project,
    user: User,
    previews: list[FilePreview],
    participant: Participant | None,
    kind: str | None,
    title: str,
    progress: Progress | None,
) -> ImportResult:
    people = _People(project)
    result = ImportResult(documents=[], jobs=[])
    total = sum(len(preview.documents) for preview in previews)
    for preview in previews:
        targets = {speaker: people.resolve(t) for speaker, t in preview.speakers.items()}
        result.speakers_mapped += sum(1 for t in targets.values() if t != UNMAPPED)
        result.speakers_unmapped += sum(1 for t in targets.values() if t == UNMAPPED)
        base_title = title or _stem(preview.name)
        for row, parsed in enumerate(preview.documents, start=1):
            try:
                document, job = _create_one(
                    project,
                    user,
                    people,
                    parsed,
                    targets,
                    participant,
                    kind,
                    base_title,
                    row,
                    preview.name,
                )
            except ValidationError as exc:
                errors = [{"file": preview.name, "message": m} for m in exc.messages]
                raise ImportValidationError(errors) from exc
            result.documents.append(document)
            result.jobs.append(job)
            result.turn_count += len(parsed.turns)
            if progress:
                progress("create", len(result.documents), total)
    result.participants_created = people.created
    return result


def _create_one(
    project: Project,
    user: User,
    people: _People,
    parsed: ParsedDocument,
    targets: dict[str, SpeakerTarget],
    participant: Participant | None,
    kind: str | None,
    base_title: str,
    row: int,
    source_name: str,
) -> tuple[Document, Job]:
    if parsed.kind == Document.Kind.SURVEY:
        respondent = (parsed.respondent or "").strip()
        owner = participant
        if respondent:
            owner = people.get(
                respondent, customer_ref=parsed.customer_ref or "", attributes=parsed.attributes
            )
        # Without a respondent, the parser's title ends with the row as a spreadsheet numbers it.
        label = respondent or (
            parsed.title.rsplit(" – ", 1)[-1] if " – " in parsed.title else f"row {row}"
        )
        doc_title, doc_kind = f"{base_title} — {label}", str(Document.Kind.SURVEY)
    else:
        speaking = {t.participant for t in targets.values() if t.participant is not None}
        owner = participant or (speaking.pop() if len(speaking) == 1 else None)
        doc_title, doc_kind = base_title, kind or parsed.kind
    turns = [
        TurnInput(
            start=turn.start,
            end=turn.end,
            speaker=turn.speaker[:128],
            participant=targets.get(turn.speaker, UNMAPPED).participant,
            interviewer=targets.get(turn.speaker, UNMAPPED).interviewer,
            started_at_ms=turn.started_at_ms,
            ended_at_ms=turn.ended_at_ms,
        )
        for turn in parsed.turns
    ]
    return document_create(
        project=project,
        creator=user,
        title=doc_title[:255],
        text=parsed.text,
        kind=doc_kind,
        participant=owner,
        turns=turns,
        source_name=source_name[:255],
    )
