"""A REFI-QDA project (`QdaProject`, as coding.refi.reader reads it) written into a project.

All or nothing: one transaction, through the same services as every other write (codes,
documents, excerpts, memos, participants, memberships), so each rule holds as it does for work
done by hand, and each document is processed (sentences, NLP) by the usual job after the commit.

How the parts map (see also import_people and import_codes):
- users -> accounts (matched, else inactive placeholders), added to the project as coders;
- codes -> the codebook, an existing path reused;
- text sources -> documents (kind from the "Verbatim document kind" variable Verbatim exports,
  else transcript; speaker turns found in the text as a .txt import finds them);
- codings of a selection -> one excerpt each (coder: the coding's user, else the selection's,
  else the importing user); the selection's description -> the excerpt's memo; Notes the
  selection refers to -> memos about that excerpt (about the document when nothing was coded);
- other Notes -> memos, about the code or document that refers to them, else about nothing;
- named cases -> participants; their SourceRefs set the documents' participant;
- nameless cases' variables and source variables -> not carried (a document has no variables),
  except the document kind; every such loss is a line of the report's `not_carried`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.models import Excerpt, Memo
from coding.refi.import_codes import CodeOutcome, import_codes
from coding.refi.import_people import PeopleReport, Users, import_cases
from coding.refi.import_sources import DocumentOutcome, import_sources
from coding.refi.model import QdaNote, QdaProject, QdaSelection, QdaSource, guid
from coding.services.excerpts import excerpt_create
from coding.services.memos import memo_create
from observations.models import Document
from research.models import Project, User

# (fraction done 0..1, what is happening) — the job task turns this into job progress.
Progress = Callable[[float, str], None]
MEMO_TITLE_MAX = 200


@dataclass
class ImportReport:
    """What an import created, reused and could not carry over (REFI-QDA spec section 7)."""

    created: dict[str, int] = field(default_factory=dict)
    reused: dict[str, int] = field(default_factory=dict)
    reused_codes: list[str] = field(default_factory=list)
    reused_participants: list[str] = field(default_factory=list)
    placeholder_users: list[str] = field(default_factory=list)
    matched_users: list[str] = field(default_factory=list)
    added_members: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON (a job's `result`)."""
        return {
            "created": self.created,
            "reused": self.reused,
            "reused_codes": self.reused_codes,
            "reused_participants": self.reused_participants,
            "placeholder_users": self.placeholder_users,
            "matched_users": self.matched_users,
            "added_members": self.added_members,
            "not_carried": self.not_carried,
            "documents": self.documents,
        }


@transaction.atomic
def import_qda(
    project: Project,
    qda: QdaProject,
    *,
    user: User,
    progress: Progress | None = None,
    source_name: str = "",
) -> ImportReport:
    """Write `qda` into `project` as `user` and say what happened; all or nothing.

    Raises ValidationError (nothing written) only for what no part of the file can be imported
    without, e.g. a file code whose path is an archived code that the file codes with; anything
    smaller is skipped and named in `not_carried`.
    """
    report = ImportReport(not_carried=list(qda.not_carried))
    people = PeopleReport()
    users = Users(project, qda, user, people)

    def step(done: float, message: str) -> None:
        if progress is not None:
            progress(done, message)

    step(0.0, "Importing the codebook")
    codes = import_codes(project=project, qda=qda, user=user)
    report.not_carried += codes.not_carried
    step(0.1, "Importing participants")
    cases = import_cases(project, qda, people)
    report.not_carried += cases.not_carried
    step(0.15, "Importing documents")
    docs = import_sources(
        project=project,
        qda=qda,
        user=user,
        participants=cases.source_participant,
        source_name=source_name,
        progress=lambda done, message: step(0.15 + 0.6 * done, message),
    )
    report.not_carried += docs.not_carried
    step(0.75, "Importing codings and notes")
    work = _Work(project, qda, users, codes, docs, report)
    work.run()
    step(0.95, "Writing the report")
    if codes.not_codable:
        report.not_carried.append(
            f"{len(codes.not_codable)} code(s) marked not codable are ordinary codes in "
            f"Verbatim: {', '.join(codes.not_codable[:10])}"
            + (" …" if len(codes.not_codable) > 10 else "")
        )
    if users.unused():
        report.not_carried.append(
            f"{users.unused()} user(s) of the file did no imported work and were not added."
        )
    report.created = {
        "codes": len(codes.created),
        "documents": len(docs.documents),
        "excerpts": work.excerpts,
        "memos": work.memos,
        "participants": len(people.participants_created),
        "users": len(people.placeholders),
        "members": len(people.added_members),
    }
    report.reused.update(
        codes=len(codes.reused),
        participants=len(people.participants_reused),
        users=len(people.matched),
    )
    report.reused_codes = codes.reused
    report.reused_participants = people.participants_reused
    report.placeholder_users = people.placeholders
    report.matched_users = people.matched
    report.added_members = people.added_members
    report.documents = [document.pk for document in docs.documents.values()]
    return report


