"""`manage.py import_documents`: a summary on success; else CommandError, nothing created."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from observations.models import Document
from tests.factories import ParticipantFactory

CALL = (
    "Interviewer: Thanks for joining. How did the first week go?\n"
    "Anna: The SIM took three days to arrive.\n"
    "Interviewer: What did you do meanwhile?\n"
    "Anna: I called support twice and nobody knew where it was.\n"
)


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_documents", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_directory_imports_its_supported_files_with_a_summary_when_all_are_good(
    team, tmp_path: Path, django_capture_on_commit_callbacks
):
    ParticipantFactory.create(project=team.project, pseudonym="P07")
    (tmp_path / "call-01.txt").write_text(CALL)
    (tmp_path / "call-02.txt").write_text(CALL)
    (tmp_path / "notes.md").write_text("ignored: not a supported type")
    with django_capture_on_commit_callbacks(execute=True):
        out, err = _run(
            "--project",
            team.project.slug,
            "--user",
            "researcher1",
            "--participant",
            "P07",
            str(tmp_path),
        )
    assert "Imported 2 document(s)" in out
    assert "8 speaker turns" in out
    assert "Speakers mapped: 4; left unmapped: 0" in out
    assert "Reading files" in err  # the progress bars
    assert "Creating documents" in err
    documents = Document.objects.filter(project=team.project)
    assert sorted(documents.values_list("title", flat=True)) == ["call-01", "call-02"]
    assert {d.participant.pseudonym for d in documents if d.participant} == {"P07"}
    assert set(documents.values_list("status", flat=True)) == {Document.Status.READY}


def test_bad_file_raises_command_error_naming_it_and_creates_nothing_when_in_batch(
    team, tmp_path: Path
):
    good, empty = tmp_path / "good.txt", tmp_path / "empty.txt"
    good.write_text(CALL)
    empty.write_bytes(b"")
    with pytest.raises(CommandError) as caught:
        _run("--project", team.project.slug, str(good), str(empty))
    assert "empty.txt" in str(caught.value)
    assert "empty" in str(caught.value)
    assert not Document.objects.exists()


def test_command_refuses_member_when_role_cannot_import(team, tmp_path: Path):
    (tmp_path / "call.txt").write_text(CALL)
    with pytest.raises(CommandError, match="may not import"):
        _run("--project", team.project.slug, "--user", "coder1", str(tmp_path / "call.txt"))
    assert not Document.objects.exists()


def test_command_names_missing_path_when_it_does_not_exist(team, tmp_path: Path):
    with pytest.raises(CommandError, match="no such file"):
        _run("--project", team.project.slug, str(tmp_path / "nope.txt"))


def test_survey_options_make_respondents_participants_when_columns_are_given(team, tmp_path: Path):
    survey = tmp_path / "wave1.csv"
    survey.write_text("id,ref,answer,plan\nR1,C-1,Too slow,prepaid\nR2,C-2,Fine,contract\n")
    out, _ = _run(
        "--project",
        team.project.slug,
        "--text-columns",
        "answer",
        "--respondent-column",
        "id",
        "--customer-ref-column",
        "ref",
        str(survey),
    )
    assert "Imported 2 document(s)" in out
    assert "participants created: 2" in out
    r2 = team.project.participants.get(pseudonym="R2")
    assert (r2.customer_ref, r2.attributes) == ("C-2", {"plan": "contract"})
