"""Reads of the codebook, excerpts and memos. Query counts do not grow with rows."""

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    Aggregate,
    Count,
    IntegerField,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, JSONObject

from coding.models import Code, CodebookChange, Excerpt, Memo
from observations.models import Document, FieldNote, SpeakerTurn
from research.models import Project, User
from research.permissions import access_object


def code_list(*, project: Project) -> QuerySet[Code]:
    """The project's codebook in one query, each code with `excerpt_count` (its own excerpts
    only) and `participant_count`: distinct participants of the documents those excerpts are in.

    Participants are counted through `Document.participant` only; a group interview's speaker
    turns naming other participants are not counted yet.
    """
    return project.codes.annotate(
        excerpt_count=Count("excerpts", distinct=True),
        participant_count=Count("excerpts__document__participant", distinct=True),
    ).order_by("position", "name", "id")


def codebook_history(*, project: Project) -> QuerySet[CodebookChange]:
    """The project's codebook changes, newest first, with who did and undid them."""
    return project.codebook_changes.select_related("user", "undone_by").order_by("-id")


def excerpt_list(*, project: Project) -> QuerySet[Excerpt]:
    """The project's excerpts in document order, with code and coder loaded."""
    return project.excerpts.select_related("code", "coder").order_by(
        "document_id", "start", "end", "id"
    )


def memo_list(*, project: Project) -> QuerySet[Memo]:
    """The project's memos, most recently changed first."""
    return project.memos.select_related("author").order_by("-updated_at", "id")


