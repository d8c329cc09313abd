"""Every API list endpoint answers in a number of SQL queries that does not grow with its rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coding.models import CodebookChange, Hypothesis, Suggester, Suggestion
from observations.models import PiiCandidate, PiiKeyEntry, PiiKnownName
from research.models import Segmentation
from research.roles import Role
from tests.conftest import Team, client_for
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    FieldNoteFactory,
    MembershipFactory,
    MemoFactory,
    ParticipantFactory,
    ProjectFactory,
    SessionFactory,
    SpeakerTurnFactory,
)
from tests.routes import all_routes


def _add_rows(resource: str, team: Team, n: int) -> dict[str, object]:
    """Add `n` rows of `resource` to the team's project; return extra URL kwargs."""
    project = team.project
    if resource == "project":
        for _ in range(n):
            MembershipFactory.create(
                project=ProjectFactory.create(), user=team.owner, role=Role.OWNER
            )
    elif resource == "member":
        MembershipFactory.create_batch(n, project=project)
    elif resource == "participant":
        ParticipantFactory.create_batch(n, project=project)
    elif resource == "session":
        for _ in range(n):
            session = SessionFactory.create(project=project, observer=team.researcher)
            session.participants.set(ParticipantFactory.create_batch(2, project=project))
            FieldNoteFactory.create(session=session)
    elif resource == "note":
        session = project.sessions.first() or SessionFactory.create(project=project)
        participant = ParticipantFactory.create(project=project)
        FieldNoteFactory.create_batch(
            n, session=session, participant=participant, author=team.coder
        )
        return {"session_pk": session.pk}
    elif resource == "document":
        for _ in range(n):
            document = DocumentFactory.create(
                project=project, participant=ParticipantFactory.create(project=project)
            )
            SpeakerTurnFactory.create(document=document, start=0, end=5)
    elif resource == "code":
        parent = CodeFactory.create(project=project)
        CodeFactory.create_batch(n, project=project, parent=parent)
    elif resource == "excerpt":
        document = DocumentFactory.create(project=project)
        for _ in range(n):
            ExcerptFactory.create(document=document, coder=team.coder)
    elif resource == "memo":
        MemoFactory.create_batch(n, project=project, author=team.coder)
    # --- codebook area ---
    elif resource == "codebook-history":
        for _ in range(n):
            code = CodeFactory.create(project=project)
            CodebookChange.objects.create(
                project=project,
                user=team.researcher,
                undone_by=team.owner,
                code=code,
                action="create",
                summary="Created a code.",
            )
    # --- PII area ---
    elif resource == "pii-candidate":
        document = DocumentFactory.create(project=project)
        for index in range(n):
            PiiCandidate.objects.create(
                document=document,
                text_version=1,
                kind="person",
                start=index,
                end=index + 2,
                source="ner",
                status="accepted",
                decided_by=team.owner,
            )
    elif resource == "pii-known-name":
        for index in range(n):
            PiiKnownName.objects.create(project=project, name=f"Name {index} {n}")
    elif resource == "pii-key":
        for index in range(n):
            PiiKeyEntry.objects.create(
                project=project,
                kind="email",
                real_value=f"p{index}-{n}@example.com",
                pseudonym=f"[Email {index}-{n}]",
            )
    # --- documents, editing and search area ---
    # --- privacy area ---
    elif resource == "audit":
        from research.audit import audit_record

        for index in range(n):
            audit_record(
                action="read_transcript",
                project=project,
                user=team.researcher,
                object_type="document",
                object_id=index,
            )
    # --- segmentation area ---
    elif resource == "segmentation":
        for index in range(n):
            Segmentation.objects.create(
                project=project, name=f"Value {n}", version=index + 1, source_name="s.csv"
            )
    # --- hypotheses area ---
    elif resource == "hypothesis":
        snapshot, _ = Segmentation.objects.get_or_create(
            project=project, name="Hypotheses", version=1, defaults={"source_name": "s.csv"}
        )
        code = CodeFactory.create(project=project)
        for index in range(n):
            Hypothesis.objects.create(
                project=project,
                statement=f"Hypothesis {index} of {n}",
                code=code,
                kind="segment",
                segmentation=snapshot,
                segment="A",
                direction="more",
            )
    # --- suggestions area ---
    elif resource == "suggestion":
        document = DocumentFactory.create(project=project)
        code = CodeFactory.create(project=project)
        for index in range(n):
            Suggestion.objects.create(
                project=project,
                document=document,
                code=code,
                start=index,
                end=index + 4,
                text=document.text[index : index + 4],
                method="model",
                model_version=1,
                score=0.5,
                status="rejected",
                decided_by=team.coder,
            )
    elif resource == "suggester":
        first = Suggester.objects.filter(project=project).count() + 1
        for version in range(first, first + n):
            Suggester.objects.create(
                project=project, version=version, status="ready", metrics={"overall": {}}
            )
    else:
        pytest.fail(f"tests/research/test_list_queries.py: teach _add_rows about {resource!r}")
    return {}


