"""The access matrix: every project route × every method × every role, plus an outsider.

Rules (ARCHITECTURE.md): non-members get 404 exactly like a missing project; members whose role
lacks the capability get 403; members whose role has it get through (any status but 403/404).
The capability each write needs is declared below; a route missing from the table fails the test,
so a future route cannot slip in untested.
"""

import pytest
from django.urls import reverse

from coding.models import CodebookChange, Hypothesis, Suggester, Suggestion
from observations.models import PiiCandidate, PiiKnownName
from research.models import Job, Segmentation
from research.roles import Capability, Role
from tests.conftest import Team, client_for
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    FieldNoteFactory,
    MemoFactory,
    ParticipantFactory,
    SessionFactory,
)
from tests.routes import project_routes

C = Capability
READ_ALL = {"GET": C.READ}
CRUD = {"GET": C.READ, "POST": None, "PATCH": None, "DELETE": None}


def _writes(cap: Capability, detail: bool) -> dict[str, Capability]:
    return {"PATCH": cap, "DELETE": cap} if detail else {"POST": cap}


# What each project route needs, per method. GET always needs READ unless listed.
NEEDS: dict[str, dict[str, Capability]] = {
    "api:project-detail": _writes(C.MANAGE_PROJECT, detail=True),
    "api:member-list": _writes(C.MANAGE_MEMBERS, detail=False),
    "api:member-detail": _writes(C.MANAGE_MEMBERS, detail=True),
    "api:participant-list": _writes(C.CAPTURE, detail=False),
    "api:participant-detail": _writes(C.CAPTURE, detail=True),
    "api:session-list": _writes(C.CAPTURE, detail=False),
    "api:session-detail": _writes(C.CAPTURE, detail=True),
    "api:note-list": _writes(C.CAPTURE, detail=False),
    "api:note-detail": _writes(C.CAPTURE, detail=True),
    "api:document-list": _writes(C.CAPTURE, detail=False),
    "api:document-detail": _writes(C.CAPTURE, detail=True),
    "api:code-list": _writes(C.EDIT_CODEBOOK, detail=False),
    "api:code-detail": _writes(C.EDIT_CODEBOOK, detail=True),
    "api:excerpt-list": _writes(C.CODE, detail=False),
    # The excerpt and memo below belong to the researcher: changing them is others' work.
    "api:excerpt-detail": _writes(C.EDIT_OTHERS_WORK, detail=True),
    "api:memo-list": _writes(C.CODE, detail=False),
    "api:memo-detail": _writes(C.EDIT_OTHERS_WORK, detail=True),
    "frontend:project-home": {},
    "frontend:project-members": {"GET": C.MANAGE_MEMBERS, "POST": C.MANAGE_MEMBERS},
    "frontend:project-member": {"GET": C.MANAGE_MEMBERS, "POST": C.MANAGE_MEMBERS},
    # --- sessions area (pages and API) ---
    "frontend:session-list": {"GET": C.READ, "POST": C.CAPTURE},
    "frontend:session-detail": {"GET": C.READ, "POST": C.CAPTURE},
    "frontend:session-capture": {"GET": C.READ, "POST": C.CAPTURE},
    "frontend:journey-stages": {"GET": C.READ, "POST": C.CAPTURE},
    "frontend:session-note": {"POST": C.CAPTURE},
    # --- codebook area ---
    "api:code-merge": {"POST": C.EDIT_CODEBOOK},
    "api:code-split": {"POST": C.EDIT_CODEBOOK},
    "api:code-archive": {"POST": C.EDIT_CODEBOOK},
    "api:code-unarchive": {"POST": C.EDIT_CODEBOOK},
    "api:codebook-history-list": {},
    "api:codebook-history-undo": {"POST": C.EDIT_CODEBOOK},
    "api:codebook-export": {},
    "api:codebook-import": {"POST": C.EDIT_CODEBOOK},
    # --- imports area ---
    "frontend:import": {"GET": C.IMPORT, "POST": C.IMPORT},
    "frontend:import-review": {"GET": C.IMPORT, "POST": C.IMPORT},
    # --- documents, editing and search area ---
    "api:search": {},
    "frontend:document-list": {},
    "frontend:document-detail": {},
    "frontend:search": {},
    # --- workspace area ---
    "api:document-workspace": {},
    # --- workspace page area ---
    "frontend:document-code": {},
    "api:in-vivo": {"POST": C.CODE},
    # --- codebook page area ---
    "frontend:codebook": {"GET": C.READ, "POST": C.EDIT_CODEBOOK},
    "frontend:codebook-code": {"POST": C.EDIT_CODEBOOK},
    "frontend:codebook-merge": {"GET": C.EDIT_CODEBOOK, "POST": C.EDIT_CODEBOOK},
    "frontend:codebook-split": {"GET": C.EDIT_CODEBOOK, "POST": C.EDIT_CODEBOOK},
    "frontend:codebook-patterns-preview": {"POST": C.EDIT_CODEBOOK},
    "frontend:codebook-undo": {"POST": C.EDIT_CODEBOOK},
    "frontend:codebook-export": {"GET": C.READ},
    "frontend:codebook-import": {"POST": C.EDIT_CODEBOOK},
    # --- PII area ---
    # Owner-only, reads included: candidates show detected values, the key table real ones.
    "api:pii-candidate-list": {"GET": C.MANAGE_PROJECT},
    "api:pii-candidate-detail": {"GET": C.MANAGE_PROJECT, "PATCH": C.MANAGE_PROJECT},
    "api:pii-known-name-list": {"GET": C.MANAGE_PROJECT, "POST": C.MANAGE_PROJECT},
    "api:pii-known-name-detail": {
        "GET": C.MANAGE_PROJECT,
        "PATCH": C.MANAGE_PROJECT,
        "DELETE": C.MANAGE_PROJECT,
    },
    "api:pii-key-list": {"GET": C.MANAGE_PROJECT},
    "api:pii-apply": {"POST": C.MANAGE_PROJECT},
    "frontend:pii-review": {"GET": C.MANAGE_PROJECT, "POST": C.MANAGE_PROJECT},
    "frontend:pii-apply": {"GET": C.MANAGE_PROJECT, "POST": C.MANAGE_PROJECT},
    "frontend:pii-accept-kind": {"POST": C.MANAGE_PROJECT},
    "frontend:pii-candidate": {"POST": C.MANAGE_PROJECT},
    "frontend:pii-known-name": {"POST": C.MANAGE_PROJECT},
    # --- segmentation area ---
    "api:segmentation-list": {"POST": C.IMPORT},
    "api:segmentation-detail": {"DELETE": C.IMPORT},
    "api:segmentation-segments": {},
    "api:segmentation-match": {},
    "api:segmentation-compare": {},
    "api:participant-segment": {"POST": C.IMPORT},
    "frontend:segmentation-list": {"POST": C.IMPORT},
    # --- dashboard area ---
    "frontend:dashboard": {},
    "frontend:dashboard-quotes": {},
    # --- analysis area (JSON needs READ; ?format=csv|xlsx needs EXPORT, see test_analysis_api) ---
    "api:analysis-theme-segment": {},
    "api:analysis-theme-metric": {},
    "api:analysis-coverage": {},
    "api:analysis-quotes": {},
    # --- agreement area (issue 7): reading READ, reconciling others' excerpts EDIT_OTHERS_WORK ---
    "api:analysis-agreement": {},
    "api:analysis-agreement-reconcile": {"POST": C.EDIT_OTHERS_WORK},
    "frontend:agreement": {"GET": C.READ, "POST": C.EDIT_OTHERS_WORK},
    # --- co-occurrence area (issue 7; JSON READ, csv/xlsx EXPORT as every analysis route) ---
    "api:analysis-cooccurrence": {},
    "frontend:cooccurrence": {},
    "frontend:cooccurrence-passages": {},
    # --- hypotheses area ---
    "api:hypothesis-list": {"POST": C.EDIT_CODEBOOK},
    "api:hypothesis-detail": {"PATCH": C.EDIT_CODEBOOK, "DELETE": C.EDIT_CODEBOOK},
    "api:hypothesis-evaluations": {},
    "api:hypothesis-evaluate": {"POST": C.EDIT_CODEBOOK},
    "frontend:hypotheses": {"POST": C.EDIT_CODEBOOK},
    # --- suggestions page (issue 6; deciding and training go through the API) ---
    "frontend:suggestions": {},
    # --- suggestions area (API) ---
    "api:suggestion-list": {},
    "api:suggestion-detail": {"PATCH": C.CODE},
    "api:suggestion-stats": {},
    "api:suggestion-generate": {"POST": C.CODE},
    "api:suggester-list": {"POST": C.CODE},
    "api:suggester-detail": {},
    # A POST only because texts can be long: reading is enough.
    "api:suggester-predict": {"POST": C.READ},
    "api:excerpt-similar": {},
    "api:excerpt-similar-suggest": {"POST": C.CODE},
    # --- exports area ---
    "api:export-excerpts": {"GET": C.EXPORT},
    "api:export-theme-features": {"GET": C.EXPORT},
    # --- REFI-QDA area (GET exports the project; import is POST) ---
    "api:refi": {"GET": C.EXPORT, "POST": C.IMPORT},
    "frontend:exchange": {"GET": C.READ, "POST": C.IMPORT},
    # --- privacy area (issue 8.6): owners only, reads included ---
    "api:participant-erase": {"POST": C.MANAGE_PROJECT},
    "api:audit-list": {"GET": C.MANAGE_PROJECT},
    "frontend:privacy": {"GET": C.MANAGE_PROJECT, "POST": C.MANAGE_PROJECT},
    "frontend:participant-erase": {"GET": C.MANAGE_PROJECT, "POST": C.MANAGE_PROJECT},
}
METHODS = ("GET", "POST", "PATCH", "DELETE")
USERS = (*(role.value for role in Role), "outsider")


