"""`manage.py load_demo`: the demo study, its logins, idempotence and the refusals that keep it
safe."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from coding.management.commands import _demo_data as data
from coding.management.commands import _demo_survey as survey
from coding.models import Code, Excerpt, Memo
from observations.models import Document, FieldNote, ObservationSession, SpeakerTurn
from research.models import Membership, Participant, Project, User
from research.roles import Role
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Each run hashes four passwords; the production hasher would make this file slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def load(django_capture_on_commit_callbacks):
    """Run load_demo with processing jobs executed at commit; return its output."""

    def run(*args: str) -> str:
        out = StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("load_demo", *args, stdout=out)
        return out.getvalue()

    return run


def counts() -> dict[str, int]:
    models = [Project, User, Membership, Participant, ObservationSession, FieldNote, Document]
    models += [SpeakerTurn, Code, Excerpt, Memo]
    return {model.__name__: model._default_manager.count() for model in models}


def demo_project() -> Project:
    return Project.objects.get(slug=data.SLUG)


def test_creates_participants_with_customer_refs_when_run_on_empty_database(load):
    load()
    participants = demo_project().participants.all()
    assert len(participants) == 40  # four interviewees, 36 survey respondents
    assert all(p.customer_ref for p in participants)
    assert len({p.customer_ref for p in participants}) == 40
    assert {p.pseudonym for p in participants} == {f"P{n:02d}" for n in range(1, 41)}


def test_creates_one_survey_answer_per_respondent_when_run(load):
    load()
    answers = Document.objects.filter(project=demo_project(), kind=Document.Kind.SURVEY)
    assert answers.count() == len(survey.RESPONDENTS) == 36
    by_pseudonym = {
        d.participant.pseudonym: d for d in answers.select_related("participant") if d.participant
    }
    assert set(by_pseudonym) == {f"P{n:02d}" for n in range(5, 41)}
    for spec in survey.RESPONDENTS:
        document = by_pseudonym[spec["pseudonym"]]
        # Like the survey importer: the answer alone, no speaker turns.
        assert document.text == spec["answer"]
        assert not document.turns.exists()
        assert document.participant is not None
        assert document.participant.customer_ref == spec["customer_ref"]
        assert 1 <= document.text.count(". ") + 1 <= 4  # one to four sentences
    assert len({d.text for d in answers}) == 36
    # Some answers name nothing the codebook covers; they stay uncoded.
    uncoded = answers.exclude(excerpts__isnull=False)
    assert 3 <= uncoded.count() <= 6


def test_creates_store_session_with_mixed_field_notes_when_run(load):
    load()
    session = ObservationSession.objects.get(project=demo_project())
    assert (session.channel, session.journey_stage) == ("store", "onboarding")
    assert session.observer is not None
    assert session.observer.username == "researcher"
    notes = list(session.notes.all())
    assert len(notes) >= 8
    assert {n.kind for n in notes} == set(FieldNote.Kind.values)
    assert any(n.participant for n in notes)
    document = Document.objects.get(session=session, kind=Document.Kind.FIELD_NOTES)
    assert all(n.text in document.text for n in notes)


def test_creates_transcripts_whose_turns_are_the_spoken_words_when_run(load):
    load()
    transcripts = Document.objects.filter(project=demo_project(), kind=Document.Kind.TRANSCRIPT)
    assert transcripts.count() == 2
    for document in transcripts:
        turns = list(document.turns.select_related("participant", "interviewer"))
        assert 25 <= len(turns) <= 40
        # Like imported transcripts: each line is "Speaker: words" and the turn is the words.
        lines = [f"{turn.speaker}: {document.text[turn.start : turn.end]}" for turn in turns]
        assert "\n".join(lines) + "\n" == document.text  # one turn per line, nothing left out
        for turn, line in zip(turns, lines, strict=True):
            label = f"{turn.speaker}: "
            assert document.text[turn.start - len(label) : turn.start] == label
            assert len(line) > len(label)
            assert turn.started_at_ms is not None
            assert turn.ended_at_ms is not None
            assert turn.started_at_ms < turn.ended_at_ms
            if turn.participant is not None:
                assert document.participant is not None
                assert turn.speaker == turn.participant.pseudonym == document.participant.pseudonym
            else:
                assert turn.interviewer is not None
                assert turn.interviewer.username == "researcher"


def test_marks_every_document_ready_when_processing_jobs_run(load):
    load()
    statuses = set(Document.objects.filter(project=demo_project()).values_list("status", flat=True))
    assert statuses == {Document.Status.READY}


def test_builds_codebook_of_three_themes_with_defined_children_when_run(load):
    load()
    themes = Code.objects.filter(project=demo_project(), parent=None)
    assert 2 <= themes.count() <= 3
    colors = set()
    for theme in themes:
        children = list(theme.children.all())
        assert 2 <= len(children) <= 4
        for code in [theme, *children]:
            assert code.description
            colors.add(code.color)
    assert len(colors) == Code.objects.filter(project=demo_project()).count()
    assert Code.objects.exclude(inclusion_notes="").exists()
    assert Code.objects.exclude(exclusion_notes="").exists()


def test_stores_excerpts_matching_document_text_when_two_coders_code(load):
    load()
    excerpts = list(Excerpt.objects.filter(project=demo_project()).select_related("document"))
    survey_excerpts = sum(len(spec["excerpts"]) for spec in survey.RESPONDENTS)
    assert len(excerpts) == len(data.EXCERPTS) + survey_excerpts == 89
    assert {e.coder.username for e in excerpts} == {"researcher", "coder"}
    for excerpt in excerpts:
        assert excerpt.text == excerpt.document.text[excerpt.start : excerpt.end]


def test_includes_overlaps_and_disagreements_when_coders_code_same_passage(load):
    load()
    excerpts = list(Excerpt.objects.filter(project=demo_project()))
    by_span: dict[tuple, dict[str, int]] = {}
    for e in excerpts:
        by_span.setdefault((e.document_id, e.start, e.end), {})[e.coder.username] = e.code_id
    disagreements = [c for c in by_span.values() if len(c) == 2 and len(set(c.values())) == 2]
    assert len(disagreements) >= 3
    overlaps = [
        (a, b)
        for a in excerpts
        for b in excerpts
        if a.coder_id != b.coder_id
        and a.document_id == b.document_id
        and a.code_id == b.code_id
        and (a.start, a.end) != (b.start, b.end)
        and a.start < b.end
        and b.start < a.end
    ]
    assert overlaps


def test_gives_one_membership_per_role_when_run(load):
    load()
    roles = sorted(demo_project().memberships.values_list("role", flat=True))
    assert roles == sorted(Role.values)
    assert Memo.objects.filter(project=demo_project()).count() >= 3


def test_prints_url_and_every_login_when_run(load):
    out = load()
    assert "http://127.0.0.1:8000/" in out
    for username, role, _name in data.USERS:
        assert username in out
        assert role in out
    assert data.DEFAULT_PASSWORD in out
    assert User.objects.get(username="coder").check_password(data.DEFAULT_PASSWORD)


def test_keeps_counts_and_reprints_logins_when_run_twice(load):
    load()
    before = counts()
    out = load()
    assert counts() == before
    assert "already loaded" in out
    assert all(username in out for username, _role, _name in data.USERS)


def test_sets_given_password_when_password_option_given(load):
    load()
    out = load("--password", "another-secret")
    assert "another-secret" in out
    assert User.objects.get(username="manager").check_password("another-secret")


def test_rebuilds_project_with_same_counts_when_reset(load):
    load()
    before = counts()
    old_pk = demo_project().pk
    Excerpt.objects.filter(project=demo_project(), coder__username="coder").delete()
    load("--reset")
    assert demo_project().pk != old_pk
    after = counts()
    assert after == before


def test_refuses_and_keeps_project_when_slug_belongs_to_another_project(load):
    ProjectFactory.create(slug=data.SLUG, name="A real study")
    for args in ((), ("--reset",)):
        with pytest.raises(CommandError, match="not created by load_demo"):
            load(*args)
    assert demo_project().name == "A real study"
    assert not User.objects.filter(username="researcher").exists()


def test_refuses_when_a_demo_username_belongs_to_a_real_user(load):
    UserFactory.create(username="manager", email="mark@example.org")
    with pytest.raises(CommandError, match="not a demo user"):
        load()
    assert not Project.objects.filter(slug=data.SLUG).exists()
    assert not User.objects.get(username="manager").check_password(data.DEFAULT_PASSWORD)


def test_leaves_nothing_behind_when_a_phrase_is_missing(load, monkeypatch):
    broken = [*data.EXCERPTS, ("p01", "coder", "Number porting", "words nobody said")]
    monkeypatch.setattr(data, "EXCERPTS", broken)
    with pytest.raises(CommandError, match="not found"):
        load()
    assert counts() == dict.fromkeys(counts(), 0)
