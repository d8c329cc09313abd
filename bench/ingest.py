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
import resource
import shutil
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


def _raw(texts: list[str], components: tuple[str, ...], batch_size: int) -> Callable[[], int]:
    """Plain nlp.pipe with `components` switched on in place, collecting sentence boundaries."""
    from observations.nlp import get_pipeline

    nlp = get_pipeline("en")

    def flip(names: list[str]) -> None:
        for name in names:
            (nlp.disable_pipe if name in nlp.pipe_names else nlp.enable_pipe)(name)

    def run() -> int:
        # select_pipes() cannot switch on the senter (disabled in the package), so flip by hand.
        switched = [n for n in nlp.component_names if (n in components) != (n in nlp.pipe_names)]
        flip(switched)
        try:
            docs = nlp.pipe(texts, batch_size=batch_size)
            bounds = [[(s.start_char, s.end_char) for s in doc.sents] for doc in docs]
        finally:
            flip(switched)
        return sum(map(len, bounds))

    return run


def _app(document_ids: list[int]) -> Callable[[], int]:
    """The real document_process for every document, each with a job record for its progress.

    The jobs are created before the clock starts: creating one belongs to enqueueing.
    """
    from observations.models import Document, Sentence
    from observations.services import document_process
    from research.jobs import job_create

    documents = list(Document.objects.filter(pk__in=document_ids).select_related("project"))
    jobs = [job_create(kind="document_process", project=d.project, user=None) for d in documents]

    def run() -> int:
        for document, job in zip(documents, jobs, strict=True):
            document_process(document=document, job=job)
        return Sentence.objects.filter(document_id__in=document_ids).count()

    return run


def _timed(run: Callable[[], int]) -> tuple[float, float, int]:
    """Wall-clock and CPU seconds of one run (CPU time is what a busy shared machine distorts
    least), and the sentences it found."""
    start, cpu = time.perf_counter(), time.process_time()
    sentences = run()
    return time.perf_counter() - start, time.process_time() - cpu, sentences


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
    parser.add_argument(
        "--variants", action="store_true", help="also time raw with batch 1000 and with the parser"
    )
    args = parser.parse_args()
    url = _setup_django(os.environ.get("DATABASE_URL"))

    from django.db import connection

    from observations.nlp import INGEST_COMPONENTS, get_pipeline, pipeline_label

    corpus = build_corpus(words=args.words, seed=args.seed)
    words = sum(c.words for c in corpus)
    texts = [c.text[t.start : t.end] for c in corpus for t in c.turns]
    ids = _store(corpus)
    runs = {"raw": _raw(texts, INGEST_COMPONENTS, 256), "app": _app(ids)}
    if args.variants:
        # nlp.pipe's default batch size, and the parser in place of the senter: the
        # measurements behind the choices in observations/nlp.py and services/ingest.py.
        runs["raw-batch1000"] = _raw(texts, INGEST_COMPONENTS, 1000)
        with_parser = tuple("parser" if n == "senter" else n for n in INGEST_COMPONENTS)
        runs["raw-parser"] = _raw(texts, with_parser, 256)
    _raw(texts[:200], INGEST_COMPONENTS, 256)()  # warm-up: loads the pipeline, runs each part
    _app(ids[:1])()

    times: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    counts: dict[str, int] = {}
    for _ in range(args.repeat):  # interleaved, so a noisy neighbour hurts both paths alike
        for name, run in runs.items():
            seconds, cpu, counts[name] = _timed(run)
            times[name].append(seconds)
            cpus[name].append(cpu)
            print(f"  {name}: {seconds:.2f} s, cpu {cpu:.2f} s", file=sys.stderr, flush=True)
    timed_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peaks = {"raw": _peak(runs["raw"]), "app": _peak(runs["app"])}

    print(f"database      {connection.vendor} ({url.split('://')[0]})")
    print(f"pipeline      {pipeline_label(get_pipeline('en'))}")
    print(f"components    {', '.join(INGEST_COMPONENTS)}")
    print(f"corpus        {len(corpus)} documents, {len(texts)} turns, {words} words")
    for name in runs:
        best = min(times[name])
        tries = ", ".join(f"{t:.2f}" for t in times[name])
        peak = f"  peak {peaks[name]:.0f} MiB traced" if name in peaks else ""
        print(
            f"{name:<13} best {best:6.2f} s ({tries})  cpu {min(cpus[name]):6.2f} s  "
            f"{words / best:5.0f} words/s  {counts[name]} sentences{peak}"
        )
    # The baseline is the faster raw run with the app's components, whatever its batch size.
    baseline = min(min(times[n]) for n in ("raw", "raw-batch1000") if n in times)
    cpu_baseline = min(min(cpus[n]) for n in ("raw", "raw-batch1000") if n in cpus)
    ratio = min(times["app"]) / baseline
    cpu_ratio = min(cpus["app"]) / cpu_baseline
    print(f"ratio app/raw {ratio:.3f} wall-clock, {cpu_ratio:.3f} cpu  (target <= 1.25)")
    print(f"process peak  {timed_rss:.0f} MiB RSS after the timed runs (model, corpus, both paths)")
    if url.startswith("sqlite:///") and "verbatim-bench-" in url:
        shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)


if __name__ == "__main__":
    main()