def build_kwargs(
    route_name: str, kwargs: tuple[str, ...], team: Team, *, other: bool = False
) -> dict[str, object]:
    """Fill a route's URL kwargs with new objects of `team.project` (of the other project if
    `other`; the slug always names `team.project`)."""
    project = team.other_project if other else team.project
    session = SessionFactory.create(project=project)
    document = DocumentFactory.create(project=project)
    member = project.memberships.get(user=team.outsider if other else team.manager)
    objects = {
        "member": member,
        "membership": member,
        "participant": ParticipantFactory.create(project=project),
        "session": session,
        "note": FieldNoteFactory.create(session=session),
        "document": document,
        "code": CodeFactory.create(project=project),
        "excerpt": ExcerptFactory.create(document=document, coder=team.researcher),
        "memo": MemoFactory.create(project=project, author=team.researcher),
        "job": Job.objects.create(project=project, kind="test"),
        "pii-candidate": PiiCandidate.objects.create(
            document=document, text_version=1, kind="email", start=0, end=5, source="regex"
        ),
        "pii-known-name": PiiKnownName.objects.create(project=project, name="Zoë Müller"),
    }
    objects["candidate"] = objects["pii-candidate"]  # page routes say `candidate_id`
    objects["known_name"] = objects["pii-known-name"]
    objects["document-workspace"] = document  # workspace area: the pk names the document
    objects["document-code"] = document  # workspace page area: the pk names the document
    # codebook area: code actions name the code; undo names a recorded change
    for action in ("merge", "split", "archive", "unarchive"):
        objects[f"code-{action}"] = objects["code"]
    objects["codebook-history-undo"] = CodebookChange.objects.create(
        project=project, action="update", summary="A test change.", before={}, after={}
    )
    # --- segmentation area ---
    segmentation = Segmentation.objects.create(
        project=project, name="Value", version=1, source_name="s.csv"
    )
    for key in ("segmentation", "segmentation-segments", "segmentation-match"):
        objects[key] = segmentation
    objects["segmentation-compare"] = segmentation
    objects["participant-segment"] = objects["participant"]
    objects["participant-erase"] = objects["participant"]  # privacy area
    # --- hypotheses area ---
    hypothesis = Hypothesis.objects.create(
        project=project,
        statement="Callers spend more.",
        code_id=objects["code"].pk,
        kind="segment",
        segmentation=segmentation,
        segment="A",
        direction="more",
    )
    for key in ("hypothesis", "hypothesis-evaluations", "hypothesis-evaluate"):
        objects[key] = hypothesis
    # --- suggestions area ---
    objects["suggestion"] = Suggestion.objects.create(
        project=project,
        document=document,
        code_id=objects["code"].pk,
        start=0,
        end=5,
        text=document.text[:5],
        method="pattern",
        pattern=0,
        score=0.5,
    )
    objects["suggester"] = Suggester.objects.create(project=project, version=1, status="failed")
    objects["excerpt-similar"] = objects["excerpt"]
    objects["excerpt-similar-suggest"] = objects["excerpt"]
    values: dict[str, object] = {}
    for name in kwargs:
        if name == "slug":
            values[name] = team.project.slug
        elif name.endswith(("_pk", "_id")) and name.rsplit("_", 1)[0] in objects:
            values[name] = objects[name.rsplit("_", 1)[0]].pk
        elif name == "pk":
            resource = route_name.split(":")[-1].removesuffix("-detail")
            if resource not in objects:
                pytest.fail(f"tests/research/test_access_matrix.py: no object for {route_name}")
            values[name] = objects[resource].pk
        else:
            pytest.fail(f"{route_name}: teach build_kwargs the URL kwarg {name!r}")
    return values