class _Work:
    """Codings and notes, once codes, documents and participants exist.

    First every coding becomes an excerpt (its memo: the notes its Coding refers to, else the
    selection's description); then every other note becomes one memo, about everything that
    refers to it (a code, a document, an excerpt: a memo may be about all three).
    """

    def __init__(
        self,
        project: Project,
        qda: QdaProject,
        users: Users,
        codes: CodeOutcome,
        docs: DocumentOutcome,
        report: ImportReport,
    ) -> None:
        self.project = project
        self.qda = qda
        self.users = users
        self.codes = codes
        self.docs = docs
        self.report = report
        self.notes = {guid(note.guid): note for note in qda.notes}
        # Notes a Coding refers to: that excerpt's own memo, not memos of their own.
        self.own_notes = {
            guid(note_guid)
            for source in qda.sources
            for selection in [*source.selections, QdaSelection("", 0, 0, codings=source.codings)]
            for coding in selection.codings
            for note_guid in coding.note_guids
        }
        self.links: dict[str, dict[str, Any]] = {}
        self.excerpts = 0
        self.memos = 0
        self.skipped: Counter[str] = Counter()

    def run(self) -> None:
        for source in self.qda.sources:
            document = self.docs.documents.get(guid(source.guid))
            if document is not None:
                self._source(source, document)
        for qda_code in self.qda.all_codes():
            code = self.codes.by_guid.get(guid(qda_code.guid))
            for note_guid in qda_code.note_guids:
                if code is not None:
                    self._link(note_guid, "code", code)
        for note in self.qda.notes:
            if guid(note.guid) not in self.own_notes:
                self._memo(note, self.links.get(guid(note.guid), {}))
        for reason, count in sorted(self.skipped.items()):
            self.report.not_carried.append(f"{count} {reason}")
        self.report.not_carried += missing_note_lines(self.qda.notes)

    def _source(self, source: QdaSource, document: Document) -> None:
        spans = self.docs.spans.get(guid(source.guid), {})
        if source.codings:  # codings of the whole source: one excerpt over all of it each
            whole = QdaSelection(guid="", start=0, end=len(document.text), codings=source.codings)
            self._codings(whole, (0, len(document.text)), document, source)
        for selection in source.selections:
            span = spans.get(guid(selection.guid))
            if span is None:
                self.skipped["selection(s) outside their source's text were not imported."] += 1
                continue
            made = self._codings(selection, span, document, source)
            if not made and selection.description.strip():
                self._add_memo(
                    title=selection.name or f"Note on {document.title}",
                    text=selection.description,
                    author=self.users.get(selection.user_guid),
                    links={"document": document},
                )
            for note_guid in selection.note_guids:
                if guid(note_guid) in self.own_notes:
                    continue
                if made:
                    self._link(
                        note_guid, "excerpt", _by_author(made, self.notes.get(guid(note_guid)))
                    )
                else:
                    self._link(note_guid, "document", document)
        for note_guid in source.note_guids:
            self._link(note_guid, "document", document)

    def _codings(
        self,
        selection: QdaSelection,
        span: tuple[int, int],
        document: Document,
        source: QdaSource,
    ) -> list[tuple[str, Excerpt]]:
        """The excerpts made, each with the guid of the user who coded it."""
        made: list[tuple[str, Excerpt]] = []
        start, end = span
        for coding in selection.codings:
            code = self.codes.by_guid.get(guid(coding.code_guid))
            if code is None:
                self.skipped["coding(s) of codes missing from the codebook were not imported."] += 1
                continue
            if not document.text[start:end].strip():
                self.skipped["coding(s) of white space only were not imported."] += 1
                continue
            who = coding.user_guid or selection.user_guid
            own = [self.notes[g].text for g in map(guid, coding.note_guids) if g in self.notes]
            memo = "\n\n".join(text for text in own if text.strip()) or selection.description
            try:
                excerpt = excerpt_create(
                    document=document,
                    code=code,
                    start=start,
                    end=end,
                    coder=self.users.get(who),
                    memo=memo,
                )
            except ValidationError as exc:
                where = f"Source {source.name!r}, selection [{selection.start}, {selection.end})"
                raise ValidationError(f"{where}: {'; '.join(exc.messages)}") from None
            self.excerpts += 1
            made.append((guid(who) if who else "", excerpt))
        return made

    def _link(self, note_guid: str, field_name: str, target: Any) -> None:
        key = guid(note_guid)
        if key not in self.notes:
            self.skipped["note reference(s) to notes missing from the file were ignored."] += 1
            return
        links = self.links.setdefault(key, {})
        if links.setdefault(field_name, target) != target:
            self.skipped[
                f"note(s) referred to from more than one {field_name} kept the first."
            ] += 1

    def _memo(self, note: QdaNote, links: dict[str, Any]) -> None:
        if not note.text.strip():
            if not note.missing_path:  # those are reported by missing_note_lines
                self.skipped["empty note(s) were not imported."] += 1
            return
        self._add_memo(
            title=note.name, text=note.text, author=self.users.get(note.user_guid), links=links
        )

    def _add_memo(self, *, title: str, text: str, author: User, links: dict[str, Any]) -> Memo:
        title = " ".join(title.split())
        if len(title) > MEMO_TITLE_MAX:
            self.skipped["memo title(s) were shortened to 200 characters."] += 1
            title = title[:MEMO_TITLE_MAX].rstrip()
        memo = memo_create(project=self.project, author=author, text=text, title=title, **links)
        self.memos += 1
        return memo


def missing_note_lines(notes: list[QdaNote], shown: int = 3) -> list[str]:
    """One report line for the notes whose text file the archive lacks and that are left
    empty (not imported), one for those carried with their description only; each names up to
    ``shown`` of the missing files."""
    lines = []
    missing = [note for note in notes if note.missing_path]
    for empty, outcome in ((True, "were not imported"), (False, "kept only their description")):
        paths = [n.missing_path for n in missing if (not n.text.strip()) == empty]
        if paths:
            named = ", ".join(paths[:shown]) + (
                f" and {len(paths) - shown} more" if len(paths) > shown else ""
            )
            lines.append(
                f"{len(paths)} note(s) {outcome}: their text file is not in the archive ({named})."
            )
    return lines


def _by_author(made: list[tuple[str, Excerpt]], note: QdaNote | None) -> Excerpt:
    """Of a selection's excerpts, the one coded by the note's author (a selection coded by
    several people holds several excerpts), else the first."""
    author = guid(note.user_guid) if note is not None and note.user_guid else None
    return next((excerpt for who, excerpt in made if author and who == author), made[0][1])
