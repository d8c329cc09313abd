"""`manage.py import_segmentation`: summary on success, the row report and no writes on failure."""

import pytest
from django.core.management import CommandError, call_command

from research.models import Segmentation


@pytest.mark.django_db
def test_command_imports_and_summarises_when_file_is_good(team, tmp_path, capsys):
    path = tmp_path / "seg.csv"
    path.write_bytes(b"id,segment,nps\nc1,A,9\nc2,B,3\n")
    call_command(
        "import_segmentation",
        str(path),
        project="onboarding-calls",
        name="Value",
        customer_column="id",
        segment_column="segment",
        types="nps=categorical",
    )
    out = capsys.readouterr().out
    assert "version 1: 2 customers in 2 segments" in out
    assert Segmentation.objects.get().metric_types == {"nps": "categorical"}


@pytest.mark.django_db
def test_command_fails_with_report_when_rows_are_bad(team, tmp_path):
    path = tmp_path / "seg.csv"
    path.write_bytes(b"id,segment\nc1,\n,B\n")
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_segmentation",
            str(path),
            project="onboarding-calls",
            name="Value",
            customer_column="id",
            segment_column="segment",
        )
    assert "row 2, column segment: Empty segment." in str(caught.value)
    assert "row 3, column id: Empty customer id." in str(caught.value)
    assert Segmentation.objects.count() == 0
