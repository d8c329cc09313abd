"""The co-occurrence page: the matrix as an accessible heatmap, the selector, the passages behind
a cell (fragment and page) with workspace links, escaping, bad input and other projects' codes."""

from django.urls import reverse

from coding.models import Excerpt
from observations.models import Sentence
from tests.conftest import Team, client_for
from tests.factories import CodeFactory, DocumentFactory

XSS = "<script>alert(1)</script>"


def _study(team: Team):
    project = team.project
    a = CodeFactory.create(project=project, name=XSS, position=0)
    b = CodeFactory.create(project=project, name="Waiting", position=1)
    text = "The app froze at the till. I waited ages for help."
    document = DocumentFactory.create(project=project, text=text, title="Call 7")
    Sentence.objects.create(document=document, index=0, start=0, end=26)
    Sentence.objects.create(document=document, index=1, start=27, end=len(text))
    found = []
    for code, start, end in ((a, 4, 14), (b, 8, 26), (b, 29, 40)):
        found.append(
            Excerpt.objects.create(
                project=project,
                document=document,
                code=code,
                coder=team.coder,
                start=start,
                end=end,
                text=text[start:end],
            )
        )
    return a, b, document, found


def _page(team: Team, **query):
    return client_for(team.manager).get(
        reverse("frontend:cooccurrence", args=[team.project.slug]), query
    )


def test_page_draws_the_matrix_with_counts_labels_and_links(team: Team):
    a, b, _, _ = _study(team)
    response = _page(team)
    assert response.status_code == 200
    html = response.content.decode()
    assert XSS not in html
    assert "&lt;script&gt;" in html
    assert 'class="dash-heatmap cooc-matrix"' in html
    assert "Waiting and &lt;script&gt;" in html  # the matrix is drawn whole: both halves
    assert "&lt;script&gt;alert(1)&lt;/script&gt; and Waiting: 1 overlapping pair, Jaccard" in html
    assert "Waiting: 2 excerpts" in html  # the diagonal
    assert html.count("cooc-cell--diag") == 2
    passages = reverse("frontend:cooccurrence-passages", args=[team.project.slug])
    assert f"{passages}?by=overlap&amp;level=code&amp;a={a.pk}&amp;b={b.pk}" in html
    assert "Never together" in html  # the legend in words
    assert 'name="by"' in html
    assert 'name="level"' in html


def test_participant_cells_have_no_passage_links(team: Team):
    _study(team)
    html = _page(team, by="participant").content.decode()
    assert "cooccurrence/passages/" not in html
    assert "shared participant" in html


def test_passages_fragment_marks_where_codes_meet_and_links_the_workspace(team: Team):
    a, b, document, excerpts = _study(team)
    url = reverse("frontend:cooccurrence-passages", args=[team.project.slug])
    client = client_for(team.coder)
    fragment = client.get(url, {"a": a.pk, "b": b.pk}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html
    assert "<mark>froze </mark>" in html
    workspace = reverse("frontend:document-code", args=[team.project.slug, document.pk])
    assert f"{workspace}?excerpt={excerpts[0].pk}" in html
    assert f"{workspace}?excerpt={excerpts[1].pk}" in html
    page = client.get(url, {"a": a.pk, "b": b.pk, "by": "sentence"})
    assert "<html" in page.content.decode()
    assert "<mark>The app froze at the till.</mark>" in page.content.decode()
    assert "1 sentence" in page.content.decode()


def test_passages_bad_input_is_400_and_other_projects_code_404(team: Team):
    a, b, _, _ = _study(team)
    foreign = CodeFactory.create(project=team.other_project)
    url = reverse("frontend:cooccurrence-passages", args=[team.project.slug])
    client = client_for(team.owner)
    assert client.get(url, {"a": a.pk}).status_code == 400
    assert client.get(url, {"a": "x", "b": b.pk}).status_code == 400
    assert client.get(url, {"a": a.pk, "b": a.pk}).status_code == 400
    assert client.get(url, {"a": a.pk, "b": b.pk, "by": "participant"}).status_code == 400
    assert client.get(url, {"a": a.pk, "b": foreign.pk}).status_code == 404
    assert client.get(url, {"a": a.pk, "b": 999999}).status_code == 404
    child = CodeFactory.create(project=team.project, parent=b)
    assert client.get(url, {"a": a.pk, "b": child.pk, "level": "theme"}).status_code == 404
    assert client.get(url, {"a": a.pk, "b": child.pk, "level": "code"}).status_code == 200


def test_bad_form_values_are_reported_and_defaults_used(team: Team):
    _study(team)
    response = _page(team, by="paragraph", coder="nobody", source="novel")
    assert response.status_code == 400
    html = response.content.decode()
    assert "“paragraph” is not a way to meet" in html
    assert "No coder “nobody”" in html
    assert "cooc-matrix" in html


def test_project_home_links_the_page(team: Team):
    home = client_for(team.coder).get(reverse("frontend:project-home", args=[team.project.slug]))
    assert reverse("frontend:cooccurrence", args=[team.project.slug]) in home.content.decode()
