"""Pages of the codebook area: the tree of themes and codes, one code's panel (with its pattern
rules and their live preview), merge, split, history with undo, and CSV import/export.

Everyone in the project reads the codebook; only roles with EDIT_CODEBOOK see and use the edit
forms. Every form is a plain POST that redirects (post/redirect/get); when htmx sends it, the view
answers with the `#codebook` partial (tree, panel, history) instead, and pushes the URL of the
selected code. Each action calls one service; this module only parses, checks access and renders.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from coding import services
from coding.models import DEFAULT_CODE_COLOR, Code, CodebookChange, Excerpt
from coding.selectors import code_list, codebook_history, excerpt_list
from frontend.areas.codebook_patterns import pattern_rows, posted_patterns, rule_messages
from frontend.views import AuthedRequest
from observations.services.imports import ImportValidationError
from research.concurrency import VersionConflict, parse_version
from research.permissions import ProjectAccess, access_object, access_project
from research.roles import Capability

EDIT = Capability.EDIT_CODEBOOK
TEXT_FIELDS = ("name", "description", "inclusion_notes", "exclusion_notes", "example", "color")
HISTORY_LIMIT = 8
PATTERN_TYPES = (
    ("keyword", "Keyword"),
    ("phrase", "Phrase"),
    ("tokens", "Token pattern (JSON)"),
)


@dataclass
class Node:
    """One code in the tree with its children, in codebook order."""

    code: Code
    depth: int
    children: list["Node"] = field(default_factory=list)

    @property
    def option_label(self) -> str:
        """The name indented by depth, for `<option>`s (no-break spaces survive collapsing)."""
        return "\u00a0\u00a0\u00a0" * (self.depth - 1) + self.code.name


def _tree(codes: list[Code]) -> list[Node]:
    by_parent: dict[int | None, list[Code]] = {}
    for code in codes:
        by_parent.setdefault(code.parent_id, []).append(code)

    def grow(parent: int | None, depth: int) -> list[Node]:
        return [Node(code, depth, grow(code.pk, depth + 1)) for code in by_parent.get(parent, [])]

    return grow(None, 1)


def _walk(nodes: list[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def _descendants(node: Node) -> set[int]:
    return {child.code.pk for child in _walk(node.children)}


def _ancestors(code: Code, nodes: dict[int, Node]) -> list[Code]:
    """The codes above `code`, theme first, for the panel's path."""
    found: list[Code] = []
    parent_id = code.parent_id
    while parent_id is not None and parent_id in nodes:
        found.insert(0, nodes[parent_id].code)
        parent_id = nodes[parent_id].code.parent_id
    return found


def _page_url(slug: str, code: Code | None = None) -> str:
    url = reverse("frontend:codebook", kwargs={"slug": slug})
    return f"{url}?code={code.pk}#code-panel" if code is not None else url


def _code_fields(request: AuthedRequest) -> dict[str, str]:
    return {name: request.POST[name] for name in TEXT_FIELDS if name in request.POST}


def _parent(access: ProjectAccess, raw: str) -> Code | None:
    """The code named by a "parent"/"target" select; empty means the top level."""
    return access_object(access.project.codes.all(), raw) if raw else None


def _history(access: ProjectAccess) -> list[CodebookChange]:
    return list(codebook_history(project=access.project)[:HISTORY_LIMIT])


def _edit_values(code: Code, form_values: Any) -> dict[str, str]:
    """What the edit form shows: the code as stored, or what the user typed when their save was
    refused (a bad value, or someone else's edit in between), so nothing typed is lost."""
    typed = form_values if form_values and form_values.get("action") == "update" else {}
    return {name: typed.get(name, getattr(code, name)) for name in TEXT_FIELDS}


def _posted_version(request: AuthedRequest) -> int | None:
    """The code version the form was rendered with; None for a form without one (old tabs)."""
    raw = request.POST.get("version", "")
    if raw and parse_version(raw) is None:
        raise ValidationError({"version": "The form's version is not a whole number: reload."})
    return parse_version(raw) if raw else None