def _count(queryset: QuerySet[Any]) -> Any:
    return Coalesce(
        Subquery(
            queryset.order_by().values("project").annotate(n=Count("pk")).values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def project_overview(*, project: Project) -> dict[str, int]:
    """Counts of participants, sessions, documents, codes and excerpts, in one query."""
    from observations.models import Document, ObservationSession
    from research.models import Participant

    counts = (
        Project.objects.filter(pk=project.pk)
        .annotate(
            n_participants=_count(Participant.objects.filter(project=OuterRef("pk"))),
            n_sessions=_count(ObservationSession.objects.filter(project=OuterRef("pk"))),
            n_documents=_count(Document.objects.filter(project=OuterRef("pk"))),
            n_codes=_count(Code.objects.filter(project=OuterRef("pk"))),
            n_excerpts=_count(Excerpt.objects.filter(project=OuterRef("pk"))),
        )
        .values("n_participants", "n_sessions", "n_documents", "n_codes", "n_excerpts")
        .get()
    )
    return {key.removeprefix("n_"): int(value) for key, value in counts.items()}


# --- coding workspace ---


class _JSONAgg(Aggregate):
    """The aggregated values as one JSON array (SQLite JSON_GROUP_ARRAY, PostgreSQL JSONB_AGG)."""

    function = "JSON_GROUP_ARRAY"
    output_field = JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSONB_AGG", **extra_context)


def _json_rows(queryset: QuerySet[Any], **fields: Any) -> Subquery:
    """`queryset`'s rows as a JSON array of objects, for an annotation on an outer query.

    Grouping by a constant leaves no GROUP BY, so the subquery yields exactly one row. The order
    inside the array is not guaranteed; callers sort.
    """
    rows = (
        queryset.order_by()
        .annotate(_all=Value(1))
        .values("_all")
        .annotate(rows=_JSONAgg(JSONObject(**fields)))
        .values("rows")
    )
    return Subquery(rows, output_field=JSONField())


def _aware(value: str | None) -> datetime | None:
    """A datetime read from JSON (SQLite stores naive UTC text, PostgreSQL writes an offset)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _document_with_children(project: Project, document_id: object) -> Document:
    documents = project.documents.only(
        "id", "project_id", "title", "kind", "text", "text_version", "version", "session_id"
    ).annotate(
        turns_json=_json_rows(
            SpeakerTurn.objects.filter(document=OuterRef("pk")),
            id="id",
            index="index",
            speaker="speaker",
            participant="participant__pseudonym",
            interviewer="interviewer__username",
            start="start",
            end="end",
            started_at_ms="started_at_ms",
            ended_at_ms="ended_at_ms",
        ),
        notes_json=_json_rows(
            FieldNote.objects.filter(session=OuterRef("session"), document_start__isnull=False),
            id="id",
            kind="kind",
            observed_at="observed_at",
            participant="participant__pseudonym",
            start="document_start",
            end="document_end",
        ),
        memos_json=_json_rows(
            Memo.objects.filter(Q(document=OuterRef("pk")) | Q(excerpt__document=OuterRef("pk"))),
            id="id",
            title="title",
            text="text",
            author="author__username",
            excerpt="excerpt_id",
            code="code_id",
            created_at="created_at",
            updated_at="updated_at",
        ),
    )
    return access_object(documents, document_id)


def _excerpt_rows(document: Document) -> list[dict[str, Any]]:
    fields = (
        "id",
        "code",
        "start",
        "end",
        "coder_id",
        "coder",
        "memo",
        "needs_review",
        "review_reason",
        "created_at",
        "version",
    )
    rows = (
        Excerpt.objects.filter(document_id=document.pk, project_id=document.project_id)
        .order_by("start", "end", "id")
        .values_list(
            "id",
            "code_id",
            "start",
            "end",
            "coder_id",
            "coder__username",
            "memo",
            "needs_review",
            "review_reason",
            "created_at",
            "version",
        )
    )
    return [dict(zip(fields, row, strict=True)) for row in rows]


def _descendants(codes: list[dict[str, Any]], root: int) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for code in codes:
        children.setdefault(code["parent"], []).append(code["id"])
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def document_workspace(
    *,
    project: Project,
    document_id: object,
    user: User,
    coder: str | None = None,
    code: int | None = None,
    descendants: bool = False,
    mine: bool = False,
) -> dict[str, Any]:
    """Everything the coding workspace shows for one document, in three queries.

    The document (with its speaker turns, field-note ranges and memos folded in as JSON), the
    document's excerpts, and the codebook with the user's last use of each code. Raises `Http404`
    for a document outside `project` and `ValidationError` for a `code` outside its codebook.

    Filters narrow `excerpts` only: `coder` (a username), `code` (with `descendants`, its whole
    subtree), `mine` (blind mode: the user's own, and `coders` names only the user). `coders`
    lists everyone with excerpts in the document, members or not any more, by username.
    `recent_codes` holds up to 10 code ids, the user's most recently applied first.
    """
    document = _document_with_children(project, document_id)
    last_used = (
        Excerpt.objects.filter(code=OuterRef("pk"), coder_id=user.pk)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    code_rows = list(
        project.codes.annotate(last_used=Subquery(last_used))
        .order_by("position", "name", "id")
        .values("id", "parent", "name", "color", "is_archived", "description", "last_used")
    )
    used = sorted(
        (row for row in code_rows if row["last_used"] is not None),
        key=lambda row: (row["last_used"], row["id"]),
        reverse=True,
    )
    recent = [row["id"] for row in used[:10]]
    for row in code_rows:
        del row["last_used"]

    excerpts = _excerpt_rows(document)
    coders = {row["coder_id"]: row["coder"] for row in excerpts}
    if mine:
        excerpts = [row for row in excerpts if row["coder_id"] == user.pk]
        coders = {k: v for k, v in coders.items() if k == user.pk}
    elif coder:
        excerpts = [row for row in excerpts if row["coder"] == coder]
    if code is not None:
        if not any(row["id"] == code for row in code_rows):
            raise ValidationError({"code": "Not found in this project."})
        wanted = _descendants(code_rows, code) if descendants else {code}
        excerpts = [row for row in excerpts if row["code"] in wanted]
    for row in excerpts:
        del row["coder_id"]

    turns = sorted(document.turns_json or [], key=lambda t: t["index"])  # type: ignore[attr-defined]
    notes: list[dict[str, Any]] = []
    if document.kind == Document.Kind.FIELD_NOTES:
        notes = sorted(document.notes_json or [], key=lambda n: (n["start"], n["id"]))  # type: ignore[attr-defined]
        for note in notes:
            note["observed_at"] = _aware(note["observed_at"])
    memos = document.memos_json or []  # type: ignore[attr-defined]
    for memo in memos:
        memo["created_at"] = _aware(memo["created_at"])
        memo["updated_at"] = _aware(memo["updated_at"])
    memos.sort(key=lambda m: m["id"])
    memos.sort(key=lambda m: m["updated_at"], reverse=True)
    return {
        "document": {
            "id": document.pk,
            "title": document.title,
            "kind": document.kind,
            "text": document.text,
            "text_version": document.text_version,
            "version": document.version,
        },
        "turns": turns,
        "field_notes": notes,
        "excerpts": excerpts,
        "codes": code_rows,
        "recent_codes": recent,
        "memos": memos,
        "coders": [
            {"id": k, "username": v} for k, v in sorted(coders.items(), key=lambda kv: kv[1])
        ],
    }


# --- exports ---------------------------------------------------------------------------------


def _code_paths(project: Project) -> tuple[list[int], dict[int, str], dict[int, str]]:
    """Codes of `project` in tree order (depth first, siblings by position, name, id), with
    each code's name and its path "Theme > Code > Child". One query."""
    rows: list[dict[str, Any]] = [
        dict(r)
        for r in Code.objects.filter(project=project).values("id", "name", "parent_id", "position")
    ]
    children: dict[int | None, list[dict[str, Any]]] = {}
    for code in rows:
        children.setdefault(code["parent_id"], []).append(code)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r["position"], r["name"].lower(), r["id"]))
    order: list[int] = []
    names: dict[int, str] = {}
    paths: dict[int, str] = {}
    stack: list[tuple[dict[str, Any], str]] = [(r, "") for r in reversed(children.get(None, []))]
    while stack:
        row, prefix = stack.pop()
        path = f"{prefix} > {row['name']}" if prefix else row["name"]
        order.append(row["id"])
        names[row["id"]] = row["name"]
        paths[row["id"]] = path
        stack.extend((c, path) for c in reversed(children.get(row["id"], [])))
    return order, names, paths


def _attribute_keys(participants: Iterable[Mapping[str, Any]]) -> list[str]:
    keys: set[str] = set()
    for p in participants:
        if isinstance(p["attributes"], dict):
            keys.update(str(k) for k in p["attributes"])
    return sorted(keys)


def excerpt_export_columns(*, project: Project) -> list[str]:
    """The columns of `excerpt_export_rows`, attribute columns included (one query)."""
    from research.models import Participant

    participants = list(Participant.objects.filter(project=project).values("attributes"))
    return [
        *EXCERPT_EXPORT_BASE[:7],
        *(f"attr:{k}" for k in _attribute_keys(participants)),
        *EXCERPT_EXPORT_BASE[7:],
    ]


EXCERPT_EXPORT_BASE = [
    "excerpt_id",
    "quote",
    "document_id",
    "document_title",
    "document_kind",
    "participant",
    "customer_ref",
    "code_id",
    "code_name",
    "code_path",
    "coder",
    "start",
    "end",
    "memo",
    "needs_review",
    "created_at",
]


def excerpt_export_rows(*, project: Project) -> Iterator[dict[str, Any]]:
    """One dict per excerpt of `project`, keyed by `excerpt_export_columns`, in document order.

    The participant is the document's participant (`Document.participant`); its attributes are
    flattened as `attr:<name>` columns over the union of keys of all the project's participants
    (missing keys are None). Three queries whatever the number of excerpts.
    """
    from research.models import Participant

    participants = {
        p["id"]: p
        for p in Participant.objects.filter(project=project).values(
            "id", "pseudonym", "customer_ref", "attributes"
        )
    }
    keys = _attribute_keys(participants.values())
    _, names, paths = _code_paths(project)
    excerpts = (
        Excerpt.objects.filter(project=project)
        .order_by("document_id", "start", "end", "id")
        .values(
            "id",
            "text",
            "document_id",
            "document__title",
            "document__kind",
            "document__participant_id",
            "code_id",
            "coder__username",
            "start",
            "end",
            "memo",
            "needs_review",
            "created_at",
        )
    )
    for e in excerpts.iterator(chunk_size=2000):
        person = participants.get(e["document__participant_id"])
        attrs = person["attributes"] if person and isinstance(person["attributes"], dict) else {}
        row: dict[str, Any] = {
            "excerpt_id": e["id"],
            "quote": e["text"],
            "document_id": e["document_id"],
            "document_title": e["document__title"],
            "document_kind": e["document__kind"],
            "participant": person["pseudonym"] if person else None,
            "customer_ref": person["customer_ref"] if person else None,
        }
        for key in keys:
            row[f"attr:{key}"] = attrs.get(key)
        row.update(
            {
                "code_id": e["code_id"],
                "code_name": names.get(e["code_id"]),
                "code_path": paths.get(e["code_id"]),
                "coder": e["coder__username"],
                "start": e["start"],
                "end": e["end"],
                "memo": e["memo"],
                "needs_review": e["needs_review"],
                "created_at": e["created_at"].isoformat(),
            }
        )
        yield row


def theme_feature_rows(*, project: Project) -> tuple[list[str], list[dict[str, Any]]]:
    """One row per participant of `project` (all of them, zeros included), by pseudonym:
    `participant`, `customer_ref`, then one column per code in tree order.

    A code's column is its name, or its path ("Theme > Code") when another code has the same
    name (ignoring case) under a different parent, and `code:<name>` for a code named
    `participant` or `customer_ref`. The value is the number of excerpts of that
    code (the code itself, not its children) in documents whose `Document.participant` is that
    participant. Three queries: participants, codes, and one GROUP BY (participant, code).
    """
    from research.models import Participant

    order, names, paths = _code_paths(project)
    seen: dict[str, int] = {}
    for code_id in order:
        seen[names[code_id].lower()] = seen.get(names[code_id].lower(), 0) + 1
    label = {c: names[c] if seen[names[c].lower()] == 1 else paths[c] for c in order}
    for c, text in label.items():  # a code called "participant" must not overwrite the key
        if text in ("participant", "customer_ref"):
            label[c] = f"code:{text}"
    counts: dict[tuple[int, int], int] = {
        (r["document__participant_id"], r["code_id"]): r["n"]
        for r in Excerpt.objects.filter(project=project, document__participant__isnull=False)
        .values("document__participant_id", "code_id")
        .annotate(n=Count("id"))
        .order_by()
    }
    columns = ["participant", "customer_ref", *(label[c] for c in order)]
    rows = []
    for p in (
        Participant.objects.filter(project=project)
        .order_by("pseudonym", "id")
        .values("id", "pseudonym", "customer_ref")
    ):
        row: dict[str, Any] = {"participant": p["pseudonym"], "customer_ref": p["customer_ref"]}
        for c in order:
            row[label[c]] = counts.get((p["id"], c), 0)
        rows.append(row)
    return columns, rows
