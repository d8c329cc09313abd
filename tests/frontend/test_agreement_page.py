"""The agreement page's reconcile buttons: "Keep X's" for every compared coder, including one
who did not apply the code, and what pressing it does."""

from django.urls import reverse

from coding.models import AgreementDecision, Excerpt
from tests.coding.test_agreement_api import study  # noqa: F401 (the fixture)
from tests.conftest import client_for


def _url(team) -> str:
    return reverse("frontend:agreement", kwargs={"slug": team.project.slug})


def _keep_buttons(html: str) -> list[str]:
    return [
        part.split("</button>")[0].split(">")[-1]
        for part in html.split('name="action" value="keep">')[1:]
    ]


def test_every_compared_coder_gets_a_keep_button_naming_a_missing_code(study):  # noqa: F811
    html = client_for(study.owner).get(_url(study), {"coder": ["ana", "ben"]}).content.decode()
    # Passage 0-17: both coded; passage 51-68: only ben did.
    assert _keep_buttons(html) == [
        "Keep ana's",
        "Keep ben's",
        "Keep ana's (code not applied)",
        "Keep ben's",
    ]
    assert html.count('<input type="hidden" name="coder" value="ana">') == 2


def test_keeping_the_coder_who_did_not_apply_the_code_removes_it_there(study):  # noqa: F811
    client = client_for(study.owner)
    page = client.get(_url(study), {"coder": ["ana", "ben"]})
    passage = next(p for p in page.context["report"]["disagreements"] if p["start"] == 51)
    response = client.post(
        _url(study),
        {
            "code": passage["code"],
            "document": passage["document"],
            "start": 51,
            "end": 68,
            "version": passage["version"],
            "coders": "ana,ben",
            "coder": "ana",
            "action": "keep",
            "query": "coder=ana&coder=ben",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Reconciled a passage of &#x27;Pain&#x27;" in html
    assert not Excerpt.objects.filter(code=study.pain, start__lt=68, end__gt=51).exists()
    assert AgreementDecision.objects.get().after == []
    assert _keep_buttons(html) == ["Keep ana's", "Keep ben's"]


def test_a_coder_who_cannot_reconcile_sees_no_buttons(study):  # noqa: F811
    html = client_for(study.ana).get(_url(study), {"coder": ["ana", "ben"]}).content.decode()
    assert "Disagreements" in html
    assert _keep_buttons(html) == []


def test_a_coder_whose_excerpts_were_all_reconciled_away_is_still_compared(study):  # noqa: F811
    # "Keep ana's" everywhere removed every excerpt ben made: ben is still one of the coders.
    Excerpt.objects.filter(coder=study.ben).delete()
    client = client_for(study.owner)
    api = reverse("api:analysis-agreement", kwargs={"slug": study.project.slug})
    body = client.get(api, {"coders": "ana,ben", "document": study.doc.pk}).json()
    (row,) = body["codes"]
    assert row["percent"] == 100 * 51 / 68  # ana's 17 characters against ben's silence
    page = client.get(_url(study), {"coder": ["ana", "ben"], "document": study.doc.pk})
    assert page.context["report"] is not None
    assert "has coded here" not in page.content.decode()


def test_a_refused_reconcile_reads_in_words(study):  # noqa: F811
    client = client_for(study.owner)
    response = client.post(
        _url(study),
        {
            "code": study.pain.pk,
            "document": study.doc.pk,
            "start": 51,
            "end": 68,
            "action": "keep",
            "coders": "ana,ben",
            "coder": "nobody",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Could not reconcile: " in html
    assert "{" not in html.split("Could not reconcile: ")[1].split("<")[0]  # no dict syntax
