"""The manager dashboard: heatmap emphasis, escaping, the quotes behind a cell, filters, access
and a query count that does not grow with the data."""

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coding.models import Code, Excerpt
from observations.models import Document
from research.models import CustomerSegment, Participant, Project, Segment, Segmentation
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory, ParticipantFactory

XSS = "<script>alert(1)</script>"
TEXT = "Honestly the roaming charges on my first bill were a real shock to me, so I called."


@dataclass
class Study:
    segmentation: Segmentation
    codes: dict[str, Code]
    participants: dict[str, list[Participant]] = field(default_factory=dict)
    excerpts: list[Excerpt] = field(default_factory=list)


def build_study(
    project: Project,
    coder,
    *,
    scale: int = 1,
    themes: dict[str, dict[str, int]] | None = None,
    sizes: dict[str, int] | None = None,
    kind: str = Document.Kind.TRANSCRIPT,
) -> Study:
    """A snapshot with segments of `sizes` participants (times `scale`), each interviewed once,
    and for each theme the number of participants per segment who mention it (times `scale`).

    By default "Billing shock" is common in Switchers and rare in Loyal (a finding), "Support
    wait" is even (no finding), and Newcomers has too few participants to be compared.
    """
    sizes = sizes or {"Switchers": 10, "Loyal": 10, "Newcomers": 2}
    themes = themes or {
        "Billing shock": {"Switchers": 9, "Loyal": 1, "Newcomers": 2},
        "Support wait": {"Switchers": 5, "Loyal": 5, "Newcomers": 1},
    }
    segmentation = Segmentation.objects.create(
        project=project,
        name="Onboarding segments",
        version=1,
        source_name="segments.csv",
        customer_column="customer_ref",
        segment_column="segment",
    )
    study = Study(segmentation=segmentation, codes={})
    for name in themes:
        study.codes[name] = CodeFactory.create(
            project=project, name=name, description=f"Definition of {name}."
        )
    for seg_name, size in sizes.items():
        segment = Segment.objects.create(segmentation=segmentation, name=seg_name)
        people = []
        for i in range(size * (scale if seg_name != "Newcomers" else 1)):
            person = ParticipantFactory.create(project=project)
            CustomerSegment.objects.create(
                segmentation=segmentation, customer_ref=person.customer_ref, segment=segment
            )
            people.append(person)
            document = DocumentFactory.create(
                project=project,
                participant=person,
                kind=kind,
                text=TEXT,
                char_count=len(TEXT),
                title=f"Interview {seg_name} {i}",
            )
            for theme, counts in themes.items():
                wanted = counts.get(seg_name, 0) * (scale if seg_name != "Newcomers" else 1)
                if i < wanted:
                    study.excerpts.append(
                        ExcerptFactory.create(
                            document=document,
                            code=study.codes[theme],
                            coder=coder,
                            start=TEXT.index("roaming"),
                            end=TEXT.index(" on my"),
                        )
                    )
        study.participants[seg_name] = people
    # Customers of the thin segment not interviewed yet: the coverage panel names them.
    newcomers = Segment.objects.get(segmentation=segmentation, name="Newcomers")
    for n in range(3):
        CustomerSegment.objects.create(
            segmentation=segmentation, customer_ref=f"RECRUIT-{n}", segment=newcomers
        )
    segmentation.customer_count = segmentation.customers.count()
    segmentation.save(update_fields=["customer_count"])
    return study


