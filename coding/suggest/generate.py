"""Making suggestions: pattern rules and the latest model over a project's ready documents.

- **Pattern hits** (coding.suggest.patterns) suggest their sentence, or just the matched words
  when `VERBATIM_SUGGEST_SPAN` = "match". Their score is the rule's track record: (accepted + 1)
  / (decided + 2) of its earlier suggestions, so a new rule starts at 0.5 (most uncertain, shown
  first) and a rule coders keep rejecting sinks.
- **Model suggestions**: each passage's best `VERBATIM_SUGGEST_TOP` (3) codes scoring at least
  their code's threshold under the latest ready suggester: the one tuned at training
  (coding.suggest.evaluation), or `VERBATIM_SUGGEST_THRESHOLD` (0.5) for a code without one.
  The threshold used is stored on the suggestion, so the review queue can put the calls
  nearest to it first.
- **Similar suggestions** (coding.suggest.similar_suggest; no model needed): passages whose
  similarity to a passage coded with the code reaches `VERBATIM_SIMILAR_THRESHOLD`, with the
  model's per-passage cap. Made last, so a span a rule or the model proposed keeps theirs.

Never suggested: a span already coded with the code (an excerpt of it covers the span, in the
sense of coding.suggest.training.covers), archived codes, and anything with a suggestion of its
own already (one row per document, code and span: the database refuses a second, so running
twice, or two workers at once, adds nothing). Pending suggestions whose text no longer matches
their document (it was edited) are deleted first.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from coding.models import Code, Excerpt, Suggestion
from coding.suggest.training import covers, passages
from observations.models import Document
from research.jobs import job_progress
from research.models import Job, Project

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from coding.suggest.learner import Learner

DEFAULT_THRESHOLD = 0.5
DEFAULT_TOP = 3
PREDICT_BATCH = 512
INSERT_BATCH = 1000


def _span_setting() -> str:
    span = getattr(settings, "VERBATIM_SUGGEST_SPAN", "sentence")
    return "match" if span == "match" else "sentence"


def threshold() -> float:
    """The global decision threshold (`VERBATIM_SUGGEST_THRESHOLD`): the fallback for codes
    the training could not tune one for."""
    return float(getattr(settings, "VERBATIM_SUGGEST_THRESHOLD", DEFAULT_THRESHOLD))


def top() -> int:
    return int(getattr(settings, "VERBATIM_SUGGEST_TOP", DEFAULT_TOP))


@dataclass
class Outcome:
    """What one generation run did, as the job's result."""

    documents: int = 0
    created: int = 0
    removed_stale: int = 0
    replaced: int = 0
    proposed: dict[str, int] = field(default_factory=dict)  # by method, before de-duplication

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "created": self.created,
            "removed_stale": self.removed_stale,
            "replaced": self.replaced,
            "proposed": self.proposed,
        }


def pattern_scores(project: Project) -> dict[tuple[int, int], float]:
    """(code, pattern index) -> (accepted + 1) / (decided + 2) over its decided suggestions."""
    rows = (
        Suggestion.objects.filter(project=project, method=Suggestion.Method.PATTERN)
        .exclude(status=Suggestion.Status.PENDING)
        .values("code_id", "pattern")
        .annotate(
            decided=Count("id"), accepted=Count("id", filter=Q(status=Suggestion.Status.ACCEPTED))
        )
    )
    return {
        (row["code_id"], row["pattern"]): (row["accepted"] + 1) / (row["decided"] + 2)
        for row in rows
    }


