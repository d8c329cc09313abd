"""The demo's dashboard picture (issue 5): load_demo's study, read back from the database, shows
the differences `_demo_survey` was designed to show, and only those.

Computed here with scipy directly, not through coding.stats, so the demo's shape is checked
independently of the code that draws the dashboard. Unit: the participant (Document.participant);
a participant has a theme when any excerpt of its documents carries the theme or one of its
descendant codes; participants are those the snapshot gives a segment, by customer_ref.
"""

from collections import defaultdict
from io import StringIO
from statistics import median
from typing import Any

import pytest
from django.core.management import call_command
from scipy.stats import chi2_contingency, mannwhitneyu

from coding.management.commands import _demo_data as data
from coding.models import Code, Excerpt
from research.models import CustomerSegment, Project, Segmentation

pytestmark = pytest.mark.django_db

SEGMENTS = ("Digital natives", "Store loyalists", "Price hunters")


@pytest.fixture
def project(settings, django_capture_on_commit_callbacks) -> Project:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", stdout=StringIO())
    return Project.objects.get(slug=data.SLUG)


def theme_of(project: Project) -> dict[int, str]:
    """Each code's top-level theme, by walking up the parents."""
    codes = {c.pk: c for c in Code.objects.filter(project=project)}

    def top(code: Code) -> str:
        while code.parent_id is not None:
            code = codes[code.parent_id]
        return code.name

    return {pk: top(code) for pk, code in codes.items()}


def presence(project: Project, *, coder: str | None = None, level: str = "theme") -> dict[int, set]:
    """Participant id -> names of the themes (or codes) in their documents' excerpts."""
    themes = theme_of(project)
    excerpts = Excerpt.objects.filter(project=project, document__participant__isnull=False)
    if coder is not None:
        excerpts = excerpts.filter(coder__username=coder)
    found: dict[int, set] = defaultdict(set)
    rows = excerpts.values_list("document__participant", "code_id", "code__name")
    for participant, code_id, code_name in rows:
        found[participant].add(themes[code_id] if level == "theme" else code_name)
    return found


def snapshot_rows(project: Project) -> dict[int, tuple[str, dict[str, Any]]]:
    """Participant id -> (segment name, metrics) through the snapshot's customer_ref."""
    snapshot = Segmentation.objects.get(project=project)
    by_ref = {
        c.customer_ref: (c.segment.name, c.metrics)
        for c in CustomerSegment.objects.filter(segmentation=snapshot).select_related("segment")
    }
    return {
        p.pk: by_ref[p.customer_ref] for p in project.participants.all() if p.customer_ref in by_ref
    }


def segment_p_value(
    theme: str, has: dict[int, set], rows: dict[int, tuple[str, dict[str, Any]]]
) -> float:
    sizes = [sum(1 for s, _ in rows.values() if s == g) for g in SEGMENTS]
    with_theme = [
        sum(1 for p, (s, _) in rows.items() if s == g and theme in has[p]) for g in SEGMENTS
    ]
    table = [with_theme, [n - k for n, k in zip(sizes, with_theme, strict=True)]]
    return float(chi2_contingency(table, correction=False).pvalue)


def spend_split(
    theme: str, has: dict[int, set], rows: dict[int, tuple[str, dict[str, Any]]]
) -> tuple[list[float], list[float]]:
    spend = {p: float(metrics["first_year_spend"]) for p, (_, metrics) in rows.items()}
    with_theme = [v for p, v in spend.items() if theme in has[p]]
    without = [v for p, v in spend.items() if theme not in has[p]]
    return with_theme, without


def test_every_participant_has_a_segment_and_each_segment_at_least_twelve(project):
    rows = snapshot_rows(project)
    assert len(rows) == project.participants.count() == 40
    sizes = {g: sum(1 for s, _ in rows.values() if s == g) for g in SEGMENTS}
    assert sizes == {"Digital natives": 13, "Store loyalists": 14, "Price hunters": 13}


# Both coders' excerpts (the dashboard's default), and the researcher's alone (a coder filter).
@pytest.mark.parametrize("coder", [None, "researcher"])
def test_billing_clarity_differs_by_segment_and_the_other_themes_do_not(project, coder):
    has, rows = presence(project, coder=coder), snapshot_rows(project)
    assert set().union(*has.values()) == {t["name"] for t in data.CODEBOOK}
    assert segment_p_value("Billing clarity", has, rows) < 0.01
    assert segment_p_value("Activation friction", has, rows) > 0.3
    assert segment_p_value("Human help", has, rows) > 0.3
    # The difference is the price hunters': most of them write about billing, few others do.
    rate = {
        g: sum(1 for p, (s, _) in rows.items() if s == g and "Billing clarity" in has[p])
        / sum(1 for s, _ in rows.values() if s == g)
        for g in SEGMENTS
    }
    others = max(rate["Digital natives"], rate["Store loyalists"])
    assert rate["Price hunters"] > 0.7 > 0.25 > others


def test_store_staff_rescue_is_mostly_the_store_loyalists_kind_of_help(project):
    codes, rows = presence(project, level="code"), snapshot_rows(project)
    rescued = [rows[p][0] for p, names in codes.items() if "Store staff rescue" in names]
    assert rescued.count("Store loyalists") >= 7
    assert len(rescued) - rescued.count("Store loyalists") <= 1  # P02, online, fixed in store


@pytest.mark.parametrize("coder", [None, "researcher"])
def test_human_help_goes_with_higher_spend_and_activation_friction_does_not(project, coder):
    has, rows = presence(project, coder=coder), snapshot_rows(project)
    helped, not_helped = spend_split("Human help", has, rows)
    assert min(len(helped), len(not_helped)) >= 15
    assert mannwhitneyu(helped, not_helped).pvalue < 0.01
    assert median(helped) > median(not_helped)
    friction, smooth = spend_split("Activation friction", has, rows)
    assert min(len(friction), len(smooth)) >= 15
    assert mannwhitneyu(friction, smooth).pvalue > 0.3
