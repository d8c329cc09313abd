"""The suggestions page: queue shell, filters, counts, acceptance in plain words, model figures,
buttons by role, escaping, and links from the project home and the workspace."""

from django.urls import reverse

from coding.models import Code, Suggester, Suggestion
from frontend.areas.suggestions import Acceptance
from observations.models import Document
from research.models import Project
from tests.conftest import Team, client_for
from tests.factories import CodeFactory, DocumentFactory

XSS = "<script>alert(1)</script>"


def _url(team: Team) -> str:
    return reverse("frontend:suggestions", kwargs={"slug": team.project.slug})


def _suggest(
    project: Project,
    document: Document,
    code: Code,
    at: int,
    *,
    status: str = "pending",
    method: str = "pattern",
    pattern: int | None = 0,
    score: float = 0.9,
) -> Suggestion:
    return Suggestion.objects.create(
        project=project,
        document=document,
        code=code,
        start=at,
        end=at + 5,
        text=document.text[at : at + 5],
        score=score,
        method=method,
        pattern=pattern if method == "pattern" else None,
        model_version=1 if method == "model" else None,
        status=status,
    )


def _world(team: Team) -> tuple[Code, Code, Document]:
    theme = CodeFactory.create(project=team.project, name="Billing", color="#aa3377")
    code = CodeFactory.create(
        project=team.project,
        parent=theme,
        name="Bill shock",
        patterns=[{"type": "keyword", "text": "refund"}, {"type": "phrase", "text": "bill shock"}],
    )
    document = DocumentFactory.create(project=team.project, title="Call with P07", text="x" * 400)
    return theme, code, document


def test_page_shows_counts_filters_and_acceptance_in_words(team: Team) -> None:
    theme, code, document = _world(team)
    for i in range(20):
        _suggest(team.project, document, code, i * 6, status="accepted" if i < 18 else "rejected")
    for i in range(12):
        status = "accepted" if i < 3 else "rejected"
        _suggest(team.project, document, code, 130 + i * 6, status=status, pattern=1)
    _suggest(team.project, document, theme, 300, method="model", score=0.55)
    html = client_for(team.coder).get(_url(team)).content.decode()
    assert 'id="sg-count-pending">1<' in html
    assert 'id="sg-count-accepted">21<' in html
    assert 'id="sg-count-rejected">11<' in html
    assert f'<option value="{code.pk}">Billing › Bill shock</option>' in html
    assert f'<option value="{document.pk}">Call with P07</option>' in html
    # Per pattern rule, in plain words with a verdict.
    assert "coders accepted 18 of 20 (90%)" in html
    assert "coders accepted 3 of 12 (25%)" in html
    assert "<code>refund</code>" in html
    assert "<code>bill shock</code>" in html
    assert "trust it" in html
    assert "review" in html
    # Per code and method: the pattern rules of Bill shock together.
    assert "coders accepted 21 of 32 (66%)" in html
    assert "No model trained yet" in html


def test_verdicts_say_when_there_are_too_few_decisions() -> None:
    row = Acceptance(label="A", source="the model", color="#000000", decided=4, accepted=4)
    assert row.verdict == "too few decisions to tell"
    assert Acceptance("A", "m", "#000000", 10, 8).verdict == "trust it"
    assert Acceptance("A", "m", "#000000", 10, 5).verdict == "check each one"
    assert Acceptance("A", "m", "#000000", 10, 4).verdict == "review"
    assert Acceptance("A", "m", "#000000", 0, 0).words == "no decisions yet"


def test_latest_model_figures_per_code(team: Team) -> None:
    _, code, _ = _world(team)
    Suggester.objects.create(project=team.project, version=1, status="ready", metrics={})
    Suggester.objects.create(
        project=team.project,
        version=2,
        status="ready",
        trained_on={"passages": 420, "codes": 2},
        metrics={
            str(code.pk): {"precision": 0.812, "recall": 0.7, "f1": 0.75, "support": 33},
            "overall": {"precision": 0.8, "recall": 0.7, "f1": 0.74},
        },
    )
    Suggester.objects.create(project=team.project, version=3, status="failed", metrics={})
    html = client_for(team.manager).get(_url(team)).content.decode()
    assert "Model version 2, trained" in html
    assert "on 420 passages" in html
    assert "<td>0.81</td>" in html
    assert "<td>0.70</td>" in html
    assert "<td>33</td>" in html
    assert "Overall F1 0.74." in html
    assert 'data-has-model="1"' in html


def test_code_named_script_is_escaped_everywhere(team: Team) -> None:
    code = CodeFactory.create(
        project=team.project, name=XSS, patterns=[{"type": "keyword", "text": XSS}]
    )
    document = DocumentFactory.create(project=team.project, title=XSS, text="y" * 50)
    _suggest(team.project, document, code, 0, status="accepted")
    html = client_for(team.coder).get(_url(team)).content.decode()
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The JSON data block for the script escapes < too, so it cannot close its element.
    assert "\\u003Cscript\\u003E" in html


def test_buttons_follow_the_role(team: Team) -> None:
    # Deciding and training both need CODE, as the API requires.
    for user in (team.coder, team.researcher):
        html = client_for(user).get(_url(team)).content.decode()
        assert 'id="sg-accept"' in html
        assert 'id="sg-reject"' in html
        assert "Train the assistant <kbd>t</kbd>" in html
        assert "<kbd>a</kbd> accept" in html
    manager = client_for(team.manager).get(_url(team)).content.decode()
    assert 'id="sg-accept"' not in manager
    assert 'id="sg-train"' not in manager
    assert 'id="sg-generate"' not in manager
    assert "<kbd>a</kbd> accept" not in manager
    assert "Your role can look at the suggestions; coders decide." in manager
    assert 'data-can-decide="0"' in manager


def test_non_members_get_404_and_other_projects_data_stays_out(team: Team) -> None:
    assert client_for(team.outsider).get(_url(team)).status_code == 404
    other_code = CodeFactory.create(project=team.other_project, name="Elsewhere")
    other_doc = DocumentFactory.create(project=team.other_project, title="Other doc", text="z" * 40)
    _suggest(team.other_project, other_doc, other_code, 0, status="accepted")
    html = client_for(team.coder).get(_url(team)).content.decode()
    assert "Elsewhere" not in html
    assert "Other doc" not in html
    assert 'id="sg-count-accepted">0<' in html


def test_page_queries_do_not_grow_with_suggestions(
    team: Team, django_assert_max_num_queries
) -> None:
    _, code, document = _world(team)
    for i in range(60):
        _suggest(
            team.project, document, code, i * 6, status=("accepted", "rejected", "pending")[i % 3]
        )
    client = client_for(team.coder)
    with django_assert_max_num_queries(12):
        assert client.get(_url(team)).status_code == 200


def test_project_home_and_workspace_link_to_the_page(team: Team) -> None:
    home = reverse("frontend:project-home", kwargs={"slug": team.project.slug})
    assert _url(team) in client_for(team.manager).get(home).content.decode()
    document = DocumentFactory.create(project=team.project)
    workspace = reverse("frontend:document-code", args=[team.project.slug, document.pk])
    html = client_for(team.coder).get(workspace).content.decode()
    assert f"{_url(team)}?document={document.pk}" in html
