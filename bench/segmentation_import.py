"""Benchmark: segmentation import on PostgreSQL against raw psycopg COPY of the same file.

Usage: DJANGO_DEBUG=1 .venv/bin/python bench/segmentation_import.py [ROWS]   (default 1,000,000)

Creates the database verbatim_bench_seg (psql -h 127.0.0.1 -U postgres), migrates it, imports a
generated CSV (customer_ref, segment, 5 metrics) through `segmentation_import`, then COPYs the
same file into a plain table with psycopg, prints rows/s and the ratio, and drops the database.
"""

import os
import random
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
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from research.models import Project
        from research.services_segmentation import segmentation_import

        call_command("migrate", verbosity=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "segments.csv"
            generate(path, rows)
            data = path.read_bytes()
            project = Project.objects.create(slug="bench", name="Bench")
            start = time.perf_counter()
            seg = segmentation_import(
                project=project,
                user=None,
                name="Bench",
                file_name="segments.csv",
                data=data,
                customer_column="customer_ref",
                segment_column="segment",
            )
            service = time.perf_counter() - start
            assert seg.customer_count == rows
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TABLE raw_copy (customer_ref text, segment text, first_year_spend"
                    " text, tenure_months text, nps text, churned text, joined text)"
                )
                start = time.perf_counter()
                with cursor.cursor.copy("COPY raw_copy FROM STDIN (FORMAT csv, HEADER)") as copy:
                    copy.write(data)
                raw = time.perf_counter() - start
        connection.close()
    finally:
        psql(f"DROP DATABASE IF EXISTS {DB}")
    print(f"rows: {rows:,}")
    print(f"service (read, infer, validate, COPY): {service:.2f} s = {rows / service:,.0f} rows/s")
    print(f"raw psycopg COPY of the file:          {raw:.2f} s = {rows / raw:,.0f} rows/s")
    print(f"ratio service/raw: {service / raw:.2f}x")


if __name__ == "__main__":
    main()
