"""A Verbatim project as a `QdaProject`: what the REFI-QDA writer turns into `.qdpx` and `.qdc`.

The mapping (coding/refi/DESIGN.md has the reasons):

- **Users**: every member, excerpt coder, memo author and document creator; `name` is the
  display name (or the username), `id` the username (import matches on it first).
- **Codes**: the tree as it is, with colour; `Description` is the description followed by the
  inclusion notes, exclusion notes and example, each in its own paragraph after a label
  (`code_description`; `split_code_description` undoes it). Every code is codable. Archived
  codes are exported like the others: REFI-QDA has no archived state (said in `not_carried`).
- **Sources**: one TextSource per document, named by its title, its text written unchanged as
  `sources/<GUID>.txt`, so positions are code points of `Document.text`. Two source variables
  keep what REFI-QDA has no field for: `KIND_VARIABLE` (the document kind's value, e.g.
  `transcript`) and `SESSION_VARIABLE` (the observation session's title, when there is one).
- **Selections**: one PlainTextSelection per distinct `(start, end)` of a document, named by its
  quote (whitespace collapsed, cut at 60 characters), with one Coding per excerpt (the coder as
  `creatingUser`, the excerpt's creation time).
- **Notes**: every memo (name = title, text, author), and each excerpt's own `memo` field as a
  note of its own. A memo about a code, document or excerpt is referred to (NoteRef) from that
  Code, TextSource or PlainTextSelection; an excerpt's own memo from its selection (where other
  tools look for annotations) and from its Coding (so import knows which excerpt it was).
- **Cases**: one per participant (name = pseudonym) with the `CUSTOMER_REF_VARIABLE`, one
  variable per attribute (type inferred over all participants: Boolean, Integer, Float, Date,
  else Text) and, per segmentation (its latest version), a Text variable `Segment: <name>` with
  the participant's segment; SourceRefs to the participant's documents.
- **GUIDs** are uuid5 of a fixed namespace, the project's slug and the object's kind and key,
  so two exports of the same data are byte-identical and a re-export keeps every GUID.

What REFI-QDA cannot hold is listed, one sentence each, in the result's `not_carried`.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from functools import cache
from typing import Any

from django.conf import settings
from django.db.models import Q

from coding.models import Code, Excerpt, Memo
from coding.refi.export_cases import (
    CUSTOMER_REF_VARIABLE,
    KIND_VARIABLE,
    SEGMENT_PREFIX,
    SESSION_VARIABLE,
    build_cases,
    case_loss,
    stable_guid,
)
from coding.refi.model import (
    QdaCode,
    QdaCoding,
    QdaNote,
    QdaProject,
    QdaSelection,
    QdaSource,
    QdaUser,
    QdaVariable,
)
from observations.models import Document
from research.models import Membership, Project, User

__all__ = [
    "CUSTOMER_REF_VARIABLE",
    "DESCRIPTION_LABELS",
    "KIND_VARIABLE",
    "SEGMENT_PREFIX",
    "SESSION_VARIABLE",
    "code_description",
    "project_to_qda",
    "split_code_description",
    "stable_guid",
]
# The labels of the code fields folded into a REFI-QDA code's Description, in order.
DESCRIPTION_LABELS = {
    "inclusion_notes": "Inclusion notes",
    "exclusion_notes": "Exclusion notes",
    "example": "Example",
}
SELECTION_NAME_LENGTH = 60


@cache
def verbatim_origin() -> str:
    """`Verbatim <version>` from pyproject.toml (just `Verbatim` if it cannot be read)."""
    try:
        with open(settings.BASE_DIR / "pyproject.toml", "rb") as handle:
            version = str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "Verbatim"
    return f"Verbatim {version}"


def code_description(
    description: str, inclusion_notes: str = "", exclusion_notes: str = "", example: str = ""
) -> str:
    """The description, then each non-empty note as a paragraph `<Label>: <text>`, in the
    order of `DESCRIPTION_LABELS`. Nothing is stripped, so `split_code_description` gives the
    same four texts back."""
    notes = {
        "inclusion_notes": inclusion_notes,
        "exclusion_notes": exclusion_notes,
        "example": example,
    }
    parts = [description] if description else []
    parts += [f"{DESCRIPTION_LABELS[key]}: {value}" for key, value in notes.items() if value]
    return "\n\n".join(parts)


def split_code_description(text: str) -> dict[str, str]:
    """Undo `code_description`: `description` and the labelled notes (missing ones empty).

    Labels are looked for from the end, in reverse order, each at the start of a paragraph; a
    description that itself holds such a paragraph is read as notes (an accepted ambiguity).
    """
    fields = dict.fromkeys(["description", *DESCRIPTION_LABELS], "")
    for key, label in reversed(DESCRIPTION_LABELS.items()):
        marker = f"\n\n{label}: "
        at = text.rfind(marker)
        if at >= 0:
            fields[key], text = text[at + len(marker) :], text[:at]
        elif text.startswith(f"{label}: "):
            fields[key], text = text[len(label) + 2 :], ""
    fields["description"] = text
    return fields


def selection_name(quote: str) -> str:
    """A selection's name: the quote with whitespace collapsed, cut at 60 characters."""
    flat = " ".join(quote.split())
    if len(flat) <= SELECTION_NAME_LENGTH:
        return flat
    return flat[: SELECTION_NAME_LENGTH - 1].rstrip() + "…"


