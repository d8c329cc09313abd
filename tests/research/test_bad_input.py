"""Bad input to every create endpoint gets a 400 naming the field, and creates nothing."""

import pytest
from django.apps import apps
from django.urls import reverse

from tests.conftest import Team, client_for
from tests.factories import CodeFactory, DocumentFactory, ParticipantFactory, SessionFactory
from tests.research.test_list_queries import LIST_ROUTES

# route -> (model whose row count must not change, [(body, field named in the errors)])
BAD: dict[str, tuple[str, list[tuple[dict, str]]]] = {
    "api:project-list": (
        "research.Project",
        [
            ({"name": "No slug"}, "slug"),
            ({"slug": "has spaces", "name": "X"}, "slug"),
            ({"slug": "onboarding-calls", "name": "Taken"}, "slug"),
            ({"slug": "new", "name": "X", "language": "xx"}, "language"),
        ],
    ),
    "api:member-list": (
        "research.Membership",
        [
            ({"username": "nobody", "role": "coder"}, "username"),
            ({"username": "outsider", "role": "boss"}, "role"),
            ({"username": "coder1", "role": "coder"}, "username"),  # already a member
        ],
    ),
    "api:participant-list": (
        "research.Participant",
        [
            ({}, "pseudonym"),
            ({"pseudonym": "P1", "attributes": ["not", "an", "object"]}, "attributes"),
            ({"pseudonym": "  "}, "pseudonym"),
        ],
    ),
    "api:session-list": (
        "observations.ObservationSession",
        [
            ({"title": "No start"}, "started_at"),
            ({"title": "T", "started_at": "not a date"}, "started_at"),
            (
                {"title": "T", "started_at": "2026-03-02T10:00Z", "ended_at": "2026-03-02T09:00Z"},
                "ended_at",
            ),
            ({"title": "T", "started_at": "2026-03-02T10:00Z", "channel": "pigeon"}, "channel"),
            ({"title": "T", "started_at": "2026-03-02T10:00Z", "observer": "outsider"}, "observer"),
            (
                {"title": "T", "started_at": "2026-03-02T10:00Z", "journey_stage": "moon"},
                "journey_stage",
            ),
        ],
    ),
    "api:note-list": (
        "observations.FieldNote",
        [
            ({"observed_at": "2026-03-02T10:00Z", "text": "   "}, "text"),
            ({"text": "No time"}, "observed_at"),
            ({"observed_at": "2026-03-02T10:00Z", "text": "x", "kind": "gossip"}, "kind"),
            (
                {"observed_at": "2026-03-02T10:00Z", "text": "x", "participant": "OTHER_PERSON"},
                "participant",
            ),
        ],
    ),
    "api:document-list": (
        "observations.Document",
        [
            ({"title": "No text"}, "text"),
            ({"title": "Blank", "text": " \n "}, "text"),
            ({"title": "T", "text": "abc", "turns": [{"start": 2, "end": 9}]}, "turns[0]"),
            (
                {
                    "title": "T",
                    "text": "abcdef",
                    "turns": [{"start": 0, "end": 4}, {"start": 2, "end": 6}],
                },
                "turns[1]",
            ),
            ({"title": "T", "text": "abc", "kind": "novel"}, "kind"),
        ],
    ),
    "api:code-list": (
        "coding.Code",
        [
            ({}, "name"),
            ({"name": "Colourful", "color": "red"}, "color"),
            ({"name": "Existing"}, "name"),  # case-insensitive duplicate among roots
            ({"name": "Orphan", "parent": 999999}, "parent"),
        ],
    ),
    "api:excerpt-list": (
        "coding.Excerpt",
        [
            ({"document": "DOC", "code": "CODE", "start": 5, "end": 5}, "start"),
            ({"document": "DOC", "code": "CODE", "start": 0, "end": 10**6}, "end"),
            ({"document": "DOC", "code": "CODE", "start": -1, "end": 3}, "start"),
            ({"document": "DOC", "code": "CODE", "start": 0, "end": 5, "text": "wrong"}, "text"),
            ({"document": "OTHER_DOC", "code": "CODE", "start": 0, "end": 5}, "document"),
            ({"code": "CODE", "start": 0, "end": 5}, "document"),
        ],
    ),
    # --- codebook area ---
    "api:codebook-history-list": ("coding.CodebookChange", []),  # read-only list
    # --- imports area ---
    # --- PII area ---
    # --- segmentation area ---
    "api:segmentation-list": (
        "research.Segmentation",
        [
            ({}, "file"),
            ({"name": "Value", "customer_column": "id", "segment_column": "seg"}, "file"),
        ],
    ),
    "api:pii-candidate-list": ("observations.PiiCandidate", []),  # read-only list
    "api:pii-key-list": ("observations.PiiKeyEntry", []),  # read-only list
    "api:audit-list": ("research.AuditEvent", []),  # read-only list (privacy area)
    "api:pii-known-name-list": (
        "observations.PiiKnownName",
        [
            ({}, "name"),
            ({"name": "   "}, "name"),
            ({"name": "X" * 201}, "name"),
            ({"name": "Ama Owusu", "pseudonym": "P" * 101}, "pseudonym"),
            ({"name": ["Ama", "Owusu"]}, "name"),
        ],
    ),
    # --- hypotheses area ---
    "api:hypothesis-list": (
        "coding.Hypothesis",
        [
            ({}, "statement"),
            (
                {"statement": "x", "code": "OTHER_CODE", "kind": "segment", "direction": "more"},
                "code",
            ),
            ({"statement": "x", "code": "CODE", "kind": "weather", "direction": "more"}, "kind"),
            ({"statement": "x", "code": "CODE", "kind": "segment", "direction": "up"}, "direction"),
        ],
    ),
    # --- suggestions area ---
    "api:suggestion-list": ("coding.Suggestion", []),  # read-only list
    "api:suggester-list": ("coding.Suggester", []),  # POST takes no input (train the next)
    "api:memo-list": (
        "coding.Memo",
        [
            ({"text": ""}, "text"),
            ({"text": "About a foreign code", "code": "OTHER_CODE"}, "code"),
        ],
    ),
}


