"""The append-only audit log. On PostgreSQL a trigger refuses UPDATE and DELETE of its rows from
any client (the model refuses them through the ORM on every database). SQLite gets no trigger:
Django's test teardown empties tables there with DELETE, while on PostgreSQL it uses TRUNCATE,
which row triggers do not see."""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION research_auditevent_refuse() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'research_auditevent is append-only: %% refused', TG_OP;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER research_auditevent_append_only
    BEFORE UPDATE OR DELETE ON research_auditevent
    FOR EACH ROW EXECUTE FUNCTION research_auditevent_refuse();
"""
DROP_FUNCTION = """
DROP TRIGGER IF EXISTS research_auditevent_append_only ON research_auditevent;
DROP FUNCTION IF EXISTS research_auditevent_refuse();
"""


def add_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REFUSE_FUNCTION)


def remove_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_FUNCTION)


class Migration(migrations.Migration):
    dependencies = [
        ("research", "0004_customer_segment_no_fk_constraints"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("username", models.CharField(blank=True, max_length=150)),
                ("at", models.DateTimeField(auto_now_add=True)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("read_transcript", "Read a transcript's text"),
                            ("read_pii_key", "Read the PII key"),
                            ("erase_participant", "Erased a participant"),
                            ("retention_delete", "Deleted by retention"),
                            ("retention_change", "Changed the retention period"),
                        ],
                        max_length=32,
                    ),
                ),
                ("object_type", models.CharField(blank=True, max_length=64)),
                ("object_id", models.CharField(blank=True, max_length=64)),
                ("ip", models.GenericIPAddressField(blank=True, null=True)),
                ("detail", models.JSONField(blank=True, default=dict)),
                (
                    "project",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="research.project",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-id"],
                "indexes": [
                    models.Index(fields=["project", "-at"], name="research_au_project_0d02c0_idx")
                ],
            },
        ),
        migrations.RunPython(add_trigger, remove_trigger, elidable=False),
    ]
