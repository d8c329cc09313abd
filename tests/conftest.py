"""Shared fixtures: a project with one member per role, and a second project with its own owner
(the outsider every access test tries)."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.celery import app as celery_app
from research.models import Project, User
from research.roles import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory


@dataclass
class Team:
    project: Project
    owner: User
    researcher: User
    coder: User
    manager: User
    outsider: User  # owner of another project, member of none here
    other_project: Project

    def user(self, role: str) -> User:
        return getattr(self, role)


@pytest.fixture
def team(db: None) -> Team:
    project = ProjectFactory.create(slug="onboarding-calls", name="Onboarding calls")
    users = {}
    for role in Role:
        user = UserFactory.create(username=f"{role.value}1")
        MembershipFactory.create(project=project, user=user, role=role)
        users[role.value] = user
    other = ProjectFactory.create(slug="other-study", name="Other study")
    outsider = UserFactory.create(username="outsider")
    MembershipFactory.create(project=other, user=outsider, role=Role.OWNER)
    return Team(project=project, outsider=outsider, other_project=other, **users)


def client_for(user: User | None) -> APIClient:
    """A client logged in as `user` (anonymous for None), for API routes and pages alike."""
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _tasks_inline():
    """Run tasks inline in every test, even when CELERY_BROKER_URL points at Redis.

    Only the worker tests (tests/research/test_jobs_worker.py) go through the broker, with a real
    worker of their own; anything else queued there would wait for a worker that never comes.
    """
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _test_settings(settings) -> None:
    # The default PBKDF2 hasher costs ~0.3 s per password here; tests need no real hashing cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Production serves hashed names from collectstatic's manifest; tests serve the app's files.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # WhiteNoise indexes every file under STATIC_ROOT when its middleware starts, and the test
    # client starts the middleware for every client: with a collected STATIC_ROOT (after
    # `collectstatic`, the load test or the smoke test) that was 0.15 s of each request-making
    # test. Looking files up per request instead (as in development) serves the same files.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture
def api() -> type[APIClient]:
    return APIClient


# The demo study's spaCy results, per worker process: (document text, units) -> what _analyse found;
# and the docs pattern matching parsed, by unit text (only texts of the demo's units).
_DEMO_ANALYSES: dict[tuple[str, tuple[tuple[int, int], ...]], tuple[Any, ...]] = {}
_DEMO_UNITS: set[str] = set()
_DEMO_PATTERN_DOCS: dict[str, Any] = {}


@pytest.fixture(scope="session", autouse=True)
def _demo_parsed_once() -> Iterator[None]:
    """`load_demo` runs in some twenty tests of each run, and each time spaCy parses the same 39
    texts twice (the ingest, then pattern suggestions: about 6 s). The pipeline is
    deterministic, so the demo project's texts are parsed once per test process and the results
    reused; every other project's text is parsed afresh, so the ingest's and the suggester's own
    tests are untouched. tests/coding/test_load_demo.py still checks the demo's sentences
    against its texts."""
    from coding.management.commands._demo_data import SLUG
    from coding.suggest import generate
    from observations.models import Sentence
    from observations.services import ingest

    analyse_original, parse_original = ingest._analyse, generate._parse

    def analyse(document: Any, units: list[tuple[int, int]], job: Any) -> Any:
        if document.project.slug != SLUG:
            return analyse_original(document, units, job)
        _DEMO_UNITS.update(document.text[a:b] for a, b in units)
        key = (document.text, tuple(units))
        if key not in _DEMO_ANALYSES:
            sentences, persons, label = analyse_original(document, units, job)
            rows = [(s.index, s.start, s.end, s.lemmas) for s in sentences]
            _DEMO_ANALYSES[key] = (rows, list(persons), label)
        rows, persons, label = _DEMO_ANALYSES[key]
        fresh = [
            Sentence(document=document, index=i, start=a, end=b, lemmas=lemmas)
            for i, a, b, lemmas in rows
        ]
        return fresh, list(persons), label

    def parse(nlp: Any, texts: list[str]) -> Iterator[Any]:
        if not texts or not all(text in _DEMO_UNITS for text in texts):
            yield from parse_original(nlp, texts)
            return
        missing = [text for text in dict.fromkeys(texts) if text not in _DEMO_PATTERN_DOCS]
        _DEMO_PATTERN_DOCS.update(zip(missing, parse_original(nlp, missing), strict=True))
        yield from (_DEMO_PATTERN_DOCS[text] for text in texts)

    ingest._analyse, generate._parse = analyse, parse
    yield
    ingest._analyse, generate._parse = analyse_original, parse_original