def _fill(body: dict, ids: dict[str, int]) -> dict:
    return {
        key: ids.get(value, value) if isinstance(value, str) else value
        for key, value in body.items()
    }


def _cases():
    for route in LIST_ROUTES:
        model, cases = BAD.get(route.name, ("", [({}, "?")]))
        for index, (body, field) in enumerate(cases):
            yield pytest.param(route, model, body, field, id=f"{route.name}-{index}")


def test_every_create_endpoint_has_bad_input_cases():
    assert {route.name for route in LIST_ROUTES} <= set(BAD)


@pytest.mark.parametrize(("route", "model", "body", "field"), list(_cases()))
def test_create_gives_400_naming_the_field_when_input_is_bad(team: Team, route, model, body, field):
    session = SessionFactory.create(project=team.project)
    CodeFactory.create(project=team.project, name="existing")
    ids = {
        "DOC": DocumentFactory.create(project=team.project).pk,
        "CODE": CodeFactory.create(project=team.project).pk,
        "OTHER_DOC": DocumentFactory.create(project=team.other_project).pk,
        "OTHER_CODE": CodeFactory.create(project=team.other_project).pk,
        "OTHER_PERSON": ParticipantFactory.create(project=team.other_project).pk,
    }
    kwargs: dict[str, object] = {"slug": team.project.slug} if "slug" in route.kwargs else {}
    if "session_pk" in route.kwargs:
        kwargs["session_pk"] = session.pk
    Model = apps.get_model(model)
    before = Model.objects.count()
    response = client_for(team.owner).post(
        reverse(route.name, kwargs=kwargs), _fill(body, ids), format="json"
    )
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["detail"]
    fields = [error.get("field") for error in payload["errors"]]
    assert field in fields, payload
    assert all(error["message"] for error in payload["errors"])
    assert Model.objects.count() == before


