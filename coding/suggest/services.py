"""Writes of assisted coding: training suggesters, queuing generation, deciding suggestions.

Settings (all optional):

- `VERBATIM_RETRAIN_AFTER_DECISIONS` (50): decisions since the latest suggester's creation that
  queue a retraining; 0 turns automatic retraining off.
- `VERBATIM_SUGGEST_UNIT`, `VERBATIM_SUGGEST_SPAN`, `VERBATIM_SUGGEST_THRESHOLD`,
  `VERBATIM_SUGGEST_TOP`: see coding.suggest.training and coding.suggest.generate.

Learned models are stored in the database (`Suggester.artefact`, bytes the learner writes
without pickle) so every worker loads the same one; `load_learner` caches them per process.
"""

import math
import threading
import time
from collections import OrderedDict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from coding.models import Code, Excerpt, Suggester, Suggestion
from research.jobs import job_create, job_enqueue, job_progress
from research.models import Job, Project, User

if TYPE_CHECKING:
    from coding.suggest.evaluation import CrossValidation
    from coding.suggest.learner import Learner
    from observations.models import Document

TRAIN_JOB = "suggester_train"
GENERATE_JOB = "suggestions_generate"
DEFAULT_RETRAIN_AFTER = 50
MAX_FOLDS = 5
LEARNER_CACHE_SIZE = 4
NO_SUGGESTER = "No suggester has been trained for this project yet."


def retrain_after() -> int:
    return int(getattr(settings, "VERBATIM_RETRAIN_AFTER_DECISIONS", DEFAULT_RETRAIN_AFTER))


# --- loading models --------------------------------------------------------------------------

_learners: "OrderedDict[int, Learner]" = OrderedDict()
_learners_lock = threading.Lock()


def latest_suggester(project: Project) -> Suggester | None:
    """The project's newest ready suggester, without its artefact (one query)."""
    return (
        Suggester.objects.filter(project=project, status=Suggester.Status.READY)
        .defer("artefact")
        .order_by("-version")
        .first()
    )


def load_learner(suggester: Suggester) -> "Learner":
    """The suggester's model, read from the database once per process (a suggester's artefact
    never changes, so its id is the cache key). Never unpickles: Learner.from_bytes reads only
    its own format."""
    from coding.suggest.learner import Learner

    with _learners_lock:
        cached = _learners.get(suggester.pk)
        if cached is not None:
            _learners.move_to_end(suggester.pk)
            return cached
        data = Suggester.objects.filter(pk=suggester.pk).values_list("artefact", flat=True).get()
        learner = Learner.from_bytes(bytes(data))
        _learners[suggester.pk] = learner
        while len(_learners) > LEARNER_CACHE_SIZE:
            _learners.popitem(last=False)
        return learner


def learner_cache_clear() -> None:
    """Forget loaded models (tests)."""
    with _learners_lock:
        _learners.clear()


def trusted(figures: dict[str, Any]) -> bool:
    """Whether the model may propose a code, from the code's cross-validated figures: its
    precision reached `VERBATIM_SUGGEST_MIN_PRECISION`. On a young project a tuned threshold
    still finds the best F1, but that best can be one right suggestion in ten; proposing such a
    code would fill the queue with noise and teach coders to ignore the assistant. Figures
    without a precision (versions trained before per-code figures) are trusted as before."""
    precision = figures.get("precision")
    if not isinstance(precision, (int, float)):
        return True
    return float(precision) >= settings.VERBATIM_SUGGEST_MIN_PRECISION


def code_thresholds(suggester: Suggester) -> dict[int, float]:
    """Each code's decision threshold stored with the suggester (coding.suggest.evaluation);
    `math.inf` for a code the model is not yet trusted with (`trusted`), so nothing reaches it;
    codes without a stored threshold (versions trained before thresholds were tuned) are absent:
    callers fall back to `VERBATIM_SUGGEST_THRESHOLD`."""
    found: dict[int, float] = {}
    for key, values in (suggester.metrics or {}).items():
        if not key.isdigit() or not isinstance(values, dict):
            continue
        value = values.get("threshold")
        if not trusted(values):
            found[int(key)] = math.inf
        elif isinstance(value, (int, float)):
            found[int(key)] = float(value)
    return found


def predict(project: Project, texts: list[str]) -> list[list[tuple[int, float, bool]]]:
    """Every current code ranked by the latest model for each text, best first, as
    `(code, score, above)`: `above` is True when the score reaches the code's threshold (the
    global setting for codes without one), i.e. generation would suggest it.

    Raises `Suggester.DoesNotExist` (message NO_SUGGESTER) when none is trained. Codes deleted
    or archived since training are left out; codes the model never learned are not listed.
    """
    from coding.suggest.generate import threshold

    suggester = latest_suggester(project)
    if suggester is None:
        raise Suggester.DoesNotExist(NO_SUGGESTER)
    learner = load_learner(suggester)
    active = set(
        Code.objects.filter(project=project, is_archived=False).values_list("id", flat=True)
    )
    if not texts:
        return []
    cuts, fallback = code_thresholds(suggester), threshold()
    return [
        [
            (code, float(score), score >= cuts.get(code, fallback))
            for code, score in ranked
            if code in active
        ]
        for ranked in learner.predict(texts)
    ]


