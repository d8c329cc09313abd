"""An object of another project is a 404 on every nested route, exactly like a missing one,
even for the owner of the project named in the URL."""

import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.research.test_access_matrix import METHODS, ROUTES, _call, build_kwargs

NESTED = [route for route in ROUTES if set(route.kwargs) - {"slug"}]


def test_there_are_nested_routes_to_check():
    assert len(NESTED) >= 9, [route.name for route in NESTED]


@pytest.mark.parametrize("route", NESTED, ids=str)
def test_nested_route_is_404_when_object_belongs_to_another_project(team, route):
    url = reverse(route.name, kwargs=build_kwargs(route.name, route.kwargs, team, other=True))
    client = client_for(team.owner)
    statuses = {method: _call(client, method, url).status_code for method in METHODS}
    # Methods a route does not offer may answer 405; every other answer must be 404.
    assert set(statuses.values()) <= {404, 405}, statuses
    assert 404 in statuses.values(), statuses


@pytest.mark.parametrize("route", NESTED, ids=str)
def test_nested_route_answers_owner_when_object_is_in_the_project(team, route):
    """The control: the same route with this project's objects is not a 404."""
    url = reverse(route.name, kwargs=build_kwargs(route.name, route.kwargs, team))
    client = client_for(team.owner)
    statuses = {method: _call(client, method, url).status_code for method in ("GET", "PATCH")}
    assert 404 not in statuses.values(), statuses


# --- analysis area ---
# These routes name their objects in the query string (?segmentation=, ?code=), not the path.
QUERY_OBJECT_ROUTES = {
    "api:analysis-theme-segment": ("segmentation",),
    "api:analysis-theme-metric": ("segmentation",),
    "api:analysis-coverage": ("segmentation",),
    "api:analysis-quotes": ("segmentation", "code"),
    # co-occurrence names no object; its passages page: tests/frontend/test_cooccurrence_page.py
    "api:analysis-cooccurrence": (),
}


AGREEMENT_ROUTES = {"api:analysis-agreement", "api:analysis-agreement-reconcile"}


def _agreement_objects(team, project):
    from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory

    document = DocumentFactory.create(project=project)
    code = CodeFactory.create(project=project)
    for coder in (team.researcher, team.coder):
        end = 5 + len(coder.username)
        ExcerptFactory.create(document=document, code=code, coder=coder, start=0, end=end)
    segmentation = project.segmentations.create(name="Value", version=1, source_name="s.csv")
    return {"document": document.pk, "code": code.pk, "segmentation": segmentation.pk}


@pytest.mark.parametrize("param", ["document", "segmentation"])
def test_agreement_object_is_404_when_it_belongs_to_another_project(team, param):
    mine = _agreement_objects(team, team.project)
    theirs = _agreement_objects(team, team.other_project)
    url = reverse("api:analysis-agreement", kwargs={"slug": team.project.slug})
    query = {"coders": f"{team.researcher.username},{team.coder.username}", param: mine[param]}
    client = client_for(team.owner)
    assert client.get(url, query).status_code == 200
    assert client.get(url, {**query, param: theirs[param]}).status_code == 404


@pytest.mark.parametrize("param", ["code", "document"])
def test_reconcile_object_is_404_when_it_belongs_to_another_project(team, param):
    mine = _agreement_objects(team, team.project)
    theirs = _agreement_objects(team, team.other_project)
    url = reverse("api:analysis-agreement-reconcile", kwargs={"slug": team.project.slug})
    body = {"code": mine["code"], "document": mine["document"], "start": 0, "end": 15}
    body["action"] = "keep_both"
    client = client_for(team.owner)
    assert client.post(url, {**body, param: theirs[param]}, format="json").status_code == 404
    assert client.post(url, body, format="json").status_code == 201


