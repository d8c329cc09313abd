"""Fixtures for page tests: a logged-in Django test client per user, as a browser would hold."""

from collections.abc import Callable

import pytest
from django.test import Client

from research.models import User


@pytest.fixture
def client_as() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
