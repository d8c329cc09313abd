"""Hypotheses: definition checks, each outcome, direction, history, fingerprint, re-evaluation."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from scipy import stats as sps

from coding import hypotheses, hypothesis_evaluation
from coding.models import Code, Excerpt, Hypothesis, HypothesisEvaluation, HypothesisRefresh
from coding.services import excerpt_create, excerpt_delete
from research.models import CustomerSegment, Participant, Project, Segment, Segmentation
from research.services import participant_update
from research.services_segmentation import participant_segment_set
from tests.conftest import Team
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory

TEXT = "I called support in my first week and they sorted the bill out quickly."


@dataclass
class World:
    project: Project
    snapshot: Segmentation
    theme: Code
    child: Code
    other: Code
    people: list[Participant]
    documents: list[Any]


def build(team: Team, people: Sequence[tuple[str, bool, float | None, str]]) -> World:
    """A snapshot with one customer per (segment, has the theme, spend, plan); each customer is a
    participant with one transcript, coded with the theme's child code when they have it."""
    project = team.project
    snapshot = Segmentation.objects.create(
        project=project,
        name="Churn model",
        version=1,
        source_name="churn.csv",
        customer_column="customer",
        segment_column="segment",
        metric_types={"spend": "numeric", "plan": "categorical", "joined": "date"},
    )
    segments = {
        name: Segment.objects.create(segmentation=snapshot, name=name)
        for name in sorted({p[0] for p in people} | {"Loyal", "Price hunters"})
    }
    theme = CodeFactory.create(project=project, name="Onboarding calls")
    child = CodeFactory.create(project=project, name="First week call", parent=theme)
    other = CodeFactory.create(project=project, name="Pricing")
    out, docs = [], []
    for i, (segment, has, spend, plan) in enumerate(people):
        participant = Participant.objects.create(
            project=project, pseudonym=f"P{i:02d}", customer_ref=f"C{i:03d}"
        )
        metrics: dict[str, Any] = {"plan": plan, "joined": f"2025-01-{i % 28 + 1:02d}"}
        if spend is not None:
            metrics["spend"] = spend
        CustomerSegment.objects.create(
            segmentation=snapshot,
            customer_ref=f"C{i:03d}",
            segment=segments[segment],
            metrics=metrics,
        )
        doc = DocumentFactory.create(project=project, participant=participant, text=TEXT)
        if has:
            ExcerptFactory.create(document=doc, code=child, coder=team.coder, start=2, end=33)
        else:
            ExcerptFactory.create(document=doc, code=other, coder=team.coder, start=2, end=33)
        out.append(participant)
        docs.append(doc)
    return World(project, snapshot, theme, child, other, out, docs)


def strong(team: Team) -> World:
    """Price hunters: 9 of 10 with the theme, spend high, plan Pro; Loyal: 2 of 10."""
    people: list[tuple[str, bool, float | None, str]] = []
    for i in range(10):
        has = i < 9
        people.append(
            ("Price hunters", has, 100.0 + i if has else 10.0 + i, "Pro" if has else "Basic")
        )
    for i in range(10):
        has = i < 2
        people.append(("Loyal", has, 100.0 + i if has else 10.0 + i, "Pro" if has else "Basic"))
    return build(team, people)


def segment_hypothesis(
    world: World, team: Team, direction: str = "more", **extra: Any
) -> Hypothesis:
    fields: dict[str, Any] = {
        "statement": "Price hunters call us in their first month.",
        "code": world.theme,
        "kind": "segment",
        "segmentation": world.snapshot,
        "segment": "Price hunters",
        "direction": direction,
    }
    return hypotheses.hypothesis_create(
        project=world.project, user=team.researcher, **(fields | extra)
    )


