"""load_demo records the demo hypotheses, idempotently, with the outcomes they were written for."""

from io import StringIO

import pytest
from django.core.management import call_command

from coding.management.commands import _demo_data as data
from coding.management.commands._demo_hypotheses import HYPOTHESES, add_hypotheses
from coding.models import Hypothesis
from research.models import Project

pytestmark = pytest.mark.django_db


def test_demo_hypotheses_have_their_outcomes_and_load_once(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
    project = Project.objects.get(slug=data.SLUG)
    found = {
        h.statement: h for h in Hypothesis.objects.filter(project=project).select_related("latest")
    }
    assert set(found) == {spec["statement"] for spec in HYPOTHESES}
    latest = [found[s["statement"]].latest for s in HYPOTHESES]
    assert [e.outcome if e else None for e in latest] == [
        "supported",
        "supported",
        "not_supported",
    ]
    assert add_hypotheses(project, None) == 0
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
    assert Hypothesis.objects.filter(project=project).count() == len(HYPOTHESES)
