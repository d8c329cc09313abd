"""Security headers on every page (CSP, HSTS, nosniff, Referrer-Policy, frame options), secure
cookies, and templates that the Content-Security-Policy will not break (no inline script, no
inline style)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import Team
from tests.factories import DEFAULT_PASSWORD

ROOT = Path(settings.BASE_DIR)
TEMPLATE_DIRS = [p for p in ROOT.glob("*/templates") if p.is_dir()]
# An executable <script> element without src: any type but the inert data blocks.
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=[\"']application/(?:ld\+)?json)[^>]*>", re.I
)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"\b(?:href|src|action)\s*=\s*[\"']\s*javascript:", re.I)
# A style attribute or a <style> element: both refused by `style-src 'self'`.
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)


def _csp(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {
        name: value.strip()
        for name, _, value in (d.strip().partition(" ") for d in header.split(";") if d.strip())
    }


@pytest.mark.django_db
def test_login_page_carries_a_csp_without_inline_script_inline_style_or_eval():
    response = Client().get(reverse("login"))

    policy = _csp(response)
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe" not in policy["script-src"]
    assert "unsafe" not in policy["style-src"]


def test_project_page_and_api_carry_the_csp(team: Team):
    client = Client()
    client.force_login(team.coder)

    page = client.get(reverse("frontend:project-home", args=[team.project.slug]))
    api = client.get("/api/v1/projects/")

    assert page.status_code == 200
    assert _csp(page)["script-src"] == "'self'"
    assert _csp(page)["style-src"] == "'self'"
    assert _csp(api)["frame-ancestors"] == "'none'"
    assert _csp(api)["style-src"] == "'self'"


def test_only_the_browsable_api_html_allows_inline_style(team: Team):
    client = Client()
    client.force_login(team.coder)

    html = client.get("/api/v1/projects/", HTTP_ACCEPT="text/html")
    api_json = client.get("/api/v1/projects/", HTTP_ACCEPT="application/json")
    docs = client.get(reverse("api-docs"))

    assert html.status_code == api_json.status_code == docs.status_code == 200
    assert html["Content-Type"].startswith("text/html")
    # DRF's own templates carry style attributes and a <style> of Pygments colours.
    assert _csp(html)["style-src"] == "'self' 'unsafe-inline'"
    assert _csp(html)["script-src"] == "'self'"
    assert _csp(api_json)["style-src"] == "'self'"
    assert _csp(docs)["style-src"] == "'self'"


@pytest.mark.django_db
def test_https_page_carries_hsts_nosniff_referrer_policy_and_frame_options():
    response = Client().get(reverse("login"), secure=True)

    hsts = response.headers["Strict-Transport-Security"]
    max_age = re.search(r"max-age=(\d+)", hsts)
    assert max_age
    assert int(max_age[1]) >= 365 * 24 * 3600
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_api_docs_page_loads_its_init_script_from_a_url_not_inline():
    response = Client().get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert not INLINE_SCRIPT.search(html)
    assert not STYLE_ELEMENT.search(html)
    assert not STYLE_ATTRIBUTE.search(html)
    script = re.search(r'<script src="([^"]*script=[^"]*)"', html)
    assert script, "the Swagger UI init script should be loaded by URL"
    init = Client().get(script[1].replace("&amp;", "&"))
    assert init.status_code == 200
    assert "SwaggerUIBundle" in init.content.decode()


def test_session_and_csrf_cookies_are_secure_and_httponly_when_logging_in(team: Team):
    client = Client()
    client.get(reverse("login"))
    response = client.post(
        reverse("login"), {"username": "coder1", "password": DEFAULT_PASSWORD}, secure=True
    )

    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"]
    assert session["httponly"]
    assert client.cookies[settings.CSRF_COOKIE_NAME]["secure"]


def test_templates_hold_no_inline_script_event_handler_javascript_url_or_inline_style():
    templates = [p for d in TEMPLATE_DIRS for p in d.rglob("*.html")]
    assert len(templates) > 20  # the scan found the templates

    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)[:80]}"
        for path in templates
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JS_URL, STYLE_ATTRIBUTE, STYLE_ELEMENT)
        for match in pattern.finditer(path.read_text())
    ]

    assert offenders == []


def test_scan_catches_inline_script_and_handlers_when_a_template_has_them():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert INLINE_SCRIPT.search('<script type="module">x()</script>')
    assert not INLINE_SCRIPT.search('<script src="/static/a.js"></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="c">[]</script>')
    assert EVENT_HANDLER.search('<form class="x" onsubmit="return false">')
    assert not EVENT_HANDLER.search("<p>money on=call</p>")
    assert STYLE_ATTRIBUTE.search('<span class="x" style="--c: #fff">')
    assert STYLE_ELEMENT.search("<style>p { color: red }</style>")
    assert not STYLE_ATTRIBUTE.search('<span class="cb-swatch" data-color="#fff">')
    assert not STYLE_ELEMENT.search('<link rel="stylesheet" href="/static/a.css">')
