"""The import service: all-or-nothing batches, speaker mapping defaults, survey respondents."""

import pytest
from django.core.exceptions import ValidationError

from observations.importers.base import ParsedDocument, ParseOptions
from observations.models import Document, SpeakerTurn
from observations.services import imports
from observations.services.imports import (
    ImportValidationError,
    UploadedFileLike,
    documents_import,
)
from observations.services.speakers import SpeakerTarget, speaker_maps_from_json
from research.models import Job, Participant
from tests.conftest import Team
from tests.factories import ParticipantFactory

CALL = (
    "Interviewer: Thanks for joining. How did the first week go?\n"
    "Anna: The SIM took three days to arrive.\n"
    "Interviewer: What did you do meanwhile?\n"
    "Anna: I called support twice and nobody knew where it was.\n"
)


def _file(name: str, text: str) -> UploadedFileLike:
    return UploadedFileLike(name=name, data=text.encode())


def _import(team: Team, files: list[UploadedFileLike], **kwargs):
    return documents_import(
        project=team.project, user=team.researcher, files=files, options=ParseOptions(), **kwargs
    )


def test_batch_creates_documents_with_turns_when_every_file_is_good(
    team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = _import(team, [_file("call-01.txt", CALL), _file("call-02.txt", CALL)])
    titles = sorted(team.project.documents.values_list("title", "source_name"))
    assert titles == [("call-01", "call-01.txt"), ("call-02", "call-02.txt")]
    assert result.turn_count == 8
    assert SpeakerTurn.objects.filter(document__project=team.project).count() == 8
    assert len(result.jobs) == 2
    assert {job.status for job in Job.objects.filter(pk__in=[j.pk for j in result.jobs])} == {
        Job.Status.SUCCEEDED
    }


def test_nothing_is_created_when_one_file_among_good_ones_is_bad(team):
    files = [
        _file("good.txt", CALL),
        UploadedFileLike(name="empty.txt", data=b""),
        _file("slides.pdf", "x"),
        _file("also-good.txt", CALL),
    ]
    with pytest.raises(ImportValidationError) as caught:
        _import(team, files, speaker_map={"Anna": SpeakerTarget(pseudonym="P42")})
    assert [error["file"] for error in caught.value.errors] == ["empty.txt", "slides.pdf"]
    assert "supported types" in caught.value.errors[1]["message"]
    assert not team.project.documents.exists()
    assert not Participant.objects.filter(pseudonym="P42").exists()
    assert not Job.objects.filter(project=team.project).exists()


def test_file_over_the_size_limit_is_refused_when_larger_than_the_setting(team, settings):
    settings.VERBATIM_MAX_UPLOAD_BYTES = 100
    with pytest.raises(ImportValidationError) as caught:
        _import(team, [_file("long.txt", CALL * 3), _file("short.txt", "Anna: hi")])
    assert [error["file"] for error in caught.value.errors] == ["long.txt"]
    assert "limit" in caught.value.errors[0]["message"]
    assert not team.project.documents.exists()


def test_text_over_the_character_limit_is_refused_when_longer_than_the_setting(team, settings):
    settings.VERBATIM_MAX_DOCUMENT_CHARS = 50
    with pytest.raises(ValidationError) as caught:
        _import(team, [_file("call.txt", CALL)])
    assert "call.txt" in caught.value.messages[0]
    assert not team.project.documents.exists()


def test_interviewer_label_maps_to_uploader_and_other_speaker_to_participant_when_given(team):
    p07 = ParticipantFactory.create(project=team.project, pseudonym="P07")
    result = _import(team, [_file("call.txt", CALL)], participant=p07)
    document = result.documents[0]
    turns = list(document.turns.order_by("index"))
    assert [(t.interviewer, t.participant) for t in turns[:2]] == [
        (team.researcher, None),
        (None, p07),
    ]
    assert document.participant == p07
    assert (result.speakers_mapped, result.speakers_unmapped) == (2, 0)


def test_member_name_maps_to_that_member_when_speaker_matches_first_name(team):
    team.coder.first_name = "Dana"
    team.coder.save()
    text = "Dana: Tell me about setup.\nBen: Slow.\nDana: Why?\nBen: The app crashed.\n"
    result = _import(team, [_file("call.txt", text)])
    turns = list(result.documents[0].turns.order_by("index"))
    assert turns[0].interviewer == team.coder
    # Without a participant, the customer stays unmapped rather than guessed.
    assert turns[1].participant is None
    assert turns[1].interviewer is None
    assert result.speakers_unmapped == 1


def test_explicit_pseudonym_creates_one_participant_when_used_in_several_files(team):
    every, per_file = speaker_maps_from_json(
        project=team.project,
        raw={"call-02.txt": {"Anna": {"pseudonym": "P11"}}, "Anna": {"pseudonym": "P10"}},
    )
    result = _import(
        team,
        [_file("call-01.txt", CALL), _file("call-02.txt", CALL), _file("call-03.txt", CALL)],
        speaker_map=every,
        file_speaker_maps=per_file,
    )
    owners = [d.participant.pseudonym if d.participant else None for d in result.documents]
    assert owners == ["P10", "P11", "P10"]
    assert team.project.participants.filter(pseudonym__in=["P10", "P11"]).count() == 2
    assert result.participants_created == 2


def test_speaker_map_refuses_participant_when_from_another_project(team):
    foreign = ParticipantFactory.create(project=team.other_project)
    with pytest.raises(ValidationError) as caught:
        speaker_maps_from_json(project=team.project, raw={"Anna": {"participant": foreign.pk}})
    assert "speakers" in caught.value.message_dict


def test_survey_rows_become_documents_of_their_respondents_when_file_is_a_survey(team, monkeypatch):
    existing = ParticipantFactory.create(
        project=team.project, pseudonym="R2", customer_ref="", attributes={"plan": "prepaid"}
    )
    rows = [
        ParsedDocument(
            title="r",
            text="Activation was quick.",
            kind=Document.Kind.SURVEY,
            respondent="R1",
            customer_ref="CUST-1",
            attributes={"plan": "contract", "nps": 9},
        ),
        ParsedDocument(
            title="r",
            text="Nobody told me about the fee.",
            kind=Document.Kind.SURVEY,
            respondent="R2",
            customer_ref="CUST-2",
            attributes={"nps": 3},
        ),
    ]
    monkeypatch.setattr(imports, "_parse", lambda file, options: rows)
    result = _import(team, [UploadedFileLike(name="wave1.csv", data=b"x")])
    assert [d.title for d in result.documents] == ["wave1 — R1", "wave1 — R2"]
    assert {d.kind for d in result.documents} == {Document.Kind.SURVEY}
    r1 = team.project.participants.get(pseudonym="R1")
    assert (r1.customer_ref, r1.attributes) == ("CUST-1", {"plan": "contract", "nps": 9})
    existing.refresh_from_db()
    assert existing.customer_ref == "CUST-2"
    assert existing.attributes == {"plan": "prepaid", "nps": 3}
    assert [d.participant for d in result.documents] == [r1, existing]