class Cells(HTMLParser):
    """Collects the heatmap cells: {(aria-label's theme, segment): (td class, has a star)}."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, object]] = []
        self._td: dict[str, object] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "td" and "dash-cell" in (values.get("class") or "").split():
            self._td = {"class": values["class"], "text": "", "label": ""}
            self.cells.append(self._td)
        elif tag == "a" and self._td is not None:
            self._td["label"] = values.get("aria-label") or ""
            self._td["href"] = values.get("href") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._td = None

    def handle_data(self, data: str) -> None:
        if self._td is not None:
            self._td["text"] = str(self._td["text"]) + data

    def find(self, theme: str, segment: str) -> dict[str, object]:
        prefix = f"{theme} in {segment}:"
        (cell,) = [c for c in self.cells if str(c["label"]).startswith(prefix)]
        return cell


def cells_of(html: str) -> Cells:
    parser = Cells()
    parser.feed(html)
    return parser


def dashboard_url(project: Project, **params: str) -> str:
    url = reverse("frontend:dashboard", args=[project.slug])
    if params:
        from urllib.parse import urlencode

        url += "?" + urlencode(params)
    return url


@pytest.fixture
def study(team) -> Study:
    return build_study(team.project, team.researcher)


def test_dashboard_shows_segments_with_participants_and_cells_with_counts(team, study, client_as):
    response = client_as(team.manager).get(dashboard_url(team.project))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Switchers" in html
    assert "Loyal" in html
    assert "10 participants" in html
    assert "2 participants" in html
    cell = cells_of(html).find("Billing shock", "Switchers")
    assert "9/10" in str(cell["text"])
    assert "90%" in str(cell["text"])
    assert response.context["choice"].level == "theme"
    assert response.context["choice"].unit == "participant"
    assert response.context["choice"].segmentation == study.segmentation


def test_only_cells_with_enough_evidence_in_significant_rows_are_findings(team, study, client_as):
    html = client_as(team.manager).get(dashboard_url(team.project)).content.decode()
    cells = cells_of(html)
    findings = {
        str(c["label"]).split(":")[0]
        for c in cells.cells
        if "dash-cell--finding" in str(c["class"])
    }
    assert findings == {"Billing shock in Switchers", "Billing shock in Loyal"}
    for segment in ("Switchers", "Loyal"):
        cell = cells.find("Billing shock", segment)
        assert "★" in str(cell["text"])
        assert "finding" in str(cell["label"])
        quiet = cells.find("Support wait", segment)
        assert "dash-cell--muted" in str(quiet["class"])
        assert "★" not in str(quiet["text"])
        assert "not beyond chance" in str(quiet["label"])


def test_a_segment_within_chance_in_a_significant_row_is_not_a_finding(team, client_as):
    # Billing shock: 9/10 Switchers, 1/10 Loyal, 5/10 Middle. The row is significant, but Middle
    # sits at the overall share (residual 0), so only the two outer segments are findings.
    build_study(
        team.project,
        team.researcher,
        sizes={"Switchers": 10, "Loyal": 10, "Middle": 10, "Newcomers": 2},
        themes={"Billing shock": {"Switchers": 9, "Loyal": 1, "Middle": 5}},
    )
    cells = cells_of(client_as(team.manager).get(dashboard_url(team.project)).content.decode())
    middle = cells.find("Billing shock", "Middle")
    assert "dash-cell--finding" not in str(middle["class"])
    assert "★" not in str(middle["text"])
    assert "within what chance allows" in str(middle["label"])
    for segment in ("Switchers", "Loyal"):
        assert "dash-cell--finding" in str(cells.find("Billing shock", segment)["class"])


def test_not_enough_evidence_cells_are_hatched_and_never_findings(team, study, client_as):
    html = client_as(team.manager).get(dashboard_url(team.project)).content.decode()
    cells = cells_of(html)
    for theme in ("Billing shock", "Support wait"):
        # Newcomers: 2 of 2 have billing shock in a significant row, still only 2 people.
        cell = cells.find(theme, "Newcomers")
        assert "dash-cell--thin" in str(cell["class"])
        assert "dash-cell--finding" not in str(cell["class"])
        assert "dash-cell--up" not in str(cell["class"])
        assert "★" not in str(cell["text"])
        assert "not enough evidence" in str(cell["label"])
        assert "not enough evidence" in str(cell["text"])


def test_code_named_script_is_escaped_everywhere(team, client_as):
    build_study(
        team.project,
        team.researcher,
        themes={XSS: {"Switchers": 6, "Loyal": 2, "Newcomers": 1}},
    )
    client = client_as(team.manager)
    html = client.get(dashboard_url(team.project)).content.decode()
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    code = Code.objects.get(project=team.project, name=XSS)
    quotes = client.get(
        reverse("frontend:dashboard-quotes", args=[team.project.slug]), {"code": code.pk}
    ).content.decode()
    assert XSS not in quotes
    assert "&lt;script&gt;" in quotes


def test_cell_links_carry_the_filters_and_open_the_cells_quotes(team, study, client_as):
    client = client_as(team.manager)
    html = client.get(
        dashboard_url(team.project, source="transcript", date_from="2020-01-01")
    ).content.decode()
    cell = cells_of(html).find("Billing shock", "Switchers")
    href = str(cell["href"]).replace("&amp;", "&")
    assert "segment=Switchers" in href
    assert "source=transcript" in href
    assert "date_from=2020-01-01" in href
    assert f"snapshot={study.segmentation.pk}" in href
    fragment = client.get(href, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "<html" not in body
    assert "9 quotes" in body
    assert "<mark>roaming charges</mark>" in body
    excerpt = Excerpt.objects.filter(code=study.codes["Billing shock"]).order_by("pk").first()
    assert excerpt is not None
    workspace = reverse("frontend:document-code", args=[team.project.slug, excerpt.document_id])
    assert f"{workspace}?excerpt={excerpt.pk}" in body
    # Without htmx the same link is a page of its own (works without JavaScript).
    page = client.get(href)
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert "9 quotes" in page.content.decode()


def test_filters_are_applied_to_the_table(team, study, client_as):
    client = client_as(team.manager)
    response = client.get(dashboard_url(team.project, source="survey", level="code"))
    assert response.status_code == 200
    choice = response.context["choice"]
    assert choice.filters.sources == {"survey"}
    assert choice.level == "code"
    # Every interview is a transcript: with surveys only, nobody is observed.
    assert all(
        cell.n == 0 and cell.size == 0 for row in response.context["rows"] for cell in row.cells
    )
    later = client.get(dashboard_url(team.project, date_from="2999-01-01"))
    assert all(c.n == 0 for row in later.context["rows"] for c in row.cells)
    excerpts = client.get(dashboard_url(team.project, unit="excerpt"))
    switchers = cells_of(excerpts.content.decode()).find("Billing shock", "Switchers")
    assert "9/14" in str(switchers["text"])  # 9 billing + 5 wait excerpts in Switchers
    exports = dict(excerpts.context["exports"])["This matrix, with the filters above"]
    assert "unit=excerpt" in exports[0][1]
    assert f"segmentation={study.segmentation.pk}" in exports[0][1]


def test_bad_filters_are_reported_not_a_500(team, study, client_as):
    client = client_as(team.manager)
    response = client.get(
        dashboard_url(team.project, level="galaxy", date_from="yesterday", source="pigeon")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "not a date" in html
    assert "pigeon" in html
    assert "galaxy" in html
    assert response.context["choice"].level == "theme"
    assert client.get(dashboard_url(team.project, snapshot="abc")).status_code == 404


def test_theme_cards_show_definition_bars_and_best_quotes(team, study, client_as):
    response = client_as(team.manager).get(dashboard_url(team.project))
    cards = {card.name: card for card in response.context["cards"]}
    billing = cards["Billing shock"]
    assert billing.description == "Definition of Billing shock."
    assert [bar.label for bar in billing.bars] == ["Loyal", "Newcomers", "Switchers"]
    switchers = billing.bars[2]
    assert switchers.low is not None
    assert switchers.high is not None
    assert switchers.low < switchers.width < switchers.high
    assert 1 <= len(billing.quotes) <= 3
    assert len({q["participant"] for q in billing.quotes}) == len(billing.quotes)
    assert billing.hypotheses == []
    html = response.content.decode()
    assert "Definition of Billing shock." in html
    assert "roaming charges" in html


def test_coverage_flags_thin_segments_and_names_whom_to_recruit(team, study, client_as):
    response = client_as(team.manager).get(dashboard_url(team.project))
    html = response.content.decode()
    assert "too few participants" in html
    assert "RECRUIT-0" in html


def test_code_frequency_counts_excerpts_and_participants(team, study, client_as):
    response = client_as(team.manager).get(dashboard_url(team.project))
    excerpts = {bar.label: bar.value for bar in response.context["excerpt_bars"]}
    people = {bar.label: bar.value for bar in response.context["people_bars"]}
    assert excerpts == {"Billing shock": "12", "Support wait": "11"}
    assert people == {"Billing shock": "12", "Support wait": "11"}


def test_no_snapshot_shows_the_way_to_the_segmentations_page(team, client_as):
    response = client_as(team.manager).get(dashboard_url(team.project))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No customer segments yet" in html
    assert reverse("frontend:segmentation-list", args=[team.project.slug]) in html


def test_non_member_gets_404_for_page_and_quotes(team, study, client_as):
    client = client_as(team.outsider)
    assert client.get(dashboard_url(team.project)).status_code == 404
    quotes = reverse("frontend:dashboard-quotes", args=[team.project.slug])
    code = study.codes["Billing shock"].pk
    assert client.get(quotes, {"code": code}).status_code == 404


def test_quotes_for_another_projects_code_are_404(team, study, client_as):
    other_code = CodeFactory.create(project=team.other_project, name="Elsewhere")
    client = client_as(team.owner)
    url = reverse("frontend:dashboard-quotes", args=[team.project.slug])
    assert client.get(url, {"code": other_code.pk}).status_code == 404
    assert client.get(url, {"code": 999999}).status_code == 404
    assert (
        client.get(url, {"code": study.codes["Billing shock"].pk, "segment": "Nope"}).status_code
        == 404
    )
    assert client.get(url, {"code": "x"}).status_code == 400
    assert client.get(url).status_code == 400


def test_every_role_may_read_the_dashboard_and_exporters_see_the_exports(team, study, client_as):
    for user in (team.owner, team.researcher, team.coder, team.manager):
        response = client_as(user).get(dashboard_url(team.project))
        assert response.status_code == 200
        exports = reverse("api:export-excerpts", args=[team.project.slug])
        assert (exports in response.content.decode()) == (user != team.coder)


def test_project_home_and_segmentations_page_link_to_the_dashboard(team, study, client_as):
    client = client_as(team.manager)
    url = reverse("frontend:dashboard", args=[team.project.slug])
    home = client.get(reverse("frontend:project-home", args=[team.project.slug]))
    assert url in home.content.decode()
    segmentations = client.get(reverse("frontend:segmentation-list", args=[team.project.slug]))
    assert url in segmentations.content.decode()


def test_page_queries_do_not_grow_with_themes_participants_or_excerpts(
    team, client_as, django_assert_max_num_queries
):
    client = client_as(team.manager)
    build_study(team.project, team.researcher)
    with CaptureQueriesContext(connection) as small:
        assert client.get(dashboard_url(team.project)).status_code == 200
    Segmentation.objects.filter(project=team.project).delete()
    Excerpt.objects.filter(project=team.project).delete()
    Code.objects.filter(project=team.project).delete()
    more = {f"Theme {i}": {"Switchers": 7, "Loyal": 3, "Newcomers": 1} for i in range(6)}
    build_study(team.project, team.researcher, scale=3, themes=more)
    assert Excerpt.objects.filter(project=team.project).count() > 100
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(dashboard_url(team.project))
    assert response.status_code == 200
    assert len(response.context["rows"]) == 6


def test_theme_cards_list_hypotheses_about_the_theme_and_its_codes(team, study, client_as):
    from coding.hypotheses import hypothesis_create

    child = CodeFactory.create(
        project=team.project, name="Roaming bill", parent=study.codes["Billing shock"]
    )
    for code, statement in (
        (study.codes["Billing shock"], "Switchers get <b>bill shock</b> more"),
        (child, "Roaming bills surprise switchers"),
    ):
        hypothesis_create(
            project=team.project,
            user=team.researcher,
            statement=statement,
            code=code,
            kind="segment",
            segmentation=study.segmentation,
            segment="Switchers",
            direction="more",
        )
    response = client_as(team.manager).get(dashboard_url(team.project))
    cards = {card.name: card for card in response.context["cards"]}
    statements = {h["statement"] for h in cards["Billing shock"].hypotheses}
    assert statements == {
        "Switchers get <b>bill shock</b> more",
        "Roaming bills surprise switchers",
    }
    assert cards["Support wait"].hypotheses == []
    html = response.content.decode()
    assert "Switchers get &lt;b&gt;bill shock&lt;/b&gt; more" in html
    assert reverse("frontend:hypotheses", args=[team.project.slug]) + "#hypothesis-" in html
    # 9 of 10 Switchers vs 1 of 12 others: supported, said in words.
    assert "✓ Supported" in html
