"""Shared fixtures: a project with one member per role, and a second project with its own owner
(the outsider every access test tries)."""

from dataclasses import dataclass

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


@pytest.fixture
def api() -> type[APIClient]:
    return APIClient
