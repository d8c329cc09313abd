"""Per-code decision thresholds (coding.suggest.evaluation) and where they are used: training
stores them, generation holds each code to its own, predict flags scores above it, and the
review queue puts calls nearest their threshold first."""

import numpy as np
import pytest
from django.urls import reverse

from coding.models import Suggester, Suggestion
from coding.suggest import services
from coding.suggest.evaluation import Threshold, evaluate_scores, tune_threshold
from coding.suggest.generate import generate
from tests.coding.suggest_data import UNCODED, make_study, span_of
from tests.conftest import client_for

NAN = float("nan")


# --- tuning on scores ------------------------------------------------------------------------


def _assert_tuned(found: Threshold, value: float) -> None:
    assert found.tuned
    assert found.value == pytest.approx(value)


def test_tune_threshold_takes_the_f1_best_cut_halfway_to_the_next_lower_score() -> None:
    scores = [0.9, 0.8, 0.5, 0.3, 0.1, 0.05]
    truth = [True, True, False, True, False, False]
    # F1 by cut: 0.9 -> 0.5, 0.8 -> 0.8, 0.5 -> 0.67, 0.3 -> 0.86 (best), 0.1 -> 0.75.
    found = tune_threshold(scores, truth)
    assert found.tuned
    assert found.value == pytest.approx(0.2)


def test_tune_threshold_prefers_the_higher_cut_when_f1_ties() -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.2, 0.15, 0.1]
    truth = [True, True, False, False, True, False, False, False, True]
    # Cuts at 0.8 (tp 2, fp 0) and at 0.5 (tp 3, fp 2) both give F1 = 2/3 with 4 positives.
    found = tune_threshold(scores, truth)
    assert found.tuned
    assert found.value == pytest.approx(0.75)


def test_tune_threshold_keeps_the_lowest_score_when_everything_is_accepted() -> None:
    assert tune_threshold([0.4, 0.2, 0.1], [True, True, True]) == Threshold(0.1, tuned=True)


def test_tune_threshold_falls_back_to_the_global_setting_with_few_positives() -> None:
    scores, truth = [0.9, 0.2, 0.1, 0.05], [True, True, False, False]
    assert tune_threshold(scores, truth, fallback=0.42) == Threshold(0.42, tuned=False)
    assert tune_threshold([], [], fallback=0.42) == Threshold(0.42, tuned=False)


def test_reported_figures_judge_each_fold_at_a_threshold_tuned_on_the_other_folds() -> None:
    # Code 1: fold 0's positives score high, fold 1's low. Code 2 has two positives only.
    scores = np.array(
        [
            [0.9, 0.9],  # fold 0
            [0.8, 0.1],
            [0.7, 0.1],
            [0.6, 0.1],
            [0.15, 0.1],
            [0.4, 0.45],  # fold 1
            [0.35, 0.1],
            [0.3, 0.1],
            [0.9, 0.1],
            [0.1, 0.1],
            [NAN, NAN],  # never scored (no fold model saw it held out)
        ]
    )
    truth = np.array(
        [[p, False] for p in (True, True, True, False, False)]
        + [[p, False] for p in (True, True, True, False, False)]
        + [[True, True]]
    )
    truth[0, 1] = truth[5, 1] = True
    fold = np.array([0] * 5 + [1] * 5 + [0])
    result = evaluate_scores(scores, truth, fold, codes=[1, 2], fallback=0.5)

    # Fold 0 is judged at 0.2 (tuned on fold 1 alone: best cut 0.3, next lower score 0.1):
    # tp 3, fp 1 (the 0.6). Fold 1 at 0.65 (tuned on fold 0 alone): tp 0, fp 1 (the 0.9), fn 3.
    figures = result.metrics[1]
    assert (figures["tp"], figures["fp"], figures["fn"]) == (3.0, 2.0, 3.0)
    assert figures["precision"] == pytest.approx(0.6)
    assert figures["recall"] == pytest.approx(0.5)
    assert figures["f1"] == pytest.approx(6 / 11)
    assert figures["support"] == 7.0  # the unscored positive counts too
    # The stored threshold is tuned on every scored row: best cut 0.3 (F1 6/7 in-sample, which
    # is exactly the flattering figure the per-fold tuning does not report).
    _assert_tuned(result.thresholds[1], 0.225)

    # Code 2 (two scored positives): judged at the global 0.5 and stored with it.
    assert result.thresholds[2] == Threshold(0.5, tuned=False)
    two = result.metrics[2]
    assert (two["tp"], two["fp"], two["fn"]) == (1.0, 0.0, 1.0)


