"""The demo study has pattern rules and coded passages, so its review queue has suggestions on
first run."""

from io import StringIO

import pytest
from django.core.management import call_command

from coding.management.commands import _demo_data as data
from coding.models import Suggestion
from coding.suggest.patterns import validate


@pytest.mark.django_db
def test_demo_rules_are_valid_and_suggest_passages_when_loaded(
    settings, django_capture_on_commit_callbacks
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    rules = [child for theme in data.CODEBOOK for child in theme.get("children", [])]
    with_rules = [code for code in rules if code.get("patterns")]
    assert len(with_rules) >= 4
    assert all(validate(code["patterns"]) == [] for code in with_rules)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", "--password", "demo", stdout=StringIO())
    made = Suggestion.objects.filter(project__slug=data.SLUG)
    assert made.count() >= 8
    # Pattern rules, and passages reading like coded ones (the cold start: no model yet).
    assert set(made.values_list("method", flat=True)) == {"pattern", "similar"}
    assert set(made.values_list("status", flat=True)) == {"pending"}
    chatbot = made.filter(code__name="Chatbot dead end", method="pattern")
    assert chatbot.exists()
    assert all("chatbot" in text.lower() for text in chatbot.values_list("text", flat=True))
