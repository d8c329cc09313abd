"""Agreement API and reconciliation (issue 7): figures, strata, disputed passages, 400s, 409s."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coding.agreement.services import agreement_reconcile
from coding.models import AgreementDecision, Excerpt
from observations.models import Document, Sentence
from research.models import Segment, Segmentation
from research.roles import Role
from tests.conftest import client_for
from tests.factories import (
    CodeFactory,
    DocumentFactory,
    ExcerptFactory,
    MembershipFactory,
    ParticipantFactory,
    UserFactory,
)

TEXT = "Sign-up was slow. The app kept asking for my card. I nearly gave up."  # 68 chars


@pytest.fixture
def study(team):
    ana, ben = UserFactory.create(username="ana"), UserFactory.create(username="ben")
    for user in (ana, ben):
        MembershipFactory.create(project=team.project, user=user, role=Role.CODER)
    doc = DocumentFactory.create(project=team.project, text=TEXT, title="Call 1")
    for i, (s, e) in enumerate([(0, 17), (18, 50), (51, 68)]):
        Sentence.objects.create(document=doc, index=i, start=s, end=e)
    pain = CodeFactory.create(project=team.project, name="Pain")
    ExcerptFactory.create(document=doc, code=pain, coder=ana, start=0, end=17)
    ExcerptFactory.create(document=doc, code=pain, coder=ben, start=0, end=10)
    ExcerptFactory.create(document=doc, code=pain, coder=ben, start=51, end=68)
    team.ana, team.ben, team.doc, team.pain = ana, ben, doc, pain
    return team


def _url(team, name="api:analysis-agreement"):
    return reverse(name, kwargs={"slug": team.project.slug})


def test_figures_per_code_and_overall_when_two_coders_disagree_in_part(study):
    body = client_for(study.manager).get(_url(study), {"coders": "ana,ben"}).json()
    (row,) = body["codes"]
    # 68 characters; ana marks 0-17, ben 0-10 and 51-68: they differ on 7 + 17 = 24.
    assert row["code"] == study.pain.pk
    assert row["units"] == 68
    assert row["percent"] == pytest.approx(100 * 44 / 68)
    assert row["cohen_kappa"] is not None
    assert row["krippendorff_alpha"] is not None
    assert body["overall"]["percent"] == row["percent"]
    assert [d["start"] for d in body["disagreements"]] == [0, 51]
    first = body["disagreements"][0]
    assert first["text"] == TEXT[0:17]
    assert first["code_name"] == "Pain"
    assert [c["coder"] for c in first["coders"]] == ["ana", "ben"]
    assert first["coders"][1]["excerpts"][0]["text"] == TEXT[0:10]
    assert body["strata"]["source"][0]["name"] == Document.Kind.TRANSCRIPT


def test_sentence_unit_marks_sentences_an_excerpt_overlaps(study):
    body = client_for(study.manager).get(_url(study), {"coders": "ana,ben", "unit": "sentence"})
    row = body.json()["codes"][0]
    # Sentences: ana {1,0,0}, ben {1,0,1}: agree on 2 of 3.
    assert row["units"] == 3
    assert row["percent"] == pytest.approx(200 / 3)


def test_query_count_is_constant_when_documents_and_codes_grow(study):
    client = client_for(study.manager)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert (
                client.get(_url(study), {"coders": "ana,ben", "unit": "sentence"}).status_code
                == 200
            )
        return len(ctx.captured_queries)

    before = count()
    for _ in range(3):
        doc = DocumentFactory.create(project=study.project, text=TEXT)
        code = CodeFactory.create(project=study.project)
        ExcerptFactory.create(document=doc, code=code, coder=study.ana, start=0, end=9)
        ExcerptFactory.create(document=doc, code=code, coder=study.ben, start=2, end=20)
    assert count() == before


def test_strata_by_segment_when_a_segmentation_is_given(study):
    snapshot = Segmentation.objects.create(
        project=study.project, name="Value", version=1, source_name="s.csv"
    )
    Segment.objects.create(segmentation=snapshot, name="High")
    study.doc.participant = ParticipantFactory.create(project=study.project)
    study.doc.save()
    body = client_for(study.manager).get(
        _url(study), {"coders": "ana,ben", "segmentation": str(snapshot.pk)}
    )
    assert [s["name"] for s in body.json()["strata"]["segment"]] == ["(no segment)"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "coders"),
        ({"coders": "ana"}, "coders"),
        ({"coders": "ana,nobody"}, "coders"),
        ({"coders": "ana,ben", "unit": "word"}, "unit"),
        ({"coders": "ana,ben", "level": "galaxy"}, "level"),
        ({"coders": "ana,ben", "source": "novel"}, "source"),
        ({"coders": "ana,ben", "document": "x"}, "document"),
        ({"coders": "ana,ben", "segment": "High"}, "segment"),
    ],
)
def test_bad_parameter_is_a_400_naming_it(study, params, field):
    response = client_for(study.manager).get(_url(study), params)
    assert response.status_code == 400
    assert field in str(response.json())


def test_another_projects_document_is_a_404(study):
    theirs = DocumentFactory.create(project=study.other_project)
    response = client_for(study.owner).get(
        _url(study), {"coders": "ana,ben", "document": str(theirs.pk)}
    )
    assert response.status_code == 404


def _passage(study, start=0):
    body = client_for(study.owner).get(_url(study), {"coders": "ana,ben"}).json()
    return next(d for d in body["disagreements"] if d["start"] == start)


def _reconcile(study, passage, user=None, **extra):
    data = {
        "code": passage["code"],
        "document": passage["document"],
        "start": passage["start"],
        "end": passage["end"],
        "version": passage["version"],
        "coders": "ana,ben",
        **extra,
    }
    data = {k: v for k, v in data.items() if v is not None}  # None: leave the field out
    client = client_for(user or study.owner)
    return client.post(_url(study, "api:analysis-agreement-reconcile"), data, format="json")


def test_keep_removes_the_other_coders_excerpts_and_records_the_decision(study):
    passage = _passage(study)
    kept = passage["coders"][0]["excerpts"][0]["id"]
    response = _reconcile(study, passage, action="keep", excerpt=kept)
    assert response.status_code == 201, response.json()
    assert not Excerpt.objects.filter(coder=study.ben, start=0).exists()
    assert Excerpt.objects.filter(pk=kept).exists()
    decision = AgreementDecision.objects.get()
    assert decision.decided_by == study.owner
    assert len(decision.before) == 2
    assert [d["start"] for d in _reconcile_list(study)] == [51]


def _reconcile_list(study):
    return client_for(study.owner).get(_url(study), {"coders": "ana,ben"}).json()["disagreements"]


def test_merge_leaves_one_excerpt_of_the_union_span(study):
    passage = _passage(study)
    assert _reconcile(study, passage, action="merge").status_code == 201
    (merged,) = Excerpt.objects.filter(code=study.pain, start__lt=17)
    assert (merged.start, merged.end, merged.coder) == (0, 17, study.ana)


def test_keep_both_hides_the_passage_until_its_excerpts_change(study):
    passage = _passage(study, start=51)
    assert _reconcile(study, passage, action="keep_both").status_code == 201
    assert Excerpt.objects.filter(code=study.pain).count() == 3
    assert [d["start"] for d in _reconcile_list(study)] == [0]
    Excerpt.objects.filter(coder=study.ben, start=51).update(end=60)
    assert 51 in [d["start"] for d in _reconcile_list(study)]


def test_stale_version_is_a_409_with_the_current_state(study):
    passage = _passage(study)
    Excerpt.objects.filter(coder=study.ben, start=0).update(end=12)
    response = _reconcile(study, passage, action="keep_both")
    assert response.status_code == 409
    assert {e["end"] for e in response.json()["current"]["excerpts"]} == {17, 12}
    assert not AgreementDecision.objects.exists()


def test_coder_cannot_reconcile(study):
    passage = _passage(study)
    assert _reconcile(study, passage, user=study.ana, action="keep_both").status_code == 403


def test_keep_needs_an_excerpt_of_the_passage(study):
    passage = _passage(study)
    response = _reconcile(study, passage, action="keep")
    assert response.status_code == 400
    assert "excerpt" in response.json()["errors"][0]["field"]


def test_keep_a_coder_keeps_their_version_and_deletes_the_others_there(study):
    passage = _passage(study)
    response = _reconcile(study, passage, action="keep", coder="ben")
    assert response.status_code == 201, response.json()
    starts = Excerpt.objects.filter(code=study.pain).values_list("coder__username", "start", "end")
    assert sorted(starts) == [("ben", 0, 10), ("ben", 51, 68)]
    decision = AgreementDecision.objects.get()
    assert decision.action == "keep"
    assert [e["coder"] for e in decision.after] == ["ben"]
    assert len(decision.before) == 2


def test_keep_a_coder_who_did_not_apply_the_code_removes_it_from_the_passage(study):
    # ana did not code 51-68 with Pain, ben did: "ana was right, the code does not apply".
    passage = _passage(study, start=51)
    assert [c["coder"] for c in passage["coders"] if not c["excerpts"]] == ["ana"]
    response = _reconcile(study, passage, action="keep", coder="ana")
    assert response.status_code == 201, response.json()
    assert not Excerpt.objects.filter(code=study.pain, start__lt=68, end__gt=51).exists()
    assert Excerpt.objects.filter(code=study.pain).count() == 2
    decision = AgreementDecision.objects.get()
    assert [e["coder"] for e in decision.before] == ["ben"]
    assert decision.after == []
    assert response.json()["after"] == []
    assert [d["start"] for d in _reconcile_list(study)] == [0]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"action": "keep", "coder": "ana", "excerpt": "ANA"}, "coder"),
        ({"action": "keep", "coder": "nobody"}, "coder"),
        ({"action": "keep", "coder": "OWNER"}, "coder"),  # a member, not a compared coder
        ({"action": "merge", "coder": "ana"}, "coder"),
        ({"action": "keep"}, "excerpt"),
    ],
)
def test_keep_takes_exactly_one_of_excerpt_and_a_compared_coder(study, extra, field):
    passage = _passage(study)
    ana_excerpt = passage["coders"][0]["excerpts"][0]["id"]
    fill = {"ANA": ana_excerpt, "OWNER": study.owner.username}
    extra = {k: fill.get(v, v) for k, v in extra.items()}
    response = _reconcile(study, passage, **extra)
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Excerpt.objects.filter(code=study.pain).count() == 3
    assert not AgreementDecision.objects.exists()


def test_keep_a_coder_without_compared_coders_takes_anyone_who_coded_here(study):
    passage = _passage(study)
    response = _reconcile(study, passage, action="keep", coder="ana", coders=None)
    assert response.status_code == 201, response.json()
    assert not Excerpt.objects.filter(coder=study.ben, start=0).exists()
    response = _reconcile(study, _passage(study, 51), action="keep", coder="zed", coders=None)
    assert response.status_code == 400
    assert "coder" in [e["field"] for e in response.json()["errors"]]


def test_service_keep_coder_must_be_compared_and_not_given_with_an_excerpt(study):
    args = {"user": study.owner, "document": study.doc, "code": study.pain, "start": 0, "end": 17}
    ana_excerpt = Excerpt.objects.get(coder=study.ana)
    with pytest.raises(ValidationError) as both:
        agreement_reconcile(**args, action="keep", keep=ana_excerpt, keep_coder=study.ana)
    assert "coder" in both.value.message_dict
    with pytest.raises(ValidationError) as stranger:
        agreement_reconcile(
            **args, action="keep", keep_coder=study.owner, coders=[study.ana, study.ben]
        )
    assert "coder" in stranger.value.message_dict
    assert Excerpt.objects.count() == 3
    decision = agreement_reconcile(
        **args, action="keep", keep_coder=study.ana, coders=[study.ana, study.ben]
    )
    assert [e["coder"] for e in decision.after] == ["ana"]
    assert not Excerpt.objects.filter(coder=study.ben, start=0).exists()


def test_another_projects_code_in_a_reconcile_is_a_404(study):
    passage = _passage(study)
    theirs = CodeFactory.create(project=study.other_project)
    assert _reconcile(study, {**passage, "code": theirs.pk}, action="merge").status_code == 404
