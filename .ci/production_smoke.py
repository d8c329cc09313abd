"""Production smoke checks against a running gunicorn + Celery worker (run by production_smoke.sh).

Usage: production_smoke.py BASE_URL TOKEN PROJECT_SLUG. Talks to the server as a TLS-terminating
proxy would (X-Forwarded-Proto: https) and exits non-zero with the reason on the first failure.
Every request and the wait for the task are bounded in time.
"""

import re
import sys
import time

import requests

TIMEOUT = 10
TASK_SECONDS = 60
PROXY = {"X-Forwarded-Proto": "https"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "script-src 'self'",
    "Strict-Transport-Security": "max-age=",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def check(condition: object, message: str) -> None:
    """Stop the smoke test with `message` unless `condition` holds."""
    if not condition:
        sys.exit(f"production smoke FAILED: {message}")


def check_login_page(base: str) -> str:
    """/accounts/login/ over HTTPS: 200 with every security header; returns its HTML."""
    plain = requests.get(f"{base}/accounts/login/", timeout=TIMEOUT, allow_redirects=False)
    check(
        plain.status_code == 301 and plain.headers["Location"].startswith("https://"),
        f"plain HTTP should redirect to HTTPS, got {plain.status_code}",
    )
    page = requests.get(f"{base}/accounts/login/", headers=PROXY, timeout=TIMEOUT)
    check(page.status_code == 200, f"GET /accounts/login/ gave {page.status_code}")
    for name, expected in SECURITY_HEADERS.items():
        value = page.headers.get(name, "")
        check(expected in value, f"header {name} is {value!r}, expected it to hold {expected!r}")
    cookie = page.headers.get("Set-Cookie", "")
    check("csrftoken=" in cookie and "Secure" in cookie, f"CSRF cookie not Secure: {cookie!r}")
    print("login page: 200, CSP, HSTS, nosniff, Referrer-Policy, X-Frame-Options, Secure cookie")
    return page.text


def check_static(base: str, html: str) -> None:
    """The stylesheet the page links is a hashed file whitenoise serves with a far-future cache."""
    found = re.search(r'href="(/static/[^"]+\.css)"', html)
    check(found, "the login page links no stylesheet under /static/")
    assert found
    response = requests.get(base + found[1], headers=PROXY, timeout=TIMEOUT)
    check(response.status_code == 200, f"GET {found[1]} gave {response.status_code}")
    cache = response.headers.get("Cache-Control", "")
    age = re.search(r"max-age=(\d+)", cache)
    check(age and int(age[1]) >= 365 * 24 * 3600, f"{found[1]} Cache-Control is {cache!r}")
    print(f"static: {found[1]} served with Cache-Control {cache!r}")


def check_task(base: str, token: str, slug: str) -> None:
    """A document posted through the API is processed by the Celery worker: its job succeeds."""
    auth = {**PROXY, "Authorization": f"Token {token}"}
    text = "How did the first week go?\nThe invite email never arrived.\n"
    response = requests.post(
        f"{base}/api/v1/projects/{slug}/documents/",
        json={"title": "Smoke test call", "text": text},
        headers=auth,
        timeout=TIMEOUT,
    )
    check(response.status_code == 201, f"document POST gave {response.status_code}")
    job = response.json()["job"]
    deadline = time.monotonic() + TASK_SECONDS
    while job["status"] not in ("succeeded", "failed"):
        check(time.monotonic() < deadline, f"job still {job['status']} after {TASK_SECONDS}s")
        time.sleep(0.5)
        job = requests.get(f"{base}/api/v1/jobs/{job['id']}/", headers=auth, timeout=TIMEOUT)
        job = job.json()
    check(job["status"] == "succeeded", f"the worker's job ended {job}")
    document = requests.get(
        f"{base}/api/v1/projects/{slug}/documents/{response.json()['id']}/",
        headers=auth,
        timeout=TIMEOUT,
    ).json()
    check(document["status"] == "ready", f"document status is {document['status']!r}")
    print(f"celery: document processed by the worker (job {job['id']} succeeded)")


def main() -> None:
    base, token, slug = sys.argv[1:4]
    html = check_login_page(base)
    check_static(base, html)
    check_task(base, token, slug)
    print("production smoke passed")


if __name__ == "__main__":
    main()