# --- training --------------------------------------------------------------------------------


def _live_jobs(project: Project, kind: str) -> Any:
    # A job a crashed worker left "running" must not block new ones forever.
    horizon = timezone.now() - timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT)
    return Job.objects.filter(
        project=project,
        kind=kind,
        status__in=[Job.Status.QUEUED, Job.Status.RUNNING],
        created_at__gte=horizon,
    )


@transaction.atomic
def suggester_queue_training(*, project: Project, user: User | None) -> Job:
    """Queue a training job, or return the one already queued or running for the project.

    The project row is locked while checking, so concurrent callers queue one job between them.
    """
    from coding.tasks import suggester_train

    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk").first()
    existing = _live_jobs(project, TRAIN_JOB).order_by("-created_at").first()
    if existing is not None:
        return existing
    job = job_create(kind=TRAIN_JOB, project=project, user=user)
    return job_enqueue(job=job, task=suggester_train)


def _folds(training_positives: list[int], passages: int) -> int:
    # Every fold needs a positive of each code to score it: no more folds than the rarest code
    # has positives (>= MIN_POSITIVES), and at least two.
    return max(2, min(MAX_FOLDS, min(training_positives), passages))


def _stage(job: Job | None, low: float, high: float) -> Any:
    """A progress callback mapping the learner's [0, 1] onto [low, high] of the job, written at
    most twice a second (each write is a commit)."""
    last = [0.0]

    def report(fraction: float, message: str) -> None:
        now = time.monotonic()
        if job is None or (now - last[0] < 0.5 and fraction < 1.0):
            return
        last[0] = now
        job_progress(job=job, progress=low + (high - low) * fraction, message=message)

    return report


def suggester_train(*, project: Project, job: Job | None = None) -> Suggester:
    """Train the next suggester version from the project's coding (coding.suggest.training):
    cross-validated metrics per code, then the model on all passages, stored in the database.

    The version row is created first (status "training"), so a failure leaves a "failed" row
    with the error, and the retraining counter starts again from it; a second run for the same
    job (a redelivered task) reuses that row. Raises ValidationError
    when no code has enough coded passages. On success, pending model suggestions are
    refreshed with the new model (a generation job, queued at commit).
    """
    from coding.suggest.evaluation import cross_validate
    from coding.suggest.generate import threshold
    from coding.suggest.learner import train
    from coding.suggest.training import MIN_POSITIVES, build_training

    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).values_list("pk").first()
        # A run of this job that died mid-way (the task is redelivered) left its row: train into
        # it again rather than leave it "training" forever beside a new version.
        earlier = Suggester.objects.filter(project=project, job=job).first() if job else None
        if earlier is not None:
            suggester = earlier
            suggester.status, suggester.error = Suggester.Status.TRAINING, ""
            suggester.save(update_fields=["status", "error"])
        else:
            latest = Suggester.objects.filter(project=project).aggregate(v=Max("version"))["v"]
            suggester = Suggester.objects.create(
                project=project, version=(latest or 0) + 1, job=job
            )
    try:
        training = build_training(project)
        suggester.trained_on = {
            "passages": len(training.data.texts),
            "codes": len(training.codes),
            "negatives_from_rejections": training.negatives_from_rejections,
        }
        if not training.codes:
            raise ValidationError(
                f"No code has {MIN_POSITIVES} coded passages yet: code more, then train."
            )
        if job is not None:
            job_progress(job=job, progress=0.02, message="Cross-validating")
        positives = [training.positives[code] for code in training.codes]
        evaluation = cross_validate(
            training.data,
            codes=training.codes,
            folds=_folds(positives, len(training.data.texts)),
            progress=_stage(job, 0.05, 0.6),
            language=project.language,
            threshold=threshold(),
        )
        learner = train(
            training.data,
            codes=training.codes,
            language=project.language,
            progress=_stage(job, 0.6, 0.95),
        )
        suggester.metrics = _metrics(evaluation, training.skipped)
        suggester.artefact = learner.to_bytes()
        suggester.meta = dict(learner.meta)
        suggester.status = Suggester.Status.READY
    except Exception as exc:
        suggester.status = Suggester.Status.FAILED
        suggester.error = "; ".join(exc.messages) if isinstance(exc, ValidationError) else repr(exc)
        suggester.finished_at = timezone.now()
        suggester.save()
        raise
    suggester.finished_at = timezone.now()
    with transaction.atomic():
        suggester.save()
        suggestions_queue_generation(
            project=project, user=job.created_by if job else None, refresh_model=True
        )
    return suggester