def metric_hypothesis(
    world: World, team: Team, metric: str, direction: str, category: str = ""
) -> Hypothesis:
    return hypotheses.hypothesis_create(
        project=world.project,
        user=team.researcher,
        statement="Callers spend more.",
        code=world.theme,
        kind="metric",
        segmentation=world.snapshot,
        metric=metric,
        category=category,
        direction=direction,
    )


# --- outcomes ------------------------------------------------------------------------------------


def test_segment_hypothesis_is_supported_with_fisher_numbers_when_theme_is_more_common(
    team: Team,
) -> None:
    world = strong(team)
    h = segment_hypothesis(world, team)
    latest = h.latest
    assert latest is not None
    assert latest.outcome == "supported"
    expected = sps.fisher_exact([[9, 2], [1, 8]])
    assert latest.test == "fisher"
    assert latest.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)
    n = latest.numbers
    assert (n["in_with"], n["in_size"], n["out_with"], n["out_size"]) == (9, 10, 2, 10)
    assert n["in_prevalence"] == pytest.approx(0.9)
    assert latest.effect == pytest.approx(0.9 / (11 / 20))  # lift against everybody
    assert n["level"] == "theme"  # a top-level code: child codes rolled up
    assert 0 < n["ci_low"] < 0.9 < n["ci_high"] <= 1
    assert 1 <= len(latest.quote_ids) <= 5
    quoted = Excerpt.objects.filter(pk__in=latest.quote_ids)
    assert {e.code_id for e in quoted} == {world.child.pk}
    speakers = set(quoted.values_list("document__participant__pseudonym", flat=True))
    assert speakers <= {f"P{i:02d}" for i in range(9)}
    text = hypotheses.summary(h, latest)
    assert text.startswith("9 of 10 Price hunters (90%) vs 2 of 10 others (20%), Fisher p = ")


def test_segment_hypothesis_is_not_supported_with_opposite_reason_when_direction_mismatches(
    team: Team,
) -> None:
    world = strong(team)
    latest = segment_hypothesis(world, team, direction="less").latest
    assert latest is not None
    assert latest.outcome == "not_supported"
    assert "opposite direction" in latest.reason
    assert latest.p_value is not None
    assert latest.p_value < 0.05


def test_segment_hypothesis_is_not_supported_as_not_significant_when_difference_is_small(
    team: Team,
) -> None:
    people = [("Price hunters", i < 12, 1.0, "Basic") for i in range(20)]
    people += [("Loyal", i < 10, 1.0, "Basic") for i in range(20)]
    world = build(team, people)
    latest = segment_hypothesis(world, team).latest
    assert latest is not None
    assert latest.outcome == "not_supported"
    assert "not significant" in latest.reason
    chi = sps.chi2_contingency([[12, 10], [8, 10]], correction=False)
    assert latest.test == "chi2"
    assert latest.p_value == pytest.approx(float(chi.pvalue), abs=1e-12)
    assert latest.statistic == pytest.approx(float(chi.statistic), abs=1e-12)


def test_segment_hypothesis_has_not_enough_evidence_when_segment_is_small(team: Team) -> None:
    people = [("Price hunters", True, 1.0, "Basic") for _ in range(3)]
    people += [("Loyal", i < 2, 1.0, "Basic") for i in range(10)]
    world = build(team, people)
    latest = segment_hypothesis(world, team).latest
    assert latest is not None
    assert latest.outcome == "not_enough_evidence"
    assert "Only 3 participants in Price hunters" in latest.reason


def test_segment_hypothesis_has_not_enough_evidence_when_test_is_degenerate(team: Team) -> None:
    people = [("Price hunters", True, 1.0, "Basic") for _ in range(6)]
    people += [("Loyal", True, 1.0, "Basic") for _ in range(6)]
    world = build(team, people)
    latest = segment_hypothesis(world, team).latest
    assert latest is not None
    assert latest.outcome == "not_enough_evidence"
    assert latest.test == "none"
    assert latest.p_value is None