def _context(
    request: AuthedRequest, access: ProjectAccess, selected_id: object, **extra: Any
) -> dict[str, Any]:
    codes = list(code_list(project=access.project))
    tree = _tree(codes)
    nodes = {node.code.pk: node for node in _walk(tree)}
    raw = str(selected_id or "")
    selected = nodes.get(int(raw)) if raw.isdigit() else None
    move_targets, ancestors = list(_walk(tree)), []
    if selected is not None:
        blocked = _descendants(selected) | {selected.code.pk}
        move_targets = [node for node in move_targets if node.code.pk not in blocked]
        ancestors = _ancestors(selected.code, nodes)
        slug, pk = access.project.slug, selected.code.pk
        extra.setdefault("merge_url", reverse("frontend:codebook-merge", args=[slug, pk]))
        extra.setdefault("split_url", reverse("frontend:codebook-split", args=[slug, pk]))
        extra.setdefault(
            "preview_url", reverse("frontend:codebook-patterns-preview", args=[slug, pk])
        )
        extra["pattern_rows"] = pattern_rows(selected.code, extra.get("form_values"))
        extra["edit_values"] = _edit_values(selected.code, extra.get("form_values"))
    history = _history(access)
    latest = next((change for change in history if change.undone_at is None), None)
    context: dict[str, Any] = {
        "project": access.project,
        "may_edit": access.can(EDIT),
        "tree": tree,
        "nodes": list(_walk(tree)),
        "selected": selected,
        "ancestors": ancestors,
        "move_targets": move_targets,
        "history": history,
        # The backend undoes the latest change not yet undone, so undos can walk back in turn.
        "undoable": latest.pk if latest is not None else None,
        "default_color": DEFAULT_CODE_COLOR,
        "pattern_types": PATTERN_TYPES,
        "counts": {
            "codes": len(codes),
            "themes": len(tree),
            "archived": sum(1 for code in codes if code.is_archived),
        },
        "error": "",
        "field_errors": {},
        "form_values": {},
        "import_errors": [],
        "undo_url": reverse("frontend:codebook-undo", kwargs={"slug": access.project.slug}),
        "codebook_export_url": reverse(
            "frontend:codebook-export", kwargs={"slug": access.project.slug}
        ),
        "codebook_import_url": reverse(
            "frontend:codebook-import", kwargs={"slug": access.project.slug}
        ),
    }
    context.update(extra)
    return context