# --- agreement area: reconciling a passage (400 naming the field, nothing recorded) ---
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "code"),
        ({"code": "CODE", "document": "DOC", "start": 0, "end": 5}, "action"),
        ({"code": "CODE", "document": "DOC", "start": 0, "end": 5, "action": "toss"}, "action"),
        ({"code": "CODE", "document": "DOC", "start": 0, "end": 5, "action": "keep"}, "excerpt"),
        ({"code": "CODE", "document": "DOC", "start": 5, "end": 2, "action": "merge"}, "end"),
        ({"code": "CODE", "document": "DOC", "start": 90, "end": 95, "action": "merge"}, "start"),
        (
            {
                "code": "CODE",
                "document": "DOC",
                "start": 0,
                "end": 5,
                "action": "merge",
                "coders": "coder1",
            },
            "coders",
        ),
    ],
)
def test_reconcile_gives_400_naming_the_field_when_input_is_bad(team: Team, body, field):
    from coding.models import AgreementDecision, Excerpt
    from tests.factories import ExcerptFactory

    document = DocumentFactory.create(project=team.project)
    code = CodeFactory.create(project=team.project)
    for coder in (team.coder, team.researcher):
        ExcerptFactory.create(document=document, code=code, coder=coder, start=0, end=8)
    body = _fill(body, {"CODE": code.pk, "DOC": document.pk})
    url = reverse("api:analysis-agreement-reconcile", kwargs={"slug": team.project.slug})
    response = client_for(team.owner).post(url, body, format="json")
    assert response.status_code == 400, response.content
    assert field in [error.get("field") for error in response.json()["errors"]]
    assert not AgreementDecision.objects.exists()
    assert Excerpt.objects.count() == 2


# --- analysis area: GET routes whose query parameters are validated (400 naming the parameter) ---
BAD_QUERIES: dict[str, list[tuple[dict[str, str], str]]] = {
    "api:analysis-theme-segment": [
        ({"level": "galaxy"}, "level"),
        ({"unit": "word"}, "unit"),
        ({"source": "transcript,novel"}, "source"),
        ({"customer_speech": "maybe"}, "customer_speech"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "date_to"),
    ],
    "api:analysis-theme-metric": [
        ({}, "metric"),
        ({"metric": "no-such-metric"}, "metric"),
        ({"metric": "spend", "level": "galaxy"}, "level"),
        ({"metric": "spend", "source": "novel"}, "source"),
    ],
    "api:analysis-coverage": [
        ({"date_from": "02/03/2026"}, "date_from"),
        ({"recruit": "many"}, "recruit"),
    ],
    "api:analysis-agreement": [
        ({}, "coders"),
        ({"coders": "coder1"}, "coders"),
        ({"coders": "coder1,nobody"}, "coders"),
        ({"coders": "coder1,researcher1", "unit": "word"}, "unit"),
        ({"coders": "coder1,researcher1", "source": "novel"}, "source"),
        (
            {"coders": "coder1,researcher1", "segmentation": "SNAPSHOT", "segment": "Nobody"},
            "segment",
        ),
    ],
    "api:analysis-agreement-reconcile": [],  # a POST: see test_reconcile_gives_400_naming_the_field
    "api:analysis-quotes": [
        ({}, "code"),
        ({"code": "THEME", "segment": "Nobody"}, "segment"),
        ({"code": "CHILD"}, "code"),  # a child code is not a theme at level=theme
        ({"code": "THEME", "limit": "0"}, "limit"),
        ({"code": "THEME", "unit": "word", "level": "galaxy"}, "level"),
    ],
    "api:analysis-cooccurrence": [
        ({"by": "paragraph"}, "by"),
        ({"level": "galaxy"}, "level"),
        ({"source": "novel"}, "source"),
        ({"coder": "nobody-here"}, "coder"),
        ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "date_to"),
    ],
}


def test_every_analysis_route_has_bad_query_cases():
    from tests.routes import all_routes

    analysis = {r.name for r in all_routes() if r.name.startswith("api:analysis-")}
    assert analysis <= set(BAD_QUERIES)


@pytest.mark.parametrize(
    ("route_name", "query", "field"),
    [(name, query, field) for name, cases in BAD_QUERIES.items() for query, field in cases],
)
def test_analysis_gives_400_naming_the_parameter_when_query_is_bad(
    team: Team, route_name, query, field
):
    from research.models import Segment, Segmentation

    snapshot = Segmentation.objects.create(
        project=team.project,
        name="Value",
        version=1,
        source_name="s.csv",
        metric_types={"spend": "numeric"},
    )
    Segment.objects.create(segmentation=snapshot, name="Gold")
    theme = CodeFactory.create(project=team.project)
    ids = {"THEME": theme.pk, "CHILD": CodeFactory.create(project=team.project, parent=theme).pk}
    ids["SNAPSHOT"] = snapshot.pk
    if route_name == "api:analysis-agreement":  # two coders who coded here
        from tests.factories import ExcerptFactory

        for coder in (team.coder, team.researcher):
            document = DocumentFactory.create(project=team.project)
            ExcerptFactory.create(document=document, coder=coder)
    params = {key: str(ids.get(value, value)) for key, value in query.items()}
    response = client_for(team.owner).get(
        reverse(route_name, kwargs={"slug": team.project.slug}), params
    )
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["detail"]
    assert field in [error.get("field") for error in payload["errors"]], payload
    assert all(error["message"] for error in payload["errors"])