def test_child_code_is_tested_at_code_level(team: Team) -> None:
    world = strong(team)
    latest = segment_hypothesis(world, team, code=world.child).latest
    assert latest is not None
    assert latest.numbers["level"] == "code"
    assert latest.outcome == "supported"


def test_numeric_metric_hypothesis_matches_scipy_mann_whitney_when_theme_spends_more(
    team: Team,
) -> None:
    world = strong(team)
    h = metric_hypothesis(world, team, "spend", "higher")
    latest = h.latest
    assert latest is not None
    with_theme = [100.0 + i for i in range(9)] + [100.0, 101.0]
    without = [19.0] + [10.0 + i for i in range(2, 10)]
    expected = sps.mannwhitneyu(with_theme, without)
    assert latest.test == "mann-whitney"
    assert latest.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)
    assert latest.statistic == pytest.approx(float(expected.statistic), abs=1e-9)
    assert latest.effect == pytest.approx(1.0)
    assert latest.outcome == "supported"
    assert latest.numbers["n_with"] == 11
    assert latest.numbers["n_without"] == 9
    assert "median spend 103 with the theme (n = 11)" in hypotheses.summary(h, latest)

    lower = metric_hypothesis(world, team, "spend", "lower").latest
    assert lower is not None
    assert lower.outcome == "not_supported"
    assert "opposite direction" in lower.reason


def test_categorical_metric_hypothesis_uses_two_by_two_when_category_chosen(team: Team) -> None:
    world = strong(team)
    latest = metric_hypothesis(world, team, "plan", "more", category="Pro").latest
    assert latest is not None
    assert latest.outcome == "supported"
    expected = sps.fisher_exact([[11, 0], [0, 9]])
    assert latest.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)
    assert latest.numbers["share_with"] == 1.0
    assert latest.numbers["share_without"] == 0.0


def test_metric_hypothesis_has_not_enough_evidence_when_few_have_values(team: Team) -> None:
    people = [("Price hunters", i < 3, 5.0 if i < 3 else None, "Basic") for i in range(10)]
    people += [("Loyal", False, 1.0, "Basic") for _ in range(10)]
    world = build(team, people)
    latest = metric_hypothesis(world, team, "spend", "higher").latest
    assert latest is not None
    assert latest.outcome == "not_enough_evidence"
    assert "Only 3 participants with Onboarding calls have a spend value" in latest.reason


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"segment": "Nobody"}, "segment"),
        ({"direction": "higher"}, "direction"),
        ({"kind": "metric", "metric": "nps", "direction": "higher"}, "metric"),
        ({"kind": "metric", "metric": "spend", "direction": "more"}, "direction"),
        ({"kind": "metric", "metric": "plan", "direction": "more", "category": "Gold"}, "category"),
        ({"kind": "metric", "metric": "plan", "direction": "more"}, "category"),
        ({"statement": "  "}, "statement"),
    ],
)
def test_definition_errors_name_the_field(team: Team, changes: dict[str, Any], field: str) -> None:
    world = strong(team)
    with pytest.raises(ValidationError) as caught:
        segment_hypothesis(world, team, **({"direction": "more"} | changes))
    assert field in caught.value.message_dict


def test_theme_of_another_project_is_rejected(team: Team) -> None:
    world = strong(team)
    foreign = CodeFactory.create(project=team.other_project)
    with pytest.raises(ValidationError) as caught:
        segment_hypothesis(world, team, code=foreign)
    assert caught.value.message_dict["code"] == ["Not found in this project."]


# --- history, fingerprint, re-evaluation ----------------------------------------------------


def test_history_keeps_no_duplicate_when_nothing_changed(team: Team) -> None:
    world = strong(team)
    h = segment_hypothesis(world, team)
    hypothesis_evaluation.evaluate(h)
    hypothesis_evaluation.evaluate(h)
    assert h.evaluations.count() == 1
    assert hypotheses.refresh(world.project) == []  # fresh: nothing to re-evaluate


