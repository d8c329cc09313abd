"""Forms for the pages: they parse and check input shape; rules stay in the services."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from research.roles import Role


class ProjectCreateForm(forms.Form):
    name = forms.CharField(
        label="Project name",
        max_length=200,
        help_text="For example: Onboarding calls 2026.",
    )
    slug = forms.SlugField(
        label="Short name for links (slug)",
        max_length=64,
        required=False,
        help_text=(
            "Lowercase letters, numbers and hyphens, used in the project's web address. "
            "Leave blank to make one from the name."
        ),
    )
    description = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the study wants to find out, in a sentence or two.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("slug") and cleaned.get("name"):
            slug = slugify(cleaned["name"])[:64].strip("-")
            if slug:
                cleaned["slug"] = slug
            else:
                self.add_error("slug", "Choose a short name made of letters or numbers.")
        return cleaned


class MemberAddForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        help_text="The name they log in with. They need an account already.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.CODER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's `ValidationError` on the form: beside its field when the form has that
    field, otherwise at the top of the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)