def _metrics(evaluation: "CrossValidation", skipped: dict[int, int]) -> dict[str, Any]:
    """Per-code metrics keyed by code id (a string: JSON keys), each with its decision
    `threshold` and `threshold_tuned` (False: the global setting); codes left out, with their
    positives and a note; and `overall`: micro-averaged figures over the learned codes plus
    their macro-averaged F1."""
    from coding.suggest.evaluation import micro_average
    from coding.suggest.training import MIN_POSITIVES

    scores = evaluation.metrics
    metrics: dict[str, Any] = {
        str(code): {key: float(value) for key, value in values.items()}
        | {
            "threshold": evaluation.thresholds[code].value,
            "threshold_tuned": evaluation.thresholds[code].tuned,
        }
        for code, values in scores.items()
    }
    for code, n in skipped.items():
        metrics[str(code)] = {
            "precision": None,
            "recall": None,
            "f1": None,
            "support": n,
            "note": f"Left out: fewer than {MIN_POSITIVES} coded passages.",
        }
    f1s = [float(values["f1"]) for values in scores.values()]
    metrics["overall"] = micro_average(scores) | {
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "codes": len(scores),
        "skipped": len(skipped),
    }
    return metrics


# --- generation ------------------------------------------------------------------------------


def suggestions_queue_generation(
    *,
    project: Project,
    user: User | None,
    document: "Document | None" = None,
    refresh_model: bool = False,
) -> Job:
    """Queue generating suggestions for one document or all ready ones (at commit).

    `refresh_model` replaces pending model suggestions with the latest model's.
    """
    from coding.tasks import suggestions_generate

    job = job_create(
        kind=GENERATE_JOB,
        project=project,
        user=user,
        params={
            "documents": None if document is None else [document.pk],
            "refresh_model": refresh_model,
        },
    )
    return job_enqueue(job=job, task=suggestions_generate)


def suggestions_after_processing(*, document: "Document") -> Job | None:
    """After a document is (re)processed: queue its suggestions if anything can make or
    refresh one (pattern rules, a trained model, coded passages for similar suggestions, or
    pending suggestions to re-check), else nothing (two to four queries)."""
    project = document.project
    has_rules = any(
        Code.objects.filter(project=project, is_archived=False).values_list("patterns", flat=True)
    )
    wanted = (
        has_rules
        or Suggester.objects.filter(project=project, status=Suggester.Status.READY).exists()
        or Excerpt.objects.filter(project=project).exists()
        or document.suggestions.filter(status=Suggestion.Status.PENDING).exists()
    )
    if not wanted:
        return None
    return suggestions_queue_generation(project=project, user=None, document=document)


# --- decisions -------------------------------------------------------------------------------

DECISIONS = (Suggestion.Status.ACCEPTED, Suggestion.Status.REJECTED)


@transaction.atomic
def suggestion_decide(*, suggestion: Suggestion, user: User, status: str) -> Suggestion:
    """Accept or reject a suggestion; returns it as stored.

    Accepting creates the excerpt (coder = `user`) recording the suggestion as its provenance;
    rejecting keeps the suggestion as a negative for the next training. Idempotent (the same
    decision again changes nothing) and race-safe (the row is locked; the excerpt's one-to-one
    link to its suggestion forbids a second excerpt). A rejection may later be accepted; an
    acceptance stands (delete the excerpt instead). Queues a retraining when due.
    """
    from coding.services.excerpts import excerpt_create

    if status not in DECISIONS:
        raise ValidationError({"status": "Send accepted or rejected."})
    locked = (
        Suggestion.objects.select_for_update()
        .select_related("document", "code", "document__project")
        .get(pk=suggestion.pk)
    )
    if locked.status == status:
        return locked
    if locked.status == Suggestion.Status.ACCEPTED:
        raise ValidationError(
            {"status": "Already accepted; delete the excerpt it created to undo that."}
        )
    if status == Suggestion.Status.ACCEPTED:
        document = locked.document
        if document.text[locked.start : locked.end] != locked.text:
            raise ValidationError(
                {"status": "The document changed since this was suggested; it is out of date."}
            )
        locked.excerpt = excerpt_create(
            document=document,
            code=locked.code,
            start=locked.start,
            end=locked.end,
            coder=user,
            suggestion=locked,
        )
    locked.status = status
    locked.decided_by = user
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at", "excerpt"])
    retrain_if_due(locked.document.project)
    return locked


def decisions_since_latest(project: Project) -> int:
    """Decisions made since the latest suggester version was created (of any status)."""
    latest = (
        Suggester.objects.filter(project=project)
        .order_by("-version")
        .values_list("created_at", flat=True)
        .first()
    )
    decided = Suggestion.objects.filter(project=project, decided_at__isnull=False)
    if latest is not None:
        decided = decided.filter(decided_at__gt=latest)
    return decided.count()


def retrain_if_due(project: Project) -> Job | None:
    """Queue one training job once `VERBATIM_RETRAIN_AFTER_DECISIONS` decisions were made since
    the latest suggester's creation; None when not due. A job already queued or running is
    returned instead of a second; the new version's creation restarts the count."""
    after = retrain_after()
    if after <= 0 or decisions_since_latest(project) < after:
        return None
    return suggester_queue_training(project=project, user=None)
