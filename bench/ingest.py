"""Ingest benchmark (issue 3): the app's `document_process` against raw `nlp.pipe`.

    DJANGO_DEBUG=1 .venv/bin/python bench/ingest.py [--words 200000] [--repeat 2]

Both paths see the same turn texts and the same loaded pipeline with the same components, in
one process, after a warm-up; each is timed `--repeat` times (interleaved) and the best run
counts. The app path includes everything `document_process` does per document (turn loading,
status updates, progress writes, sentence and PII rows) but not document creation. Peak memory
is measured in separate, untimed passes under tracemalloc (Python and numpy allocations).

Without DATABASE_URL a throwaway SQLite file is used and deleted afterwards; with it, the
database must be empty and disposable (it is migrated and filled).
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from interview_corpus import CorpusDocument, build_corpus  # noqa: E402


def _setup_django(database_url: str | None) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.pop("CELERY_BROKER_URL", None)  # the job's task is never queued here anyway
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        path = Path(tempfile.mkdtemp(prefix="verbatim-bench-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return os.environ["DATABASE_URL"]


def _store(corpus: list[CorpusDocument]) -> list[int]:
    """Documents and turns as rows, without queueing their processing (not part of the timing)."""
    from django.db import transaction

    from observations.models import Document, SpeakerTurn
    from research.models import User
    from research.services import project_create

    with transaction.atomic():
        user = User.objects.create_user(username=f"bench{os.getpid()}")
        project = project_create(creator=user, slug=f"bench-{os.getpid()}", name="Ingest bench")
        documents = Document.objects.bulk_create(
            Document(project=project, title=c.title, text=c.text, char_count=len(c.text))
            for c in corpus
        )
        SpeakerTurn.objects.bulk_create(
            SpeakerTurn(document=d, index=i, speaker=t.speaker, start=t.start, end=t.end)
            for d, c in zip(documents, corpus, strict=True)
            for i, t in enumerate(c.turns)
        )
    return [d.pk for d in documents]


# nlp.pipe's own default (1000 texts) measured slightly slower on these short turns than the app's
# 256; the baseline gets whichever is faster, so the ratio is not flattered.
RAW_BATCH_SIZE = int(os.environ.get("BENCH_RAW_BATCH", "256"))


def _raw(texts: list[str]) -> Callable[[], int]:
    """Plain nlp.pipe with the ingest's components switched on in place, collecting sentences."""
    from observations.nlp import INGEST_COMPONENTS, get_pipeline

    nlp = get_pipeline("en")

    def run() -> int:
        # select_pipes() cannot switch on the senter (disabled in the package), so flip by hand.
        switched = [
            n for n in nlp.component_names if (n in INGEST_COMPONENTS) != (n in nlp.pipe_names)
        ]
        for name in switched:
            (nlp.disable_pipe if name in nlp.pipe_names else nlp.enable_pipe)(name)
        try:
            docs = nlp.pipe(texts, batch_size=RAW_BATCH_SIZE)
            bounds = [[(s.start_char, s.end_char) for s in doc.sents] for doc in docs]
        finally:
            for name in switched:
                (nlp.disable_pipe if name in nlp.pipe_names else nlp.enable_pipe)(name)
        return sum(map(len, bounds))

    return run


def _app(document_ids: list[int]) -> Callable[[], int]:
    from observations.models import Document, Sentence
    from observations.services import document_process
    from research.jobs import job_create

    def run() -> int:
        for document in Document.objects.filter(pk__in=document_ids).select_related("project"):
            job = job_create(kind="document_process", project=document.project, user=None)
            document_process(document=document, job=job)
        return Sentence.objects.filter(document_id__in=document_ids).count()

    return run


def _timed(run: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    sentences = run()
    return time.perf_counter() - start, sentences


def _peak(run: Callable[[], int]) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    url = _setup_django(os.environ.get("DATABASE_URL"))

    from django.db import connection

    from observations.nlp import INGEST_COMPONENTS, get_pipeline

    corpus = build_corpus(words=args.words, seed=args.seed)
    words = sum(c.words for c in corpus)
    texts = [c.text[t.start : t.end] for c in corpus for t in c.turns]
    ids = _store(corpus)
    raw, app = _raw(texts), _app(ids)
    _raw(texts[:200])()  # warm-up: loads the pipeline and touches every component once
    _app(ids[:1])()

    times: dict[str, list[float]] = {"raw": [], "app": []}
    counts: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, run in (("raw", raw), ("app", app)):
            seconds, counts[name] = _timed(run)
            times[name].append(seconds)
    peaks = {"raw": _peak(raw), "app": _peak(app)}

    import resource

    nlp = get_pipeline("en")
    print(f"database      {connection.vendor} ({url.split('://')[0]})")
    print(f"pipeline      {nlp.meta['lang']}_{nlp.meta['name']}=={nlp.meta['version']}")
    print(f"components    {', '.join(INGEST_COMPONENTS)}")
    print(f"corpus        {len(corpus)} documents, {len(texts)} turns, {words} words")
    for name in ("raw", "app"):
        best = min(times[name])
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(
            f"{name:<13} best {best:6.2f} s  ({runs})  {words / best:8.0f} words/s  "
            f"{counts[name]} sentences  peak {peaks[name]:.0f} MiB traced"
        )
    ratio = min(times["app"]) / min(times["raw"])
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ratio app/raw {ratio:.3f}  (target <= 1.25)")
    print(f"process peak  {maxrss:.0f} MiB RSS")
    if url.startswith("sqlite:///") and "verbatim-bench-" in url:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
