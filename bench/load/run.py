"""Run the issue 8.7 load test end to end and judge it; exit 1 when it fails.

    .venv/bin/python bench/load/run.py --run-time 2m            # the recorded run
    .venv/bin/python bench/load/run.py --run-time 20s --no-p95  # the CI run

Production-like on 127.0.0.1 only: a fresh PostgreSQL database, DEBUG off (random secret key,
manifest static files from `collectstatic`), gunicorn `config.wsgi` with `--workers` sync
workers, a Celery worker on Redis for the work writes queue (hypothesis re-evaluation), then
headless locust (bench/load/locustfile.py) with `--users` coders. Fails when any request failed,
when the project's excerpt count afterwards is not the initial count plus the POSTs that
succeeded, or (unless --no-p95) when the aggregated p95 exceeds --p95-ms.
"""

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
# gunicorn stands where it does in production, behind a TLS-terminating proxy that says so
# (settings.SECURE_PROXY_SSL_HEADER); without it every request would be redirected to https.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--run-time", default="2m", help="locust --run-time (default 2m)")
    parser.add_argument("--users", type=int, default=20, help="concurrent coders (default 20)")
    parser.add_argument(
        "--workers",
        type=lambda v: [int(n) for n in v.split(",")],
        default=[4],
        help="gunicorn workers; a list (2,3,4) runs one round per count on the same data",
    )
    parser.add_argument("--p95-ms", type=float, default=100.0, help="p95 limit (default 100)")
    parser.add_argument("--no-p95", action="store_true", help="report the p95, do not judge it")
    parser.add_argument(
        "--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="Celery broker")
    parser.add_argument("--out", type=Path, help="keep locust's CSVs and logs here")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def database(server: str) -> Iterator[str]:
    """A new, empty database on `server`, dropped afterwards; yields its URL."""
    name = f"verbatim_load_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process logging to `log`; terminate it (then kill) on the way out."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603  # our own servers, fixed arguments
            args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            request = urllib.request.Request(url, headers=PROXY_HEADERS)  # noqa: S310
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"{url} did not answer within {limit:.0f}s:\n{log.read_text()[-3000:]}")


def run(cmd: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run one of our own tools (fixed arguments) from the repository root."""
    return subprocess.run(cmd, env=env, cwd=ROOT, text=True, **kwargs)  # noqa: S603


def manage(env: dict[str, str], *args: str) -> None:
    run([str(BIN / "python"), "manage.py", *args], env, check=True)


def report(endpoints: list[dict[str, Any]]) -> None:
    """The per-endpoint table, from locust's final totals (the last row is all requests)."""
    print(
        f"{'request':<44} {'count':>6} {'fail':>5} {'median':>7} {'p95':>6} {'p99':>6} {'max':>6}"
    )
    for row in endpoints:
        method, name = row["method"] or "", row["name"]
        label = name if method in ("", "POST") else f"{method} {name}"
        print(
            f"{label:<44} {row['count']:>6} {row['failures']:>5} {row['p50_ms'] or 0:>7.0f} "
            f"{row['p95_ms'] or 0:>6.0f} {row['p99_ms'] or 0:>6.0f} {row['max_ms'] or 0:>6.0f}"
        )


def census(env: dict[str, str], slug: str) -> dict[str, Any]:
    """The project's excerpt count and the ids of the load coders' excerpts (seed.py --count)."""
    done = run(
        [str(BIN / "python"), str(HERE / "seed.py"), "--count", slug],
        env,
        check=True,
        capture_output=True,
    )
    return dict(json.loads(done.stdout))


def round_(args: argparse.Namespace, env: dict[str, str], workers: int, out: Path) -> list[str]:
    """One locust run against gunicorn with `workers` workers; returns what failed."""
    out.mkdir(parents=True, exist_ok=True)
    slug = json.loads(Path(env["VERBATIM_LOAD_FIXTURE"]).read_text())["slug"]
    env = {**env, "VERBATIM_LOAD_RESULTS": str(out / "results.json")}
    start = census(env, slug)
    before = int(start["count"])
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    worker = [str(BIN / "celery"), "-A", "config", "worker", "-c", "1", "-l", "WARNING"]
    gunicorn = [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}",
                "-w", str(workers), "--log-level", "warning",
                "-c", str(HERE / "gunicorn_conf.py")]  # fmt: skip
    # Tasks left in the broker by an earlier, interrupted run name rows of a dropped database.
    run([*worker[:3], "purge", "-f"], env, check=True)
    with (
        process(worker, env, out / "celery.log"),
        process(gunicorn, env, out / "gunicorn.log") as web,
    ):
        wait_http(f"{host}/accounts/login/", web, out / "gunicorn.log")
        locust = [str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless",
                  "-u", str(args.users), "-r", str(args.users), "-t", args.run_time,
                  "-H", host, "--csv", str(out / "locust"), "--only-summary",
                  "--stop-timeout", "30", "--loglevel", "WARNING"]  # fmt: skip
        print(f"\n== {workers} gunicorn workers ==\nlocust:", " ".join(locust[1:]), flush=True)
        run(locust, env, check=False)
    found = census(env, slug)
    after = int(found["count"])
    results = json.loads((out / "results.json").read_text())
    report(results["endpoints"])
    written = int(results["writes_succeeded"])
    failures = int(results["failures"])
    p95 = float(results["p95_ms"])
    problems = []
    if int(results["requests"]) == 0:
        problems.append("no requests were made")
    if failures:
        problems.append(f"{failures} requests failed (see {out}/locust_failures.csv)")
    if after != before + written:
        problems.append(f"excerpts: {before} before + {written} written != {after} after")
        created = set(results["created"])
        in_db = set(found["load_ids"])
        print("created, not in the database:", sorted(created - in_db))
        print("in the database, no 201 seen:", sorted(in_db - created - set(start["load_ids"])))
    if not args.no_p95 and p95 > args.p95_ms:
        problems.append(f"p95 {p95:.0f} ms > {args.p95_ms:.0f} ms")
    print(
        f"{args.users} users, {args.run_time}, {workers} gunicorn workers: "
        f"{results['requests']} requests, {failures} failed, p95 {p95:.0f} ms; "
        f"excerpts {before} + {written} written = {after}; output in {out}"
    )
    for problem in problems:
        print("FAILED:", problem)
    return problems


def main() -> int:
    args = parse_args()
    # A CI timeout or kill sends SIGTERM: exit through the `finally`s, which stop the servers and
    # drop the database.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    out = args.out or Path(tempfile.mkdtemp(prefix="verbatim-load."))
    out.mkdir(parents=True, exist_ok=True)
    media = Path(tempfile.mkdtemp(prefix="verbatim-load-media."))
    problems: list[str] = []
    with database(args.pg) as db_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
        env.update(
            DATABASE_URL=db_url,
            CELERY_BROKER_URL=args.redis,
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            MEDIA_ROOT=str(media),
            DJANGO_LOG_LEVEL="WARNING",
            VERBATIM_LOAD_FIXTURE=str(out / "fixture.json"),
        )
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "collectstatic", "--no-input", "-v", "0")
        seed = [str(BIN / "python"), str(HERE / "seed.py"), "--coders", str(args.users),
                "--out", str(out / "fixture.json")]  # fmt: skip
        # Without a broker the demo's documents are processed (spaCy) inline, before the load
        # starts, as a worker would have done long before anyone codes them.
        run(seed, {k: v for k, v in env.items() if k != "CELERY_BROKER_URL"}, check=True)
        for workers in args.workers:
            problems += round_(args, env, workers, out / f"w{workers}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