def test_history_grows_when_numbers_change_and_outcome_follows(team: Team) -> None:
    people = [("Price hunters", i < 6, 1.0, "Basic") for i in range(10)]
    people += [("Loyal", i < 5, 1.0, "Basic") for i in range(10)]
    world = build(team, people)
    h = segment_hypothesis(world, team)
    assert h.latest is not None
    assert h.latest.outcome == "not_supported"
    for doc in world.documents[6:10]:  # the rest of the Price hunters now mention it
        ExcerptFactory.create(document=doc, code=world.child, coder=team.coder, start=2, end=33)
    Excerpt.objects.filter(document__in=world.documents[10:15], code=world.child).delete()
    assert [x.pk for x in hypotheses.refresh(world.project)] == [h.pk]
    h.refresh_from_db()
    assert h.latest is not None
    assert h.latest.outcome == "supported"
    outcomes = list(h.evaluations.values_list("outcome", flat=True))
    assert outcomes == ["supported", "not_supported"]  # newest first


def test_fingerprint_changes_with_excerpts_participants_and_manual_segments(team: Team) -> None:
    world = strong(team)
    seen = {hypothesis_evaluation.data_fingerprint(world.project)}

    def changed() -> bool:
        now = hypothesis_evaluation.data_fingerprint(world.project)
        fresh = now not in seen
        seen.add(now)
        return fresh

    assert not changed()
    excerpt = Excerpt.objects.filter(project=world.project).first()
    assert excerpt is not None
    Excerpt.objects.filter(pk=excerpt.pk).delete()
    assert changed()
    participant_update(participant=world.people[0], customer_ref="C999")
    assert changed()
    loyal = world.snapshot.segments.get(name="Loyal")
    hunters = world.snapshot.segments.get(name="Price hunters")
    participant_segment_set(participant=world.people[0], segmentation=world.snapshot, segment=loyal)
    assert changed()
    participant_segment_set(
        participant=world.people[0], segmentation=world.snapshot, segment=hunters
    )
    assert changed()
    CodeFactory.create(project=world.project)
    assert changed()
    # Another project's data does not touch this fingerprint.
    CodeFactory.create(project=team.other_project)
    assert not changed()


def test_fingerprint_is_one_query(team: Team) -> None:
    world = strong(team)
    with CaptureQueriesContext(connection) as ctx:
        hypothesis_evaluation.data_fingerprint(world.project)
    assert len(ctx.captured_queries) == 1


