"""The pages: each view checks access, calls one service or selector, and renders.

Member changes are plain POST forms that redirect (post/redirect/get); when htmx sends them, the
view answers with the members panel partial instead, so the page updates in place.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from coding.selectors import project_overview
from frontend.forms import (
    MemberAddForm,
    MemberRoleForm,
    ProjectCreateForm,
    apply_service_errors,
)
from frontend.wording import FIGURES, ROLE_SUMMARY, abilities
from research.models import Membership, User
from research.permissions import ProjectAccess, access_object, access_project
from research.roles import Capability, Role
from research.selectors import membership_list, project_list
from research.services import (
    membership_create,
    membership_delete,
    membership_update,
    project_create,
)


class AuthedRequest(HttpRequest):
    """A request behind `login_required`, with django-htmx's details attached."""

    user: User
    htmx: HtmxDetails


@login_required
@require_http_methods(["GET", "POST"])
def project_list_page(request: AuthedRequest) -> HttpResponse:
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create(creator=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"Created “{project.name}”. You are its owner.")
            return redirect("frontend:project-home", slug=project.slug)
    projects = project_list(user=request.user)
    rows = [(project, Role(project.my_role)) for project in projects]  # type: ignore[attr-defined]
    context = {"rows": rows, "form": form}
    return render(
        request, "frontend/project_list.html", context, status=400 if form.errors else 200
    )


@login_required
@require_safe
def project_home(request: AuthedRequest, slug: str) -> HttpResponse:
    access = access_project(request.user, slug)
    counts = project_overview(project=access.project)
    can, cannot = abilities(access.role)
    context = {
        "project": access.project,
        "role": access.role,
        "role_summary": ROLE_SUMMARY[access.role],
        "figures": [(label, counts[key], meaning) for key, label, meaning in FIGURES],
        "can": can,
        "cannot": cannot,
        "may_manage_members": access.can(Capability.MANAGE_MEMBERS),
    }
    return render(request, "frontend/project_home.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_members(request: AuthedRequest, slug: str) -> HttpResponse:
    access = access_project(request.user, slug, need=Capability.MANAGE_MEMBERS)
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = membership_create(project=access.project, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            role = Role(membership.role).label
            return _members_done(request, access, f"Added {membership.user.username} as {role}.")
    return _members_render(request, access, add_form=form)


@login_required
@require_POST
def project_member(request: AuthedRequest, slug: str, membership_id: int) -> HttpResponseBase:
    access = access_project(request.user, slug, need=Capability.MANAGE_MEMBERS)
    membership = access_object(membership_list(project=access.project), membership_id)
    username = membership.user.username
    if request.POST.get("action") == "remove":
        try:
            membership_delete(membership=membership)
        except ValidationError as exc:
            return _members_render(request, access, error=_failure("remove", membership, exc))
        if membership.user_id == request.user.pk:
            return _leave(request, "You left the project.", reverse("frontend:project-list"))
        return _members_done(request, access, f"Removed {username} from the project.")
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _members_render(request, access, error=f"Choose a role for {username}.")
    try:
        updated = membership_update(membership=membership, role=form.cleaned_data["role"])
    except ValidationError as exc:
        error = _failure("change the role of", membership, exc)
        return _members_render(request, access, error=error)
    notice = f"{username} is now {Role(updated.role).label}."
    if updated.user_id == request.user.pk and not Role(updated.role).can_manage_members():
        home = reverse("frontend:project-home", kwargs={"slug": access.project.slug})
        return _leave(request, notice, home)
    return _members_done(request, access, notice)


def _failure(what: str, membership: Membership, exc: ValidationError) -> str:
    text = f"Could not {what} {membership.user.username}: {' '.join(exc.messages)}"
    if membership.role == Role.OWNER:  # the only rule an owner's change can break: last owner
        text += " Make another member an owner first."
    return text


def _leave(request: AuthedRequest, notice: str, url: str) -> HttpResponseBase:
    """The user just gave up managing members: send them somewhere they may still go."""
    messages.success(request, notice)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _members_done(request: AuthedRequest, access: ProjectAccess, notice: str) -> HttpResponse:
    if request.htmx:
        return _members_render(request, access, notice=notice)
    messages.success(request, notice)
    return redirect("frontend:project-members", slug=access.project.slug)


def _members_render(
    request: AuthedRequest,
    access: ProjectAccess,
    *,
    add_form: MemberAddForm | None = None,
    notice: str = "",
    error: str = "",
) -> HttpResponse:
    """The members page, or only its panel for htmx. Errors are a 400 except for htmx, which
    swaps only successful responses."""
    add_form = add_form or MemberAddForm()
    failed = bool(error or add_form.errors)
    context: dict[str, Any] = {
        "project": access.project,
        "members": list(membership_list(project=access.project)),
        "add_form": add_form,
        "role_choices": Role.choices,
        "role_summaries": [(role.label, ROLE_SUMMARY[role]) for role in Role],
        "notice": notice,
        "error": error,
    }
    if request.htmx:
        return render(request, "frontend/partials/members_panel.html", context)
    return render(request, "frontend/project_members.html", context, status=400 if failed else 200)
