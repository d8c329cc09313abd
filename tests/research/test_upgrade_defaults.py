"""Columns added to existing tables carry a database default, so the release still running during
an upgrade (between `migrate` and the restart of gunicorn and the workers) can go on inserting
rows: its INSERT does not name the new column, and a NOT NULL column with no database default
would refuse every such row (seen by hand: every upload answered 500 until the restart)."""

from typing import Any

import pytest
from django.db import models

from coding.models import Code, Excerpt
from observations.models import Document
from research.models import Job
from tests.conftest import Team
from tests.factories import CodeFactory, DocumentFactory, ExcerptFactory

pytestmark = pytest.mark.django_db


def _insert_without(obj: models.Model, column: str) -> Any:
    """INSERT `obj` as code that predates `column` would: every other column, not that one."""
    model = type(obj)
    fields = [  # an id the database assigns is left to it, a UUID the model makes is sent
        f
        for f in model._meta.local_concrete_fields
        if f.name != column and not (f.primary_key and getattr(f, "db_returning", False))
    ]
    rows = model._base_manager._insert(  # type: ignore[attr-defined]
        [obj], fields=fields, returning_fields=[model._meta.pk]
    )
    pk = obj.pk if obj.pk is not None else rows[0][0]
    return model._base_manager.values_list(column, flat=True).get(pk=pk)


def test_job_row_gets_zero_interruptions_when_old_code_leaves_the_column_out(team: Team):
    job = Job(kind="document_process", project=team.project, params={"document": 1})
    assert _insert_without(job, "interruptions") == 0


@pytest.mark.parametrize("model", [Code, Excerpt, Document])
def test_row_gets_version_one_when_old_code_leaves_the_column_out(
    team: Team, model: type[models.Model]
):
    document = DocumentFactory.create(project=team.project)
    code = CodeFactory.create(project=team.project)
    build = {
        Code: lambda: CodeFactory.build(project=team.project, name="Older release's code"),
        Excerpt: lambda: ExcerptFactory.build(document=document, code=code, coder=team.coder),
        Document: lambda: DocumentFactory.build(project=team.project, title="Older upload"),
    }[model]
    assert _insert_without(build(), "version") == 1
