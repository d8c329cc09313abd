"""Project roles and what each may do. Pure: views, services and templates share it."""

from enum import StrEnum

from django.db import models


class Capability(StrEnum):
    """One thing a member may need to do in a project; `access_project(need=...)` takes these."""

    READ = "read"
    MANAGE_PROJECT = "manage_project"
    MANAGE_MEMBERS = "manage_members"
    CAPTURE = "capture"
    EDIT_CODEBOOK = "edit_codebook"
    CODE = "code"
    EDIT_OTHERS_WORK = "edit_others_work"
    IMPORT = "import"
    EXPORT = "export"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    RESEARCHER = "researcher", "Researcher"
    CODER = "coder", "Coder"
    MANAGER = "manager", "Manager"

    def can(self, capability: Capability) -> bool:
        """True if this role grants `capability`."""
        return capability in _GRANTS[self]

    def can_manage_project(self) -> bool:
        return self.can(Capability.MANAGE_PROJECT)

    def can_manage_members(self) -> bool:
        return self.can(Capability.MANAGE_MEMBERS)

    def can_capture(self) -> bool:
        return self.can(Capability.CAPTURE)

    def can_edit_codebook(self) -> bool:
        return self.can(Capability.EDIT_CODEBOOK)

    def can_code(self) -> bool:
        return self.can(Capability.CODE)

    def can_edit_others_work(self) -> bool:
        return self.can(Capability.EDIT_OTHERS_WORK)

    def can_import(self) -> bool:
        return self.can(Capability.IMPORT)

    def can_export(self) -> bool:
        return self.can(Capability.EXPORT)


_RESEARCHER = {
    Capability.READ,
    Capability.CAPTURE,
    Capability.EDIT_CODEBOOK,
    Capability.CODE,
    Capability.EDIT_OTHERS_WORK,
    Capability.IMPORT,
    Capability.EXPORT,
}
_GRANTS: dict[Role, frozenset[Capability]] = {
    Role.OWNER: frozenset(Capability),
    Role.RESEARCHER: frozenset(_RESEARCHER),
    # Coders read sources and create/edit their own excerpts and memos.
    Role.CODER: frozenset({Capability.READ, Capability.CODE}),
    # Managers read everything and export; they never edit.
    Role.MANAGER: frozenset({Capability.READ, Capability.EXPORT}),
}