def test_excerpt_create_reevaluates_on_commit_once_per_project(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    people = [("Price hunters", i < 6, 1.0, "Basic") for i in range(10)]
    people += [("Loyal", i < 5, 1.0, "Basic") for i in range(10)]
    world = build(team, people)
    h = segment_hypothesis(world, team)
    assert h.latest is not None
    assert h.latest.outcome == "not_supported"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for doc in world.documents[6:10]:
            excerpt_create(document=doc, code=world.child, start=2, end=33, coder=team.coder)
    assert len(callbacks) == 1  # four saves in one transaction: one callback for the project
    assert not HypothesisRefresh.objects.exists()  # the inline task ran and cleared its flag
    h.refresh_from_db()
    assert h.latest is not None
    assert h.latest.numbers["in_with"] == 10
    assert h.evaluations.count() == 2


def test_excerpt_delete_reevaluates_on_commit(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    world = strong(team)
    h = segment_hypothesis(world, team)
    excerpt = Excerpt.objects.filter(document=world.documents[0], code=world.child).get()
    with django_capture_on_commit_callbacks(execute=True):
        excerpt_delete(excerpt=excerpt)
    h.refresh_from_db()
    assert h.latest is not None
    assert h.latest.numbers["in_with"] == 8


def test_refresh_is_queued_at_most_once_while_one_waits(team: Team, monkeypatch: Any) -> None:
    world = strong(team)
    segment_hypothesis(world, team)
    sent: list[int] = []
    from coding import tasks

    monkeypatch.setattr(tasks.hypotheses_reevaluate, "delay", lambda pid: sent.append(pid))
    assert hypotheses.request_refresh(world.project.pk) is True
    assert hypotheses.request_refresh(world.project.pk) is False
    assert sent == [world.project.pk]
    assert hypotheses.reevaluate_project(world.project.pk) == 0  # nothing changed meanwhile
    assert hypotheses.request_refresh(world.project.pk) is True  # the flag was cleared


def test_no_hypotheses_costs_one_query_after_commit(team: Team) -> None:
    with CaptureQueriesContext(connection) as ctx:
        assert hypotheses.request_refresh(team.project.pk) is False
    assert len(ctx.captured_queries) == 1


def test_deleted_theme_gives_not_enough_evidence(team: Team) -> None:
    world = strong(team)
    h = segment_hypothesis(world, team, code=world.other)
    Excerpt.objects.filter(code=world.other).delete()
    world.other.delete()
    h.refresh_from_db()
    assert h.code is None
    latest = hypothesis_evaluation.evaluate(h)
    assert latest.outcome == "not_enough_evidence"
    assert "deleted" in latest.reason


def test_for_theme_gives_fresh_cards(team: Team) -> None:
    world = strong(team)
    h = segment_hypothesis(world, team)
    segment_hypothesis(world, team, code=world.other)
    cards = hypotheses.for_theme(world.project, world.theme.pk)
    assert [c["id"] for c in cards] == [h.pk]
    card = cards[0]
    assert card["outcome"] == "supported"
    assert card["outcome_label"] == "Supported"
    assert card["summary"].startswith("9 of 10 Price hunters")
    assert HypothesisEvaluation.objects.filter(hypothesis=h).count() == 1


def test_excerpt_save_with_inline_reevaluation_stays_cheap(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    """The workspace's excerpt save (at most six queries) plus the inline task at commit: a few
    queries for the project, then a handful per hypothesis whose data changed."""
    from django.urls import reverse

    from tests.conftest import client_for

    world = strong(team)
    client = client_for(team.coder)
    url = reverse("api:excerpt-list", kwargs={"slug": world.project.slug})

    def save(doc_index: int) -> int:
        body = {
            "document": world.documents[doc_index].pk,
            "code": world.other.pk,
            "start": 40,
            "end": 50,
        }
        with (
            CaptureQueriesContext(connection) as ctx,
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert client.post(url, body, format="json").status_code == 201
        return len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]])

    without = save(0)
    segment_hypothesis(world, team)
    metric_hypothesis(world, team, "spend", "higher")
    three = save(1)
    for _ in range(3):
        segment_hypothesis(world, team)
    six = save(2)
    print(f"\nexcerpt save: {without} queries, {three} with 2 hypotheses, {six} with 5")
    assert without <= 7  # the save, plus one query to learn there is nothing to re-evaluate
    assert six - three <= 3 * 6  # at most six queries per further hypothesis


def test_for_themes_answers_every_card_in_two_queries_when_fresh(team: Team) -> None:
    world = strong(team)
    segment_hypothesis(world, team)
    segment_hypothesis(world, team, code=world.other)
    with CaptureQueriesContext(connection) as ctx:
        cards = hypotheses.for_themes(world.project)
    assert len(ctx.captured_queries) == 2
    assert set(cards) == {world.theme.pk, world.other.pk}
    assert cards[world.other.pk][0]["code"] == world.other.pk


def test_rolled_back_change_does_not_swallow_the_next_one(
    team: Team, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                hypotheses.data_changed(team.project.pk)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        hypotheses.data_changed(team.project.pk)
        hypotheses.data_changed(team.project.pk)
        hypotheses.data_changed(team.other_project.pk)
    assert len(callbacks) == 2  # one per project, the rolled-back one gone
