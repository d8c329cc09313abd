"""Coding workspace page speed in headless Chromium (issue 4): ready-to-code time and save time.

    .venv/bin/python bench/workspace_browser.py [--words 50000] [--excerpts 5000] [--runs 3]
        [--shots DIR]

Builds a throwaway SQLite database (migrated, filled by `tests/coding/workspace_data.py`'s
`build_long_transcript`: 50,000 words, 5,000 excerpts from 5 coders, 40 codes), starts
`manage.py runserver --noreload` on it, logs in as a researcher with Playwright (system Chromium)
and, per run:

- ready: navigation start -> `window.workspaceReadyAt` (set by workspace.js once highlights and
  stripes are painted and the picker is usable), read from `performance.now()`;
- save: a phrase is selected, `c` opens the picker, then from the Enter keydown to the API's 201
  and the repaint of the touched turn (`window.workspaceLastSave`).

Prints every run, the best and the median. `--shots DIR` also saves desktop and phone
screenshots of the page. The database directory is removed at the end.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "bench-password-1"  # noqa: S105  # a throwaway user in a throwaway database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fill(words: int, excerpts: int) -> tuple[str, int, list[tuple[int, int]]]:
    """Migrate the throwaway database and build the long transcript; (slug, document id, and
    per run the offsets of four words to code, in turns spread over the document)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from research.models import Membership, Project, User
    from research.roles import Role
    from tests.coding.workspace_data import build_long_transcript

    user = User.objects.create_user(username="bench-researcher", password=PASSWORD)
    project = Project.objects.create(slug="bench-workspace", name="Workspace benchmark")
    Membership.objects.create(project=project, user=user, role=Role.RESEARCHER)
    made = build_long_transcript(project, words=words, excerpts=excerpts)
    spans = []
    for turn in made.document.turns.order_by("index")[10 :: max(1, made.turn_count // 8)]:
        found = list(re.finditer(r"\S+", made.document.text[turn.start : turn.end]))[2:6]
        spans.append((turn.start + found[0].start(), turn.start + found[-1].end()))
    return project.slug, made.document.pk, spans


SAVE = """async ([start, end]) => {
  const doc = document.getElementById("ws-doc");
  doc.focus();
  // The bench text is ASCII: a document offset is a UTF-16 index inside its text element.
  const point = (offset) => {
    const holders = Array.from(doc.querySelectorAll(".ws-text"));
    const holder = holders.filter((h) => +h.dataset.start <= offset).pop();
    let left = offset - holder.dataset.start;
    const walker = document.createTreeWalker(holder, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (left <= n.length) return [n, left];
      left -= n.length;
    }
    throw new Error("offset not found");
  };
  const [a, aAt] = point(start);
  const [b, bAt] = point(end);
  a.parentElement.scrollIntoView({block: "center"});
  window.getSelection().setBaseAndExtent(a, aAt, b, bAt);
  doc.dispatchEvent(new KeyboardEvent("keydown", {key: "c", bubbles: true}));
  const input = document.getElementById("ws-picker-input");
  const before = window.workspaceLastSave || 0;
  const t0 = performance.now();
  input.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}));
  while ((window.workspaceLastSave || 0) === before) {
    if (performance.now() - t0 > 10000) throw new Error("no save");
    await new Promise((r) => setTimeout(r, 1));
  }
  return window.workspaceLastSave - t0;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=50_000)
    parser.add_argument("--excerpts", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shots", type=Path, default=None)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="verbatim-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
    }
    env.pop("CELERY_BROKER_URL", None)
    os.environ.update({k: v for k, v in env.items() if k != "CELERY_BROKER_URL"})
    server = None
    try:
        started = time.perf_counter()
        slug, document_id, spans = _fill(args.words, args.excerpts)
        took = time.perf_counter() - started
        print(f"data: {args.words} words, {args.excerpts} excerpts in {took:.1f} s")
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603  # our own manage.py, fixed arguments
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/", timeout=2)  # noqa: S310  # http://127.0.0.1
                break
            except OSError:
                time.sleep(0.2)
        _drive(base, slug, document_id, spans, args.runs, args.shots)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def _drive(
    base: str,
    slug: str,
    document_id: int,
    spans: list[tuple[int, int]],
    runs: int,
    shots: Path | None,
) -> None:
    from django.urls import reverse
    from playwright.sync_api import sync_playwright

    page_url = base + reverse("frontend:document-code", args=[slug, document_id])
    ready: list[float] = []
    save: list[float] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            headless=True,
            args=LAUNCH_ARGS,
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(base + reverse("login"))
        page.get_by_label("Username").fill("bench-researcher")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        page.goto(page_url)  # warm-up: server caches, static files
        page.wait_for_function("window.workspaceReady === true", timeout=60_000)
        for run in range(runs):
            page.goto(page_url)
            page.wait_for_function("window.workspaceReady === true", timeout=60_000)
            ready.append(page.evaluate("window.workspaceReadyAt"))
            save.append(page.evaluate(SAVE, list(spans[run % len(spans)])))
            print(f"run {run + 1}: ready {ready[-1]:.0f} ms, save {save[-1]:.0f} ms")
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            page.goto(page_url + "")
            page.wait_for_function("window.workspaceReady === true", timeout=60_000)
            page.screenshot(path=str(shots / "workspace-desktop.png"))
            page.locator("mark.ws-hl").nth(3).focus()
            page.keyboard.press("Enter")
            page.screenshot(path=str(shots / "workspace-panel.png"))
            page.evaluate(SAVE.replace("input.dispatchEvent", "return 0; //"), list(spans[-1]))
            page.screenshot(path=str(shots / "workspace-picker.png"))
            phone = browser.new_context(
                viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
            ).new_page()
            phone.goto(page_url)
            phone.wait_for_function("window.workspaceReady === true", timeout=60_000)
            phone.screenshot(path=str(shots / "workspace-phone.png"))
            phone.evaluate(SAVE.replace("input.dispatchEvent", "return 0; //"), list(spans[1]))
            phone.screenshot(path=str(shots / "workspace-phone-picker.png"))
        browser.close()
    print(
        f"ready to code: best {min(ready):.0f} ms, median {statistics.median(ready):.0f} ms; "
        f"save: best {min(save):.0f} ms, median {statistics.median(save):.0f} ms"
    )


if __name__ == "__main__":
    main()