LIST_ROUTES = [r for r in all_routes() if r.name.startswith("api:") and r.name.endswith("-list")]


def _queries(team: Team, route, n: int) -> tuple[int, int]:
    extra = _add_rows(route.name.split(":")[1].removesuffix("-list"), team, n)
    kwargs = {"slug": team.project.slug, **extra} if "slug" in route.kwargs else {}
    client = client_for(team.owner)
    url = reverse(route.name, kwargs=kwargs)
    client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()["count"]


def test_every_list_route_is_covered():
    assert len(LIST_ROUTES) >= 9, [r.name for r in LIST_ROUTES]


@pytest.mark.parametrize("route", LIST_ROUTES, ids=str)
def test_list_query_count_is_constant_when_rows_grow(team, route):
    few, count_few = _queries(team, route, 2)
    many, count_many = _queries(team, route, 12)
    assert count_many >= count_few + 10  # the rows really are there
    assert many == few, f"{route.name}: {few} queries for {count_few} rows, {many} for {count_many}"
    assert many <= 8, f"{route.name} uses {many} queries"


# --- suggestions area: the similar-passage routes of one excerpt ---
def test_similar_routes_query_count_is_constant_when_codes_and_excerpts_grow(team):
    from coding.suggest.selectors import similar_cache_clear
    from observations.models import Sentence

    similar_cache_clear()
    text = "I was charged twice. The parcel came late. They charged my card twice again."
    document = DocumentFactory.create(project=team.project, text=text, char_count=len(text))
    for index, (start, end) in enumerate(((0, 20), (21, 42), (43, len(text)))):
        Sentence.objects.create(document=document, index=index, start=start, end=end)
    excerpt = ExcerptFactory.create(document=document, coder=team.coder, start=0, end=20)
    kwargs = {"slug": team.project.slug, "pk": excerpt.pk}
    client = client_for(team.owner)

    def counts() -> tuple[int, int]:
        found = []
        for method, name, body in (
            ("get", "api:excerpt-similar", {"k": 5}),
            ("post", "api:excerpt-similar-suggest", {"k": 5}),
        ):
            call = getattr(client, method)
            call(reverse(name, kwargs=kwargs), body, format="json")  # warm caches
            with CaptureQueriesContext(connection) as ctx:
                response = call(reverse(name, kwargs=kwargs), body, format="json")
            assert response.status_code == 200, response.content
            found.append(len(ctx.captured_queries))
        return found[0], found[1]

    few = counts()
    for n in range(12):
        ExcerptFactory.create(
            document=document,
            coder=team.coder,
            code=CodeFactory.create(project=team.project),
            start=21 + n % 3,
            end=42,
        )
    assert counts() == few
    assert max(few) <= 16, few