def test_every_analysis_route_is_covered():
    analysis = {route.name for route in ROUTES if route.name.startswith("api:analysis-")}
    # The agreement routes need two coders: their own tests are above.
    assert analysis == set(QUERY_OBJECT_ROUTES) | AGREEMENT_ROUTES


@pytest.mark.parametrize(
    ("route_name", "param"),
    [(route, param) for route, params in QUERY_OBJECT_ROUTES.items() for param in params],
)
def test_query_object_is_404_when_it_belongs_to_another_project(team, route_name, param):
    from coding.models import Code
    from research.models import Segmentation
    from tests.factories import CodeFactory

    def objects(project):
        segmentation = Segmentation.objects.create(
            project=project,
            name="Value",
            version=1,
            source_name="s.csv",
            metric_types={"x": "numeric"},
        )
        code: Code = CodeFactory.create(project=project)
        return {"segmentation": segmentation.pk, "code": code.pk, "metric": "x"}

    mine, theirs = objects(team.project), objects(team.other_project)
    url = reverse(route_name, kwargs={"slug": team.project.slug})
    client = client_for(team.owner)
    assert client.get(url, mine).status_code == 200
    assert client.get(url, {**mine, param: theirs[param]}).status_code == 404


# --- REFI-QDA area ---
def test_refi_export_holds_nothing_of_another_project_when_owner_exports(team):
    """The route names only the project; its export must not reach into another one, and
    another project's export is a 404 for someone who is not its member."""
    import io
    import zipfile

    from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory, MemoFactory

    theirs = team.other_project
    document = DocumentFactory.create(project=theirs, title="Their interview")
    code = CodeFactory.create(project=theirs, name="Their code")
    ExcerptFactory.create(document=document, code=code, coder=team.outsider)
    MemoFactory.create(project=theirs, author=team.outsider, title="Their memo")
    DocumentFactory.create(project=team.project, title="Our interview")
    client = client_for(team.owner)
    response = client.get(reverse("api:refi", kwargs={"slug": team.project.slug}))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    xml = archive.read("project.qde").decode("utf-8")
    assert "Our interview" in xml
    for foreign in ("Their interview", "Their code", "Their memo", "outsider"):
        assert foreign not in xml
    assert len(archive.namelist()) == 2  # project.qde and our one source
    assert client.get(reverse("api:refi", kwargs={"slug": theirs.slug})).status_code == 404


def test_refi_import_reuses_nothing_of_another_project_when_names_match(
    team, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Codes and participants are matched by path and pseudonym inside the project only; a
    file posted to another project's route is a 404 and imports nothing there."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    from coding.models import Code
    from coding.refi.model import QdaCase, QdaCode, QdaProject
    from coding.refi.writer import write_qdpx
    from research.models import Participant
    from tests.factories import CodeFactory, ParticipantFactory

    settings.MEDIA_ROOT = tmp_path
    theirs = team.other_project
    their_code = CodeFactory.create(project=theirs, name="Waiting")
    ParticipantFactory.create(project=theirs, pseudonym="P01")
    qda = QdaProject(
        name="x",
        codes=[QdaCode(guid="1A2B3C4D-0000-0000-0000-000000000001", name="Waiting")],
        cases=[QdaCase(guid="1A2B3C4D-0000-0000-0000-000000000002", name="P01")],
    )
    buffer = io.BytesIO()
    write_qdpx(qda, buffer)

    def post(slug: str):
        upload = SimpleUploadedFile("x.qdpx", buffer.getvalue())
        url = reverse("api:refi", kwargs={"slug": slug})
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(team.owner).post(url, {"file": upload}, format="multipart")

    assert post(theirs.slug).status_code == 404
    assert post(team.project.slug).status_code == 202
    ours = Code.objects.get(project=team.project, name="Waiting")
    assert ours != their_code
    assert Participant.objects.filter(project=team.project, pseudonym="P01").exists()
    assert Code.objects.filter(project=theirs).count() == 1
    assert Participant.objects.filter(project=theirs).count() == 1
