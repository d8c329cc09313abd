"""Locust load of issue 8.7: coders reading, coding, analysing and exporting in one project.

Each simulated user is one coder of the seeded project (bench/load/seed.py writes the fixture,
named by VERBATIM_LOAD_FIXTURE). The task weights are the issue's mix: 70 workspace reads, 20
excerpt writes, 5 analyses, 5 exports. Every response must be the status the route promises;
anything else is a locust failure. Run through bench/load/run.py, which starts the servers and
checks the totals.
"""

import itertools
import json
import os
import random
import threading
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment

FIXTURE: dict[str, Any] = json.loads(Path(os.environ["VERBATIM_LOAD_FIXTURE"]).read_text())
_next_user = itertools.count()
_lock = threading.Lock()
WRITE_NAME = "POST excerpts/"
# Ids of the excerpts this run created (201s), so run.py can name any excerpt the database holds
# that locust did not count, or the other way round.
CREATED: list[int] = []
_environment: list[Environment] = []


@events.init.add_listener
def _keep_environment(environment: Environment, **kwargs: Any) -> None:
    _environment.append(environment)


@events.quit.add_listener
def _write_results(**kwargs: Any) -> None:
    """Locust's final totals, once every user has stopped (its stats CSV may miss the last few
    requests of the users that finished their task after the run time ran out)."""
    target = os.environ.get("VERBATIM_LOAD_RESULTS")
    if not target or not _environment:
        return
    stats = _environment[0].stats
    total, write = stats.total, stats.get(WRITE_NAME, "POST")
    results = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "p95_ms": total.get_response_time_percentile(0.95),
        "writes_succeeded": write.num_requests - write.num_failures,
        "created": sorted(CREATED),
        # Per endpoint from the same final totals, so the table and the verdict agree.
        "endpoints": [
            {
                "method": entry.method,
                "name": entry.name,
                "count": entry.num_requests,
                "failures": entry.num_failures,
                "p50_ms": entry.get_response_time_percentile(0.5),
                "p95_ms": entry.get_response_time_percentile(0.95),
                "p99_ms": entry.get_response_time_percentile(0.99),
                "max_ms": entry.max_response_time,
            }
            for entry in [*sorted(stats.entries.values(), key=lambda e: e.name), total]
        ],
    }
    Path(target).write_text(json.dumps(results))


class Coder(HttpUser):
    """One coder: reads a document's workspace, codes a span, looks at the analysis, exports."""

    # Think time between actions; a person coding does not click 50 times a second.
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        with _lock:
            account = FIXTURE["users"][next(_next_user) % len(FIXTURE["users"])]
        self.api = f"/api/v1/projects/{FIXTURE['slug']}"
        # Token for the API (token auth is tried first: no CSRF needed for writes), the
        # session cookie only for the server-rendered workspace page.
        self.client.headers["Authorization"] = f"Token {account['token']}"
        # As the TLS-terminating proxy in front of gunicorn would (see run.py).
        self.client.headers["X-Forwarded-Proto"] = "https"
        self.page_cookies = {FIXTURE["session_cookie"]: account["session"]}
        self.random = random.Random(account["username"])

    def _document(self) -> dict[str, Any]:
        return self.random.choice(FIXTURE["documents"])

    # --- 70: workspace reads ---
    @task(25)
    def document_detail(self) -> None:
        doc = self._document()
        self.client.get(f"{self.api}/documents/{doc['id']}/", name="documents/{id}/")

    @task(25)
    def document_excerpts(self) -> None:
        doc = self._document()
        self.client.get(f"{self.api}/excerpts/?document={doc['id']}", name="excerpts/?document=")

    @task(20)
    def workspace_page(self) -> None:
        doc = self._document()
        # The page the coder opens (session auth), then the one call its script makes.
        self.client.get(
            f"/p/{FIXTURE['slug']}/documents/{doc['id']}/code/",
            cookies=self.page_cookies,
            name="page: documents/{id}/code/",
        )
        self.client.get(
            f"{self.api}/documents/{doc['id']}/workspace/", name="documents/{id}/workspace/"
        )

    # --- 20: excerpt writes ---
    @task(20)
    def excerpt_write(self) -> None:
        doc = self._document()
        start = self.random.randrange(0, doc["length"] - 70)
        end = start + self.random.randrange(10, 60)
        payload = {
            "document": doc["id"],
            "code": self.random.choice(FIXTURE["codes"]),
            "start": start,
            "end": end,
        }
        with self.client.post(
            f"{self.api}/excerpts/", json=payload, name=WRITE_NAME, catch_response=True
        ) as response:
            if response.status_code == 201:
                CREATED.append(int(response.json()["id"]))
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    # --- 5: analyses ---
    @task(5)
    def theme_segment(self) -> None:
        level = self.random.choice(["theme", "code"])
        self.client.get(
            f"{self.api}/analysis/theme-segment/?segmentation={FIXTURE['segmentation']}"
            f"&level={level}&unit=participant",
            name="analysis/theme-segment/",
        )

    # --- 5: exports ---
    @task(5)
    def excerpts_csv(self) -> None:
        with self.client.get(
            f"{self.api}/exports/excerpts/?format=csv",
            name="exports/excerpts/?format=csv",
            catch_response=True,
        ) as response:
            if response.status_code == 200 and "text/csv" not in response.headers.get(
                "Content-Type", ""
            ):
                response.failure("not the excerpts CSV")