def test_evaluate_scores_without_scored_rows_reports_zero_and_falls_back() -> None:
    scores = np.full((3, 1), NAN)
    truth = np.array([[True], [True], [True]])
    result = evaluate_scores(scores, truth, np.zeros(3, dtype=int), codes=[7], fallback=0.3)
    assert result.thresholds == {7: Threshold(0.3, tuned=False)}
    assert result.metrics[7]["f1"] == 0.0
    assert result.metrics[7]["support"] == 3.0


# --- with a trained suggester ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_learners(settings):
    services.learner_cache_clear()
    # These tests are about thresholds; the tiny study's cross-validated precision would keep
    # the model from proposing at all (the trust floor has its own test at the end).
    settings.VERBATIM_SUGGEST_MIN_PRECISION = 0.0
    yield
    services.learner_cache_clear()


@pytest.fixture
def study(team):
    return make_study(team.project, team.coder)


@pytest.fixture
def trained(team, study):
    return services.suggester_train(project=team.project)


def _set_thresholds(suggester: Suggester, **by_code: float | None) -> None:
    metrics = dict(suggester.metrics)
    for key, value in by_code.items():
        entry = dict(metrics[key])
        if value is None:
            entry.pop("threshold", None)
        else:
            entry["threshold"] = value
        metrics[key] = entry
    suggester.metrics = metrics
    suggester.save(update_fields=["metrics"])


def test_training_stores_a_threshold_per_learned_code(team, study, trained):
    for code in (study.billing, study.delivery, study.praise):
        entry = trained.metrics[str(code.pk)]
        assert entry["threshold_tuned"] is True  # six positives each
        assert 0.0 < entry["threshold"] <= 1.0
    assert services.code_thresholds(trained) == {
        code.pk: trained.metrics[str(code.pk)]["threshold"]
        for code in (study.billing, study.delivery, study.praise)
    }


def test_generation_holds_each_code_to_its_own_threshold(team, study, trained, settings):
    settings.VERBATIM_SUGGEST_THRESHOLD = 0.5
    text = UNCODED[3]  # "Is the recording on now?": no code fits it well
    [ranked] = services.load_learner(trained).predict([text])
    billing_score = dict(ranked)[study.billing.pk]
    assert billing_score < 0.5  # the global setting would never suggest Billing here
    high = {str(study.delivery.pk): 0.999, str(study.praise.pk): 0.999}
    _set_thresholds(trained, **{str(study.billing.pk): billing_score * 0.9}, **high)

    generate(project=team.project, methods=("model",))
    start, end = span_of(study.uncoded, text)
    made = Suggestion.objects.get(document=study.uncoded, start=start, end=end)
    assert made.code == study.billing
    assert made.threshold == pytest.approx(billing_score * 0.9)
    assert made.score == pytest.approx(billing_score)
    assert not Suggestion.objects.filter(code__in=[study.delivery, study.praise]).exists()


def test_generation_falls_back_to_the_global_setting_for_a_code_without_a_threshold(
    team, study, trained, settings
):
    text = UNCODED[3]
    [ranked] = services.load_learner(trained).predict([text])
    billing_score = dict(ranked)[study.billing.pk]
    high = {str(study.delivery.pk): 0.999, str(study.praise.pk): 0.999}
    _set_thresholds(trained, **{str(study.billing.pk): None}, **high)
    settings.VERBATIM_SUGGEST_THRESHOLD = 0.5
    generate(project=team.project, methods=("model",))
    start, end = span_of(study.uncoded, text)
    assert not Suggestion.objects.filter(document=study.uncoded, start=start).exists()
    settings.VERBATIM_SUGGEST_THRESHOLD = billing_score * 0.9
    generate(project=team.project, methods=("model",))
    made = Suggestion.objects.get(document=study.uncoded, start=start, end=end)
    assert made.code == study.billing
    assert made.threshold == pytest.approx(billing_score * 0.9)


