"""Helpers shared by the management commands that import into a project."""

from django.core.management.base import CommandError

from research.models import Project, User
from research.roles import Capability, Role


def command_importer(project: Project, username: str | None) -> User:
    """Who a command-line import is recorded as: the member `username`, who must be allowed to
    import, or else the project's first owner. `CommandError` naming the problem otherwise."""
    members = User.objects.filter(memberships__project=project)
    if username:
        user = members.filter(username=username).first()
        if user is None:
            raise CommandError(f"{username!r} is not a member of {project.slug}.")
        role = Role(user.memberships.get(project=project).role)
        if not role.can(Capability.IMPORT):
            raise CommandError(f"{username} is a {role.label.lower()} and may not import.")
        return user
    owner = members.filter(memberships__role=Role.OWNER).order_by("pk").first()
    if owner is None:
        raise CommandError(f"{project.slug} has no owner; pass --user.")
    return owner