def _units(document: Document, turns: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # The ranges the ingest parsed (observations.services.ingest): sentences never cross them.
    from observations.nlp import analysis_units

    return analysis_units(document.text, turns)


# What pattern matching reads: tokens, lemmas (tagger + attribute ruler + lemmatizer) and
# sentence boundaries. The ingest's NER (for PII) is skipped: a third of the pipeline's time.
PATTERN_COMPONENTS = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")


def _parse(nlp: "Language", texts: list[str]) -> Iterator["Doc"]:
    """Docs as the ingest makes them (same sentences, same lemmas), without NER.

    Like observations.nlp.ingest_docs, nothing in the shared pipeline is switched: components
    are skipped per call, and the senter (disabled in the package) is applied afterwards.
    """
    from spacy.pipeline import Pipe

    has_senter = "senter" in nlp.component_names
    wanted = {*PATTERN_COMPONENTS, *(() if has_senter else ("parser",))}
    skip = [name for name in nlp.pipe_names if name not in wanted]
    docs = nlp.pipe(texts, disable=skip, batch_size=256)
    if not has_senter or "senter" in nlp.pipe_names:
        return docs
    senter = nlp.get_pipe("senter")
    assert isinstance(senter, Pipe)
    return senter.pipe(docs, batch_size=256)


def _pattern_spans(
    project: Project, documents: list[Document]
) -> Iterator[tuple[Document, int, int, int, int]]:
    """(document, code, pattern index, start, end) of every rule hit, span per the setting."""
    from coding.suggest.patterns import compiled_for
    from observations.models import SpeakerTurn
    from observations.nlp import get_pipeline

    compiled = compiled_for(project)
    if not len(compiled):
        return
    nlp = get_pipeline(project.language)
    turns: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for document_id, start, end in (
        SpeakerTurn.objects.filter(document__in=documents)
        .order_by("document_id", "index")
        .values_list("document_id", "start", "end")
    ):
        turns[document_id].append((start, end))
    whole_match = _span_setting() == "match"
    for document in documents:
        units = _units(document, turns.get(document.pk, []))
        text = document.text
        docs = _parse(nlp, [text[start:end] for start, end in units])
        for doc, (offset, _) in zip(docs, units, strict=True):
            for hit in compiled.find(doc):
                if whole_match:
                    start, end = hit.start, hit.end
                else:
                    start, end = hit.sentence_start, hit.sentence_end
                yield document, hit.code, hit.pattern, offset + start, offset + end


def _model_spans(
    project: Project,
    document_ids: list[int],
    learner: "Learner",
    active: set[int],
    limits: dict[int, float],
) -> Iterator[tuple[int, int, float, int, int]]:
    """(document id, code, score, start, end) of each passage's top codes (by score) that
    reach their code's threshold in `limits` (the global setting for a code not in it)."""
    items = passages(project, documents=document_ids)
    fallback, best = threshold(), top()
    for first in range(0, len(items), PREDICT_BATCH):
        batch = items[first : first + PREDICT_BATCH]
        ranked = learner.predict([p.text for p in batch])
        for passage, scores in zip(batch, ranked, strict=True):
            kept = [(c, s) for c, s in scores if c in active and s >= limits.get(c, fallback)]
            for code, score in kept[:best]:
                yield passage.document, code, float(score), passage.start, passage.end


def _remove_stale(documents: list[Document]) -> int:
    """Delete pending suggestions whose quote no longer matches their document's text."""
    texts = {document.pk: document.text for document in documents}
    stale = [
        pk
        for pk, document_id, start, end, quote in Suggestion.objects.filter(
            document__in=documents, status=Suggestion.Status.PENDING
        ).values_list("pk", "document_id", "start", "end", "text")
        if texts[document_id][start:end] != quote
    ]
    if stale:
        Suggestion.objects.filter(pk__in=stale).delete()
    return len(stale)


def generate(
    *,
    project: Project,
    documents: Sequence[int] | None = None,
    methods: Sequence[str] = ("pattern", "model", "similar"),
    refresh_model: bool = False,
    job: Job | None = None,
) -> Outcome:
    """Suggest codes for the project's ready documents (or `documents` among them).

    `refresh_model` first deletes the pending model suggestions there, so the latest model's
    scores replace them. Idempotent; see the module docstring for what is never suggested.
    """
    ready = Document.objects.filter(project=project, status=Document.Status.READY)
    if documents is not None:
        ready = ready.filter(pk__in=list(documents))
    docs = list(ready.order_by("id"))
    outcome = Outcome(documents=len(docs))
    if not docs:
        return outcome
    ids = [document.pk for document in docs]
    outcome.removed_stale = _remove_stale(docs)
    active = set(
        Code.objects.filter(project=project, is_archived=False).values_list("id", flat=True)
    )
    coded: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for document_id, code, start, end in Excerpt.objects.filter(document_id__in=ids).values_list(
        "document_id", "code_id", "start", "end"
    ):
        coded[(document_id, code)].append((start, end))

    def already_coded(document_id: int, code: int, start: int, end: int) -> bool:
        return any(covers(start, end, a, b) for a, b in coded.get((document_id, code), ()))

    texts = {document.pk: document.text for document in docs}
    new: dict[tuple[int, int, int, int], Suggestion] = {}

    def propose(document_id: int, code: int, start: int, end: int, **fields: Any) -> None:
        key = (document_id, code, start, end)
        if key in new or code not in active or already_coded(*key):
            return
        quote = texts[document_id][start:end]
        if not quote.strip():
            return
        new[key] = Suggestion(
            project=project,
            document_id=document_id,
            code_id=code,
            start=start,
            end=end,
            text=quote,
            **fields,
        )

    if "pattern" in methods:
        scores = pattern_scores(project)
        for n, (document, code, index, start, end) in enumerate(_pattern_spans(project, docs)):
            propose(
                document.pk,
                code,
                start,
                end,
                method=Suggestion.Method.PATTERN,
                pattern=index,
                score=scores.get((code, index), 0.5),
            )
            if job is not None and n % 500 == 0:
                job_progress(job=job, progress=0.3, message="Matching pattern rules")

    suggester = None
    if "model" in methods:
        from coding.suggest.services import code_thresholds, latest_suggester, load_learner

        suggester = latest_suggester(project)
    if refresh_model:
        pending_model = Suggestion.objects.filter(
            document_id__in=ids, method=Suggestion.Method.MODEL, status=Suggestion.Status.PENDING
        )
        outcome.replaced = pending_model.delete()[0]
    if suggester is not None:
        if job is not None:
            job_progress(job=job, progress=0.6, message=f"Scoring with model v{suggester.version}")
        learner = load_learner(suggester)
        limits, fallback = code_thresholds(suggester), threshold()
        spans = _model_spans(project, ids, learner, active, limits)
        for document_id, code, score, start, end in spans:
            propose(
                document_id,
                code,
                start,
                end,
                method=Suggestion.Method.MODEL,
                model_version=suggester.version,
                score=min(1.0, max(0.0, score)),
                threshold=limits.get(code, fallback),
            )
    if "similar" in methods:
        from coding.suggest.similar_suggest import similar_spans

        if job is not None:
            job_progress(job=job, progress=0.8, message="Comparing with coded passages")
        for document_id, code, score, start, end in similar_spans(project, ids, active):
            propose(
                document_id,
                code,
                start,
                end,
                method=Suggestion.Method.SIMILAR,
                score=round(min(1.0, max(0.0, score)), 4),
            )
    return _store(project, ids, list(new.values()), outcome)


def _store(project: Project, ids: list[int], rows: list[Suggestion], outcome: Outcome) -> Outcome:
    scope = Suggestion.objects.filter(document_id__in=ids)
    with transaction.atomic():
        before = scope.count()
        # The unique (document, code, start, end) constraint skips what exists already.
        Suggestion.objects.bulk_create(rows, batch_size=INSERT_BATCH, ignore_conflicts=True)
        outcome.created = scope.count() - before
    by_method: dict[str, int] = defaultdict(int)
    for row in rows:
        by_method[row.method] += 1
    outcome.proposed = dict(by_method)
    return outcome