def _call(client, method: str, url: str):
    return (
        getattr(client, method.lower())(url, {}, format="json")
        if method != "GET"
        else client.get(url)
    )


ROUTES = project_routes()


def test_every_project_route_has_declared_needs():
    missing = [route.name for route in ROUTES if route.name not in NEEDS]
    assert not missing, f"Declare the capabilities of these routes in NEEDS: {missing}"


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_access_matches_role_when_called_by_each_user(team, route, method, who):
    url = reverse(route.name, kwargs=build_kwargs(route.name, route.kwargs, team))
    response = _call(client_for(team.user(who)), method, url)
    status = response.status_code
    if who == "outsider":
        assert status in (404, 405), f"{method} {url} by an outsider gave {status}, not 404"
        return
    need = NEEDS.get(route.name, {}).get(method, C.READ if method == "GET" else None)
    role = Role(who)
    if status == 405:  # the route does not offer this method; nobody may get further
        return
    if need is None:
        pytest.fail(f"{route.name}: declare the capability {method} needs (it answered {status})")
    if role.can(need):
        assert status not in (403, 404), f"{method} {url} as {who} gave {status}"
    else:
        assert status == 403, f"{method} {url} as {who} gave {status}, expected 403 ({need})"


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_refuses_anonymous_when_not_logged_in(team, route):
    url = reverse(route.name, kwargs=build_kwargs(route.name, route.kwargs, team))
    response = client_for(None).get(url)
    if route.name.startswith("api:"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_is_404_when_project_does_not_exist(team, route):
    kwargs = build_kwargs(route.name, route.kwargs, team)
    kwargs["slug"] = "no-such-project"
    url = reverse(route.name, kwargs=kwargs)
    client = client_for(team.owner)
    statuses = {method: _call(client, method, url).status_code for method in METHODS}
    # A method the route does not offer may answer 405; every other answer must be 404.
    assert set(statuses.values()) <= {404, 405}, statuses
    assert 404 in statuses.values(), statuses
