"""A GIN index for full-text search of document text, on PostgreSQL only.

The index expression is built by Django from the same `SearchVector("text", config="english")`
that `observations.selectors.document_search` filters on, so PostgreSQL can use it. It is not in
`Document.Meta.indexes` because SQLite cannot build it; the operation checks the database vendor
instead, so SQLite migrates cleanly and `makemigrations --check` sees no model change.
"""

from typing import Any

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX_NAME = "document_text_search_gin"


def _index() -> GinIndex:
    return GinIndex(SearchVector("text", config="english"), name=INDEX_NAME)


def add_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("observations", "Document"), _index())


def remove_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("observations", "Document"), _index())


class Migration(migrations.Migration):
    dependencies = [
        ("observations", "0003_capture"),
    ]

    operations = [
        migrations.RunPython(add_index, remove_index, elidable=False),
    ]
