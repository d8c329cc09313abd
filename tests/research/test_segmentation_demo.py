"""load_demo's segmentation snapshot: present, typed, and every demo participant matches it."""

from io import StringIO

import pytest
from django.core.management import call_command

from coding.management.commands import _demo_data as data
from research.models import Project, Segmentation
from research.services_segmentation import participant_match_report


@pytest.mark.django_db
def test_demo_has_snapshot_matching_all_participants_when_loaded(
    settings, django_capture_on_commit_callbacks
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
    project = Project.objects.get(slug=data.SLUG)
    snapshot = Segmentation.objects.get(project=project)
    assert snapshot.customer_count == 240  # 40 participants, 200 other customers
    assert snapshot.metric_types == {
        "first_year_spend": "numeric",
        "tenure_months": "numeric",
        "nps": "numeric",
        "churned": "categorical",
        "joined": "date",
    }
    assert set(snapshot.segments.values_list("name", flat=True)) == {
        "Digital natives",
        "Store loyalists",
        "Price hunters",
    }
    report = participant_match_report(project=project, segmentation=snapshot)
    assert len(report["matched"]) == 40
    assert report["unmatched"] == []
    assert report["ambiguous"] == []