# --- agreement area: the report and its page, whatever the number of documents and codes ---
def test_agreement_query_count_is_constant_when_documents_and_codes_grow(team):
    client = client_for(team.owner)
    urls = [
        reverse("api:analysis-agreement", kwargs={"slug": team.project.slug}),
        reverse("frontend:agreement", kwargs={"slug": team.project.slug}),
    ]

    def counts() -> list[int]:
        found = []
        for url in urls:
            for unit in ("character", "sentence"):
                query = {"coders": "coder1,researcher1", "unit": unit}
                client.get(url, query)  # warm the session and content-type caches
                with CaptureQueriesContext(connection) as ctx:
                    response = client.get(url, query)
                assert response.status_code == 200, response.content
                found.append(len(ctx.captured_queries))
        return found

    def add(n: int) -> None:
        for _ in range(n):
            document = DocumentFactory.create(project=team.project, text="z" * 60)
            code = CodeFactory.create(project=team.project)
            for coder, end in ((team.coder, 20), (team.researcher, 30)):
                ExcerptFactory.create(document=document, code=code, coder=coder, start=3, end=end)

    add(2)
    few = counts()
    add(10)
    assert counts() == few
    assert max(few) <= 14, few


# --- co-occurrence area: the matrix and its page, whatever the number of codes ---
def test_cooccurrence_query_count_is_constant_when_codes_grow(team):
    document = DocumentFactory.create(project=team.project, text="z" * 300)
    client = client_for(team.owner)
    urls = [
        reverse("api:analysis-cooccurrence", kwargs={"slug": team.project.slug}),
        reverse("frontend:cooccurrence", kwargs={"slug": team.project.slug}),
    ]

    def counts() -> list[int]:
        found = []
        for url in urls:
            for by in ("overlap", "sentence", "participant"):
                client.get(url, {"by": by})  # warm the session and content-type caches
                with CaptureQueriesContext(connection) as ctx:
                    response = client.get(url, {"by": by, "level": "code"})
                assert response.status_code == 200, response.content
                found.append(len(ctx.captured_queries))
        return found

    def add_codes(n: int) -> None:
        for i in range(n):
            code = CodeFactory.create(project=team.project)
            ExcerptFactory.create(
                document=document, code=code, coder=team.coder, start=i, end=i + 40
            )

    add_codes(2)
    few = counts()
    add_codes(12)
    assert counts() == few
    assert max(few) <= 12, few


# --- REFI-QDA area: the .qdpx download reads every table once, whatever their size ---
def test_refi_export_query_count_is_constant_when_rows_grow(team):
    url = reverse("api:refi", kwargs={"slug": team.project.slug})
    client = client_for(team.owner)

    def queries(n: int) -> int:
        for resource in ("participant", "session", "document", "code", "excerpt", "memo"):
            _add_rows(resource, team, n)
        client.get(url)  # warm the session and content-type caches
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, response.content
        return len(ctx.captured_queries)

    few = queries(2)
    many = queries(12)
    assert many == few
    assert many <= 20, many


# --- REFI-QDA area: the exchange page (data-loss counts, an import's report) ---
def test_exchange_page_query_count_is_constant_when_rows_grow(team):
    from research.models import Job

    job = Job.objects.create(
        kind="refi_import",
        project=team.project,
        status="succeeded",
        result={"file_name": "x.qdpx", "created": {"codes": 2}, "reused": {}, "not_carried": []},
    )
    url = reverse("frontend:exchange", kwargs={"slug": team.project.slug}) + f"?job={job.pk}"
    client = client_for(team.owner)

    def queries(n: int) -> int:
        for resource in ("participant", "session", "document", "code", "excerpt", "memo"):
            _add_rows(resource, team, n)
        client.get(url)  # warm the session and content-type caches
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, response.content
        return len(ctx.captured_queries)

    few = queries(2)
    assert queries(12) == few
    assert few <= 10, few