# --- suggestions area: POST actions on one object (400 naming the field, nothing created) ---
BAD_ACTIONS: dict[str, tuple[str, list[tuple[dict, str]]]] = {
    "api:excerpt-similar-suggest": (
        "coding.Suggestion",
        [
            ({}, "k"),
            ({"k": 0}, "k"),
            ({"passages": [{"document": "DOC", "start": 0, "end": 4}]}, "passages"),
            ({"passages": [{"document": "OTHER_DOC", "start": 0, "end": 4}]}, "passages"),
        ],
    ),
}


@pytest.mark.parametrize(
    ("route_name", "model", "body", "field"),
    [
        (name, model, body, field)
        for name, (model, cases) in BAD_ACTIONS.items()
        for body, field in cases
    ],
)
def test_action_gives_400_naming_the_field_when_input_is_bad(
    team: Team, route_name, model, body, field
):
    from tests.factories import ExcerptFactory

    document = DocumentFactory.create(project=team.project)
    ids = {
        "DOC": document.pk,
        "OTHER_DOC": DocumentFactory.create(project=team.other_project).pk,
    }
    excerpt = ExcerptFactory.create(document=document, coder=team.coder)
    body = {
        key: [_fill(item, ids) for item in value] if isinstance(value, list) else value
        for key, value in body.items()
    }
    Model = apps.get_model(model)
    before = Model.objects.count()
    url = reverse(route_name, kwargs={"slug": team.project.slug, "pk": excerpt.pk})
    response = client_for(team.owner).post(url, body, format="json")
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["detail"]
    assert any(error.get("field", "").startswith(field) for error in payload["errors"]), payload
    assert Model.objects.count() == before


# --- REFI-QDA area: a download format it does not know is a 400 naming `format` ---
def test_refi_export_gives_400_naming_format_when_format_is_unknown(team: Team):
    response = client_for(team.owner).get(
        reverse("api:refi", kwargs={"slug": team.project.slug}), {"format": "pdf"}
    )
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["detail"]
    assert [error.get("field") for error in payload["errors"]] == ["format"]
    assert "qdpx" in payload["errors"][0]["message"]


# --- REFI-QDA area: an upload that is plainly no REFI-QDA file is a 400 naming `file` ---
@pytest.mark.parametrize(
    ("name", "data"),
    [(None, b""), ("notes.txt", b"words"), ("cut.qdpx", b"not a zip"), ("codes.qdc", b"")],
)
def test_refi_import_gives_400_naming_file_when_upload_is_bad(
    team: Team, settings, tmp_path, name, data
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from research.models import Job

    settings.MEDIA_ROOT = tmp_path
    body = {} if name is None else {"file": SimpleUploadedFile(name, data)}
    response = client_for(team.owner).post(
        reverse("api:refi", kwargs={"slug": team.project.slug}), body, format="multipart"
    )
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["detail"]
    assert [error.get("field") for error in payload["errors"]] == ["file"]
    assert not Job.objects.exists()
    assert not list(tmp_path.rglob("*"))  # nothing stored


# --- privacy area: erasing a participant needs the pseudonym typed again ---
@pytest.mark.parametrize(
    ("body", "field"), [({}, "pseudonym"), ({"pseudonym": "someone else"}, "pseudonym")]
)
def test_erase_gives_400_naming_pseudonym_when_confirmation_is_wrong(team: Team, body, field):
    from research.models import Participant

    participant = ParticipantFactory.create(project=team.project, pseudonym="P-confirm")
    url = reverse("api:participant-erase", kwargs={"slug": team.project.slug, "pk": participant.pk})
    response = client_for(team.owner).post(url, body, format="json")
    assert response.status_code == 400, response.content
    assert field in [error.get("field") for error in response.json()["errors"]]
    assert Participant.objects.filter(pk=participant.pk).exists()