def project_to_qda(project: Project) -> QdaProject:
    """The project as a `QdaProject`, with what REFI-QDA cannot hold in `not_carried`.

    Deterministic: the same data gives an equal result, GUIDs included. The number of queries
    is fixed (under twenty), whatever the number of rows.
    """
    users = _users(project)
    user_guid = {pk: user.guid for pk, user in users.items()}
    codes, roots, code_loss = _codes(project)
    memos = list(
        Memo.objects.filter(project=project)
        .order_by("id")
        .values(
            "pk", "title", "text", "author_id", "created_at", "document_id", "code_id", "excerpt_id"
        )
    )
    for memo in memos:
        if memo["code_id"] in codes:
            codes[memo["code_id"]].note_guids.append(stable_guid(project, "memo", memo["pk"]))
    notes = [
        QdaNote(
            guid=stable_guid(project, "memo", memo["pk"]),
            name=memo["title"],
            text=memo["text"],
            user_guid=user_guid.get(memo["author_id"], ""),
            created_at=memo["created_at"],
        )
        for memo in memos
    ]
    document_variables = [
        QdaVariable(guid=stable_guid(project, "variable", "kind"), name=KIND_VARIABLE),
        QdaVariable(guid=stable_guid(project, "variable", "session"), name=SESSION_VARIABLE),
    ]
    sources, excerpt_notes, of_participant, source_loss = _sources(
        project, user_guid, memos, document_variables
    )
    case_variables, cases = build_cases(project, of_participant)
    used = {guid for source in sources for guid in source.variables}
    return QdaProject(
        name=project.name,
        origin=verbatim_origin(),
        description=project.description,
        users=list(users.values()),
        codes=roots,
        variables=[*case_variables, *(v for v in document_variables if v.guid in used)],
        cases=cases,
        sources=sources,
        notes=notes + excerpt_notes,
        not_carried=code_loss + source_loss + case_loss(project),
    )


def _users(project: Project) -> dict[int, QdaUser]:
    """Members, coders, memo authors and document creators, by primary key. One query."""
    ids = (
        Q(pk__in=Membership.objects.filter(project=project).values("user_id"))
        | Q(pk__in=Excerpt.objects.filter(project=project).values("coder_id"))
        | Q(pk__in=Memo.objects.filter(project=project).values("author_id"))
        | Q(pk__in=Document.objects.filter(project=project).values("created_by_id"))
    )
    rows = (
        User.objects.filter(ids).order_by("username", "pk").only("pk", "username", "display_name")
    )
    return {
        user.pk: QdaUser(
            guid=stable_guid(project, "user", user.pk),
            name=user.display_name or user.username,
            id=user.username,
        )
        for user in rows
    }


def _codes(project: Project) -> tuple[dict[int, QdaCode], list[QdaCode], list[str]]:
    """Every code by primary key, the top-level ones (children attached to their parents, in
    codebook order), and what the codes lose. One query."""
    rows = list(Code.objects.filter(project=project).order_by("position", "name", "id"))
    codes = {
        code.pk: QdaCode(
            guid=stable_guid(project, "code", code.pk),
            name=code.name,
            is_codable=True,
            color=code.color,
            description=code_description(
                code.description, code.inclusion_notes, code.exclusion_notes, code.example
            ),
        )
        for code in rows
    }
    roots: list[QdaCode] = []
    for code in rows:
        parent = codes.get(code.parent_id) if code.parent_id is not None else None
        (parent.children if parent is not None else roots).append(codes[code.pk])
    loss = []
    archived = sum(code.is_archived for code in rows)
    if archived:
        loss.append(
            f"{archived} archived code(s) exported as ordinary codes: REFI-QDA has no archived "
            "state."
        )
    patterns = sum(bool(code.patterns) for code in rows)
    if patterns:
        loss.append(f"Pattern rules of {patterns} code(s): REFI-QDA has no suggestion rules.")
    return codes, roots, loss