def test_predict_flags_each_score_against_its_codes_threshold(team, study, trained):
    text = UNCODED[3]
    [ranked] = services.load_learner(trained).predict([text])
    scores = dict(ranked)
    _set_thresholds(
        trained,
        **{
            str(study.billing.pk): scores[study.billing.pk] * 0.9,
            str(study.delivery.pk): 0.999,
            str(study.praise.pk): 0.999,
        },
    )
    url = reverse("api:suggester-predict", kwargs={"slug": team.project.slug})
    body = client_for(team.manager).post(url, {"texts": [text]}, format="json")
    assert body.status_code == 200
    [items] = body.json()["results"]
    flags = {item["code"]: item["above_threshold"] for item in items}
    assert flags == {study.billing.pk: True, study.delivery.pk: False, study.praise.pk: False}
    assert [item["score"] for item in items] == sorted(
        (item["score"] for item in items), reverse=True
    )


def test_review_queue_orders_model_calls_by_distance_from_their_codes_threshold(team, study):
    def suggest(sentence: str, code, **fields) -> Suggestion:
        start, end = span_of(study.uncoded, sentence)
        return Suggestion.objects.create(
            project=team.project,
            document=study.uncoded,
            code=code,
            start=start,
            end=end,
            text=sentence,
            **fields,
        )

    # Distance from 0.5 would put `far` first (0.0) and `near` last (0.2).
    near = suggest(UNCODED[0], study.billing, method="model", score=0.3, threshold=0.28)
    rule = suggest(UNCODED[1], study.delivery, method="pattern", pattern=0, score=0.55)
    far = suggest(UNCODED[2], study.praise, method="model", score=0.5, threshold=0.1)
    url = reverse("api:suggestion-list", kwargs={"slug": team.project.slug})
    body = client_for(team.manager).get(url).json()
    assert [row["id"] for row in body["results"]] == [near.pk, rule.pk, far.pk]
    assert [row["threshold"] for row in body["results"]] == [0.28, None, 0.1]


def _set_precision(suggester: Suggester, code_key: str, precision: float) -> None:
    metrics = dict(suggester.metrics)
    metrics[code_key] = {**metrics[code_key], "precision": precision}
    suggester.metrics = metrics
    suggester.save(update_fields=["metrics"])


def test_model_proposes_no_code_it_is_not_yet_trusted_with(team, study, trained, settings):
    settings.VERBATIM_SUGGEST_MIN_PRECISION = 0.5
    text = UNCODED[3]
    [ranked] = services.load_learner(trained).predict([text])
    billing_score = dict(ranked)[study.billing.pk]
    high = {str(study.delivery.pk): 0.999, str(study.praise.pk): 0.999}
    _set_thresholds(trained, **{str(study.billing.pk): billing_score * 0.9}, **high)
    _set_precision(trained, str(study.billing.pk), 0.49)  # one right in two: not yet
    assert services.code_thresholds(trained)[study.billing.pk] == float("inf")
    generate(project=team.project, methods=("model",))
    start, end = span_of(study.uncoded, text)
    assert not Suggestion.objects.filter(document=study.uncoded, start=start).exists()
    url = reverse("api:suggester-predict", kwargs={"slug": team.project.slug})
    [items] = client_for(team.manager).post(url, {"texts": [text]}, format="json").json()["results"]
    billing = next(item for item in items if item["code"] == study.billing.pk)
    assert billing["above_threshold"] is False  # the picker still orders by the score
    assert billing["score"] == pytest.approx(billing_score, abs=1e-4)  # the API rounds

    _set_precision(trained, str(study.billing.pk), 0.5)  # reaches the floor: proposes again
    generate(project=team.project, methods=("model",))
    made = Suggestion.objects.get(document=study.uncoded, start=start, end=end)
    assert made.code == study.billing