def _render(
    request: AuthedRequest,
    access: ProjectAccess,
    selected_id: object,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context = _context(request, access, selected_id, **extra)
    if request.htmx:
        response = render(request, "frontend/codebook/_codebook.html", context)
        if context["selected"] is not None:
            response["HX-Push-Url"] = _page_url(
                access.project.slug, context["selected"].code
            ).split("#")[0]
        return response
    return render(request, "frontend/codebook/codebook.html", context, status=status)


def _done(
    request: AuthedRequest, access: ProjectAccess, notice: str, code: Code | None
) -> HttpResponseBase:
    if request.htmx:
        return _render(request, access, code.pk if code else None, notice=notice)
    messages.success(request, notice)
    return redirect(_page_url(access.project.slug, code))


def _failed(
    request: AuthedRequest,
    access: ProjectAccess,
    exc: ValidationError,
    selected_id: object,
    status: int = 400,
) -> HttpResponse:
    """Show a service's refusal: beside its field when there is one, else above the panel.
    A 400 without htmx; htmx swaps only successful answers, so it gets a 200."""
    field_errors = (
        {k: " ".join(rule_messages(v)) for k, v in exc.message_dict.items()}
        if hasattr(exc, "error_dict")
        else {}
    )
    error = " ".join(exc.messages)
    return _render(
        request,
        access,
        selected_id,
        status=status,
        error=error,
        field_errors=field_errors,
        form_values=request.POST,
    )


@login_required
@require_http_methods(["GET", "POST"])
def codebook_page(request: AuthedRequest, slug: str) -> HttpResponseBase:
    """The codebook tree; POST creates a code (at the top level or under `parent`)."""
    if request.method != "POST":
        access = access_project(request.user, slug)
        return _render(request, access, request.GET.get("code"))
    access = access_project(request.user, slug, need=EDIT)
    parent_raw = request.POST.get("parent", "")
    try:
        parent = _parent(access, parent_raw)
        fields = {"name": "", **_code_fields(request)}
        code = services.code_create(
            project=access.project, creator=request.user, parent=parent, **fields
        )
    except ValidationError as exc:
        return _failed(request, access, exc, parent_raw)
    where = f"under “{parent.name}”" if parent else "as a theme"
    return _done(request, access, f"Added “{code.name}” {where}.", code)


def _code_action(
    access: ProjectAccess, request: AuthedRequest, code: Code
) -> tuple[str, Code | None]:
    """Run the one service the posted `action` names; return the notice and the code to show."""
    action = request.POST.get("action", "")
    name = code.name
    user = request.user
    expected = _posted_version(request)
    if action == "update":
        services.code_update(
            code=code, user=user, expected_version=expected, **_code_fields(request)
        )
        return f"Saved “{code.name}”.", code
    if action == "patterns":
        services.code_update(
            code=code, user=user, expected_version=expected, patterns=posted_patterns(request)
        )
        count = len(code.patterns)
        return f"Saved {count} pattern rule{'s' if count != 1 else ''} of “{code.name}”.", code
    if action == "move":
        parent = _parent(access, request.POST.get("parent", ""))
        services.code_move(code=code, parent=parent, user=user)
        where = f"under “{parent.name}”" if parent else "to the top level (a theme)"
        return f"Moved “{name}” {where}.", code
    if action == "archive":
        services.code_archive(code=code, user=user)
        return f"Archived “{name}”: it keeps its excerpts but is no longer offered to coders.", code
    if action == "unarchive":
        services.code_unarchive(code=code, user=user)
        return f"“{name}” is available for coding again.", code
    if action == "delete":
        parent = code.parent
        services.code_delete(code=code, user=user, expected_version=expected)
        return f"Deleted “{name}”.", parent
    raise ValidationError({"action": "Choose what to do with this code."})


@login_required
@require_POST
def codebook_code(request: AuthedRequest, slug: str, code_id: int) -> HttpResponseBase:
    """Edit, move, archive, unarchive or delete one code (`action` says which)."""
    access = access_project(request.user, slug, need=EDIT)
    code = access_object(access.project.codes.all(), code_id)
    try:
        notice, shown = _code_action(access, request, code)
    except ValidationError as exc:
        return _failed(request, access, exc, code_id)
    except VersionConflict:
        # Someone saved this code after the form was drawn: show the code as it is now, keep
        # what this user typed in the form, and let them save again on purpose.
        conflict = ValidationError(
            f"Someone else changed “{code.name}” since you opened it; nothing was saved. "
            "The code below is as it is now, with what you typed kept in the form: "
            "compare, then save again to replace their change."
        )
        return _failed(request, access, conflict, code_id, status=409)
    return _done(request, access, notice, shown)


def _source_and_target(access: ProjectAccess, code_id: int, raw: str) -> tuple[Code, Code | None]:
    codes = code_list(project=access.project)
    source = access_object(codes, code_id)
    target = access_object(codes, raw) if raw else None
    return source, target


def _duplicates(source: Code, target: Code) -> int:
    """How many of `source`'s excerpts have an exact twin on `target` (same document, span and
    coder): the ones `code_merge` collapses. A count for the confirmation, nothing more."""
    twins = Excerpt.objects.filter(
        code=target,
        document_id=OuterRef("document_id"),
        start=OuterRef("start"),
        end=OuterRef("end"),
        coder_id=OuterRef("coder_id"),
    )
    return source.excerpts.filter(Exists(twins)).count()


@login_required
@require_http_methods(["GET", "POST"])
def codebook_merge(request: AuthedRequest, slug: str, code_id: int) -> HttpResponseBase:
    """Choose a target (`into`), see what will happen, confirm; POST merges."""
    access = access_project(request.user, slug, need=EDIT)
    data = request.POST if request.method == "POST" else request.GET
    source, target = _source_and_target(access, code_id, data.get("into", ""))
    error = ""
    if request.method == "POST":
        if target is None:
            error = "Choose the code to merge into."
        else:
            try:
                services.code_merge(source=source, target=target, user=request.user)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                notice = f"Merged “{source.name}” into “{target.name}”."
                return _done(request, access, notice, target)
    codes = list(_walk(_tree(list(code_list(project=access.project)))))
    context = {
        "project": access.project,
        "source": source,
        "target": target,
        "targets": [node for node in codes if node.code.pk != source.pk],
        "moving": source.excerpt_count,  # type: ignore[attr-defined]
        "duplicates": _duplicates(source, target) if target is not None else 0,
        "children": source.children.count(),
        "error": error,
        "back": _page_url(access.project.slug, source),
    }
    return render(request, "frontend/codebook/merge.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def codebook_split(request: AuthedRequest, slug: str, code_id: int) -> HttpResponseBase:
    """List the code's excerpts with their quotes and documents; POST moves the chosen ones to a
    new sibling code."""
    access = access_project(request.user, slug, need=EDIT)
    code = access_object(access.project.codes.all(), code_id)
    excerpts = list(
        excerpt_list(project=access.project).filter(code=code).select_related("document")
    )
    chosen = set(request.POST.getlist("excerpts"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        picked = [excerpt for excerpt in excerpts if str(excerpt.pk) in chosen]
        try:
            new = services.code_split(
                code=code, excerpts=picked, name=request.POST.get("name", ""), user=request.user
            )
        except ValidationError as exc:
            errors = {key: " ".join(value) for key, value in exc.message_dict.items()}
        else:
            notice = (
                f"Moved {len(picked)} excerpt(s) of “{code.name}” to the new code “{new.name}”."
            )
            return _done(request, access, notice, new)
    context = {
        "project": access.project,
        "code": code,
        "excerpts": excerpts,
        "chosen": chosen,
        "name": request.POST.get("name", ""),
        "errors": errors,
        "back": _page_url(access.project.slug, code),
    }
    return render(request, "frontend/codebook/split.html", context, status=400 if errors else 200)


@login_required
@require_POST
def codebook_undo(request: AuthedRequest, slug: str) -> HttpResponseBase:
    """Undo the change named by `change` (the backend allows only the latest one)."""
    access = access_project(request.user, slug, need=EDIT)
    raw = request.POST.get("change", "")
    if not raw:
        return _render(request, access, None, status=400, error="Choose a change to undo.")
    change = access_object(access.project.codebook_changes.all(), raw)
    try:
        services.codebook_undo(change=change, user=request.user)
    except ValidationError as exc:
        return _failed(request, access, exc, change.code_id)
    # The code is gone when the undo removed it; then the page shows no code.
    shown = access.project.codes.filter(pk=change.code_id or 0).first()
    return _done(request, access, f"Undone: {change.summary}", shown)


@login_required
@require_safe
def codebook_export(request: AuthedRequest, slug: str) -> HttpResponse:
    """The codebook as a CSV download (opens in a spreadsheet)."""
    access = access_project(request.user, slug)
    response = HttpResponse(
        services.codebook_export_csv(access.project), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{access.project.slug}-codebook.csv"'
    return response


@login_required
@require_POST
def codebook_import(request: AuthedRequest, slug: str) -> HttpResponseBase:
    """Create and update codes from a CSV file; all or nothing, problems named by row and column."""
    access = access_project(request.user, slug, need=EDIT)
    upload = request.FILES.get("file")
    if upload is None:
        problems: list[dict[str, Any]] = [{"message": "Choose a CSV file to import."}]
    else:
        try:
            result = services.codebook_import_csv(
                project=access.project, user=request.user, data=upload.read()
            )
        except ImportValidationError as exc:
            problems = exc.errors
        except ValidationError as exc:
            problems = [{"message": message} for message in exc.messages]
        else:
            notice = (
                f"Imported the codebook: {len(result.created)} code(s) created, "
                f"{len(result.updated)} updated."
            )
            messages.success(request, notice)
            return redirect(_page_url(access.project.slug))
    return _render(request, access, None, status=400, import_errors=problems)


urlpatterns = [
    path("p/<slug:slug>/codebook/", codebook_page, name="codebook"),
    path("p/<slug:slug>/codebook/export/", codebook_export, name="codebook-export"),
    path("p/<slug:slug>/codebook/import/", codebook_import, name="codebook-import"),
    path("p/<slug:slug>/codebook/undo/", codebook_undo, name="codebook-undo"),
    path("p/<slug:slug>/codebook/<int:code_id>/", codebook_code, name="codebook-code"),
    path("p/<slug:slug>/codebook/<int:code_id>/merge/", codebook_merge, name="codebook-merge"),
    path("p/<slug:slug>/codebook/<int:code_id>/split/", codebook_split, name="codebook-split"),
]