def _sources(
    project: Project,
    user_guid: dict[int, str],
    memos: list[Any],
    variables: list[QdaVariable],
) -> tuple[list[QdaSource], list[QdaNote], dict[int, list[str]], list[str]]:
    """One source per document with its selections and codings; the notes made of excerpts'
    own memos; each participant's source GUIDs; what documents and excerpts lose. Three
    queries."""
    kind_var, session_var = (v.guid for v in variables)
    documents = (
        Document.objects.filter(project=project)
        .order_by("title", "id")
        .values(
            "pk",
            "title",
            "kind",
            "text",
            "participant_id",
            "session__title",
            "created_by_id",
            "created_at",
        )
    )
    sources: dict[int, QdaSource] = {}
    of_participant: dict[int, list[str]] = defaultdict(list)
    for doc in documents:
        values: dict[str, Any] = {kind_var: doc["kind"]}
        if doc["session__title"]:
            values[session_var] = doc["session__title"]
        sources[doc["pk"]] = QdaSource(
            guid=stable_guid(project, "document", doc["pk"]),
            name=doc["title"],
            text=doc["text"],
            user_guid=user_guid.get(doc["created_by_id"], ""),
            created_at=doc["created_at"],
            variables=values,
        )
        if doc["participant_id"] is not None:
            of_participant[doc["participant_id"]].append(sources[doc["pk"]].guid)
    for memo in memos:
        if memo["document_id"] in sources:
            guid = stable_guid(project, "memo", memo["pk"])
            sources[memo["document_id"]].note_guids.append(guid)
    memos_of_excerpt: dict[int, list[str]] = defaultdict(list)
    for memo in memos:
        if memo["excerpt_id"] is not None:
            memos_of_excerpt[memo["excerpt_id"]].append(stable_guid(project, "memo", memo["pk"]))
    excerpts = (
        Excerpt.objects.filter(project=project)
        .order_by("document_id", "start", "end", "id")
        .values(
            "pk", "document_id", "code_id", "start", "end", "text", "coder_id", "memo", "created_at"
        )
    )
    notes: list[QdaNote] = []
    selections: dict[tuple[int, int, int], QdaSelection] = {}
    outside = mismatched = 0
    for row in excerpts:
        source = sources[row["document_id"]]
        start, end = row["start"], row["end"]
        if end > len(source.text):
            outside += 1
            continue
        mismatched += source.text[start:end] != row["text"]
        key = (row["document_id"], start, end)
        selection = selections.get(key)
        if selection is None:
            selection = QdaSelection(
                guid=stable_guid(project, "selection", *key),
                start=start,
                end=end,
                name=selection_name(source.text[start:end]),
                user_guid=user_guid.get(row["coder_id"], ""),
                created_at=row["created_at"],
            )
            selections[key] = selection
            source.selections.append(selection)
        coding = QdaCoding(
            guid=stable_guid(project, "excerpt", row["pk"]),
            code_guid=stable_guid(project, "code", row["code_id"]),
            user_guid=user_guid.get(row["coder_id"], ""),
            created_at=row["created_at"],
        )
        selection.codings.append(coding)
        if row["memo"].strip():
            note = QdaNote(
                guid=stable_guid(project, "excerpt-memo", row["pk"]),
                name=f"Memo: {selection.name}",
                text=row["memo"],
                user_guid=coding.user_guid,
                created_at=row["created_at"],
            )
            notes.append(note)
            coding.note_guids.append(note.guid)
            selection.note_guids.append(note.guid)
        for guid in memos_of_excerpt.get(row["pk"], []):
            if guid not in selection.note_guids:
                selection.note_guids.append(guid)
    loss = _excerpt_loss(outside, mismatched)
    return list(sources.values()), notes, of_participant, loss


def _excerpt_loss(outside: int, mismatched: int) -> list[str]:
    """What documents and excerpts lose, one sentence per kind of thing."""
    loss = []
    if outside:
        loss.append(f"{outside} excerpt(s) reaching past the end of their document: left out.")
    if mismatched:
        loss.append(
            f"{mismatched} excerpt(s) whose stored quote differs from the document's text at "
            "their offsets (after an edit): exported at their offsets, with the document's text."
        )
    loss.append(
        "Excerpt review flags and suggestion provenance, document file names and recording "
        "dates: REFI-QDA has no fields for them."
    )
    return loss
