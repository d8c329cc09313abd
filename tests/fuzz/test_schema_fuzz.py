"""Schema fuzzing (issue 8.2): schemathesis generates requests for every operation in
`/api/schema/` and sends them through the WSGI app, authenticated by token as the owner of one of
two projects. Path parameters are either schemathesis' own values or seeded with real objects of
the caller's project or of the other one, so cross-project access is fuzzed too.

Guarantees checked on every response: no 5xx; the status code, content type and body are the ones
the schema documents; and a path naming another project's project or objects is a 404.

Bounded and deterministic: a few examples per operation, derandomized, no example database, so a
CI run takes the same path every time (FUZZ_EXAMPLES raises the budget for a local deep run).
"""

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test.utils import override_settings
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.seeds import Side, build_sides, path_kinds

HOST = "localhost"  # the host schemathesis' WSGI transport sends
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# own: the caller's project and objects; foreign: the other project and its objects;
# foreign-objects: the caller's project with the other project's objects; generated: as drawn.
MODES = ("own", "foreign", "foreign-objects", "generated")

with override_settings(ALLOWED_HOSTS=[HOST]):
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/", get_wsgi_application(), headers={"X-Forwarded-Proto": "https"}
    )


@pytest.fixture
def sides(db, settings) -> Iterator[tuple[Side, Side]]:
    settings.ALLOWED_HOSTS = [HOST]
    # Requests go straight to the WSGI app, so Django's end-of-request handler would close the
    # test's database connection (it holds the open test transaction): Django's own test client
    # disconnects it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield build_sides()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _seed_path(case, caller: Side, other: Side, mode: str) -> bool:
    """Put seeded values into the case's path; True when the path names the other project."""
    params = case.path_parameters
    if mode == "generated" or not params:
        return False
    owner_of_path = other if mode == "foreign" else caller
    objects_of = other if mode in ("foreign", "foreign-objects") else caller
    if "slug" in params:
        params["slug"] = owner_of_path.project.slug
    kinds = path_kinds(case.operation.path)
    for name, kind in kinds.items():
        params[name] = objects_of.ids[kind]
    return mode == "foreign" or (mode == "foreign-objects" and bool(kinds))


@schema.parametrize()
@schema.given(caller_index=st.sampled_from([0, 1]), mode=st.sampled_from(MODES))
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented_when_fuzzed(case, caller_index, mode, sides):
    caller, other = sides[caller_index], sides[1 - caller_index]
    foreign = _seed_path(case, caller, other, mode)
    response = case.call_and_validate(headers=caller.headers(), checks=CHECKS)
    if foreign:
        assert response.status_code == 404, (mode, case.path_parameters, response.text[:300])
