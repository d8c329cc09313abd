"""Optimistic concurrency for rows people edit: a `version` column and compare-and-swap.

Two people load a code at version 3 and both save. The first save's UPDATE matches
`version = 3` and raises it to 4; the second matches nothing and fails with `VersionConflict`,
so nothing of the first is silently overwritten. The check and the raise are one UPDATE, which
takes the row lock until commit: on PostgreSQL a concurrent second UPDATE waits for the first
transaction and then re-evaluates `WHERE version = 3` against the committed row (READ COMMITTED
does this for UPDATE), so both cannot pass; SQLite serialises writers anyway.
"""

from typing import Any

from django.db import models
from django.db.models import F


class VersionConflict(Exception):
    """A write named a version that is no longer the stored one (or the row is gone)."""

    def __init__(self, instance: models.Model, expected: int) -> None:
        self.model = type(instance)
        self.pk = instance.pk
        self.expected = expected
        name = self.model._meta.verbose_name
        super().__init__(f"This {name} changed since you loaded it (you had version {expected}).")


def parse_version(raw: object) -> int | None:
    """`raw` as a version number (a positive whole number), None when it is not one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 1 else None
    if isinstance(raw, str) and raw.strip().isdigit() and int(raw) >= 1:
        return int(raw)
    return None


def version_claim(instance: Any, expected: int | None = None) -> int:
    """Raise the stored `version` of `instance` by one if it still equals `expected` (None: the
    version `instance` was loaded with); set `instance.version` and return the new value.

    Raises `VersionConflict` and writes nothing when another write got there first, when the
    row is gone, or when `instance` was loaded at another version than `expected`. Call it in
    the transaction that writes the rest of the row, before writing: the row stays locked
    until commit, and a rollback undoes the raise with the rest.
    """
    base = instance.version if expected is None else expected
    if base != instance.version:
        # The caller's copy and `instance` differ: saving `instance` would write neither.
        raise VersionConflict(instance, base)
    manager = type(instance)._default_manager
    claimed = manager.filter(pk=instance.pk, version=base).update(version=F("version") + 1)
    if claimed != 1:
        raise VersionConflict(instance, base)
    instance.version = base + 1
    return int(instance.version)


def versions_bump(queryset: models.QuerySet[Any]) -> int:
    """Raise the version of every row in `queryset` by one (a bulk write such as a merge or a
    re-anchoring changed them): a client holding an older version then gets a conflict."""
    return queryset.update(version=F("version") + 1)
