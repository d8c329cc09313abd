"""The NLP ingest: one spaCy pass over a document, stored as sentence offsets, lemmas and PII
candidates.

spaCy is imported inside the functions here: this module is imported by the web process, which
must not load a pipeline before a document is actually processed.
"""

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from observations.models import Document, Sentence
from research.jobs import job_progress
from research.models import Job

# Progress is written to the job every tenth of the way, but not more than once a second: each
# write is a commit (an fsync on SQLite, ~15 ms here), and a poller cannot see faster changes.
# A document that takes under a second goes from 0 to 1.0 in one step when the job succeeds.
PROGRESS_STEP = 0.1
PROGRESS_MIN_SECONDS = 1.0
# Texts per spaCy batch; turns are short, so batches of this size keep the model's matrices full.
PIPE_BATCH_SIZE = 256
SENTENCE_BATCH_SIZE = 2000


def _units(document: Document) -> tuple[list[tuple[int, int]], int]:
    """The ranges the pipeline runs over (observations.nlp.analysis_units) and the number of
    turns.

    Running per turn means no sentence can cross from one speaker to the next.
    """
    from observations.nlp import analysis_units

    turns = list(document.turns.order_by("index").values_list("index", "start", "end"))
    for index, start, end in turns:
        if not 0 <= start < end <= len(document.text):
            raise ValidationError(f"Turn {index} ends beyond the text of {document.title!r}.")
    spans = [(start, end) for _, start, end in turns]
    return analysis_units(document.text, spans), len(turns)


def _analyse(
    document: Document, units: list[tuple[int, int]], job: Job | None
) -> tuple[list[Sentence], list[tuple[int, int]], str]:
    """Sentences (unsaved) and PERSON spans of `document`, and the pipeline's name==version."""
    from observations.nlp import analyse, get_pipeline, ingest_docs, pipeline_label

    nlp = get_pipeline(document.project.language)
    text = document.text
    sentences: list[Sentence] = []
    persons: list[tuple[int, int]] = []
    next_report = PROGRESS_STEP
    last_report = time.monotonic()
    docs = ingest_docs(nlp, (text[start:end] for start, end in units), PIPE_BATCH_SIZE)
    for done, (doc, (start, _)) in enumerate(zip(docs, units, strict=True), start=1):
        analysis = analyse(doc, offset=start)
        for (begin, end), lemmas in zip(analysis.sentences, analysis.lemmas, strict=True):
            sentences.append(
                Sentence(
                    document=document, index=len(sentences), start=begin, end=end, lemmas=lemmas
                )
            )
        persons.extend((begin, end) for begin, end, _ in analysis.persons)
        if job is not None and done / len(units) >= next_report:
            next_report = done / len(units) + PROGRESS_STEP
            if time.monotonic() - last_report < PROGRESS_MIN_SECONDS:
                continue
            last_report = time.monotonic()
            job_progress(
                job=job,
                progress=done / len(units),
                message=f"Analysed {done} of {len(units)} parts",
            )
    return sentences, persons, pipeline_label(nlp)


def document_process(*, document: Document, job: Job | None = None) -> dict[str, Any]:
    """Run the project's pipeline once over the document and replace its sentences and PII
    candidates with what it finds; the document ends READY (or FAILED, re-raising the error).

    Idempotent: a second run stores the same rows. If the text is edited while this runs
    (`text_version` moves on), nothing is stored: the edit's own job will do the work.
    """
    from observations.services.pii import pii_detect

    version = document.text_version
    current = Document.objects.filter(pk=document.pk, text_version=version)
    if not current.update(status=Document.Status.PROCESSING):
        return {"document": document.pk, "stale": True}
    document.status = Document.Status.PROCESSING
    try:
        units, turn_count = _units(document)
        sentences, persons, pipeline = _analyse(document, units, job)
        with transaction.atomic():
            # Lock the row so an edit cannot slip in between the version check and the write.
            locked = current.select_for_update().values_list("pk", flat=True).first()
            if locked is None:
                return {"document": document.pk, "stale": True}
            Sentence.objects.filter(document=document).delete()
            Sentence.objects.bulk_create(sentences, batch_size=SENTENCE_BATCH_SIZE)
            pii_detect(document=document, person_spans=persons)
            document.status = Document.Status.READY
            document.char_count = len(document.text)
            document.nlp_pipeline = pipeline
            document.nlp_version = version
            document.save(update_fields=["status", "char_count", "nlp_pipeline", "nlp_version"])
    except Exception:
        current.update(status=Document.Status.FAILED)
        document.status = Document.Status.FAILED
        raise
    # The job's result keeps the shape callers already read; sentence rows are in the database.
    return {
        "document": document.pk,
        "characters": document.char_count,
        "words": len(document.text.split()),
        "turns": turn_count,
    }
