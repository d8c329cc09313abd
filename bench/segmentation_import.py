"""Benchmark: segmentation import on PostgreSQL against raw psycopg COPY of the same file.

Usage: DJANGO_DEBUG=1 .venv/bin/python bench/segmentation_import.py [ROWS]   (default 1,000,000)

Creates the database verbatim_bench_seg (psql -h 127.0.0.1 -U postgres), migrates it, imports a
generated CSV (customer_ref, segment, 5 metrics) through `segmentation_import` twice (PostgreSQL
fast path, then the Python path forced), COPYs the same file into a plain text table with psycopg,
times an INSERT ... SELECT of its rows with empty metrics into research_customersegment (what the
table itself costs), prints rows/s and ratios to the raw COPY, and drops the database.
"""

import logging
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DB = "verbatim_bench_seg"
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
SEGMENTS = ["Digital natives", "Store loyalists", "Price hunters", "Occasional", "Premium"]


def psql(sql: str) -> None:
    psql_command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", sql]
    subprocess.run(psql_command, check=True)  # noqa: S603  (fixed local bench command)


def generate(path: Path, rows: int) -> None:
    rng = random.Random(5)
    with path.open("w", newline="") as out:
        out.write("customer_ref,segment,first_year_spend,tenure_months,nps,churned,joined\r\n")
        for i in range(rows):
            out.write(
                f"C{i:08d},{SEGMENTS[i % 5]},{rng.uniform(0, 3000):.2f},{rng.randint(0, 120)},"
                f"{rng.randint(0, 10)},{'yes' if rng.random() < 0.2 else 'no'},"
                f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}\r\n"
            )


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ["DATABASE_URL"] = URL
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    times: dict[str, float] = {}
    try:
        import django

        django.setup()
        # Phase timings of the fast path (prepare, COPY, infer, check, write, commit) to stderr.
        phases = logging.getLogger("research.segmentation_pg")
        phases.setLevel(logging.DEBUG)
        phases.addHandler(logging.StreamHandler())
        phases.propagate = False
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection, transaction

        from research.models import Project, Segment, Segmentation
        from research.services_segmentation import segmentation_import

        call_command("migrate", verbosity=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "segments.csv"
            generate(path, rows)
            data = path.read_bytes()
            project = Project.objects.create(slug="bench", name="Bench")
            for label, fast in (("fast", True), ("python", False)):
                settings.SEGMENTATION_PG_FAST_PATH = fast
                start = time.perf_counter()
                seg = segmentation_import(
                    project=project,
                    user=None,
                    name=f"Bench {label}",
                    file_name="segments.csv",
                    data=data,
                    customer_column="customer_ref",
                    segment_column="segment",
                )
                times[label] = time.perf_counter() - start
                assert seg.customer_count == rows
                if fast:  # the file (and its decoded text) are the bulk of it
                    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TABLE raw_copy (customer_ref text, segment text, first_year_spend"
                    " text, tenure_months text, nps text, churned text, joined text)"
                )
                start = time.perf_counter()
                with cursor.cursor.copy("COPY raw_copy FROM STDIN (FORMAT csv, HEADER)") as copy:
                    copy.write(data)
                times["raw"] = time.perf_counter() - start
                # The table's own cost: the same rows with empty metrics, straight from the
                # text table (heap, the primary key and the unique (segmentation, customer_ref)
                # index, their WAL; no foreign-key checks since migration research 0004).
                floor = Segmentation.objects.create(
                    project=project, name="Floor", version=1, customer_column="c",
                    segment_column="s",
                )  # fmt: skip
                for name in SEGMENTS:
                    Segment.objects.create(segmentation=floor, name=name)
                start = time.perf_counter()
                with transaction.atomic():
                    cursor.execute(
                        "INSERT INTO research_customersegment"
                        " (segmentation_id, customer_ref, segment_id, metrics)"
                        " SELECT %s, r.customer_ref, s.id, '{}' FROM raw_copy r"
                        " JOIN research_segment s ON s.segmentation_id = %s AND s.name = r.segment",
                        [floor.pk, floor.pk],
                    )
                times["floor"] = time.perf_counter() - start
        connection.close()
    finally:
        psql(f"DROP DATABASE IF EXISTS {DB}")
    raw = times["raw"]
    print(f"rows: {rows:,}")
    for label, text in (
        ("fast", "segmentation_import, PostgreSQL fast path"),
        ("python", "segmentation_import, Python path (forced)"),
        ("raw", "raw psycopg COPY into a 7 x text table"),
        ("floor", "INSERT ... SELECT '{}' from that table + commit"),
    ):
        took = times[label]
        print(f"{text:50} {took:6.2f} s = {rows / took:>10,.0f} rows/s = {took / raw:5.1f}x raw")
    print(f"peak RSS after the fast path: {peak_mb:,.0f} MB (file: {len(data) / 2**20:,.0f} MB)")


if __name__ == "__main__":
    main()
