"""Small checks every app's services share."""

from typing import Any

from django.core.exceptions import ValidationError

from research.models import Project


def reject_unknown(changes: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Raise a field error for each key of `changes` that is not in `allowed`."""
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))


def check_in_project(project: Project, field: str, obj: Any) -> None:
    """Raise unless `obj` (anything with `project_id`, or None) belongs to `project`."""
    if obj is not None and obj.project_id != project.pk:
        raise ValidationError({field: "Not found in this project."})
