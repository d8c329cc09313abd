"""Projects, who belongs to them, the people studied, and background job records.

Data and database constraints only; every write goes through `research.services`.
"""

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from research.roles import Role


class User(AbstractUser):
    """A person who logs in. Project rights live in `Membership`, never on the user."""

    display_name = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class Project(models.Model):
    """One study. Every other project-scoped row points here, directly or through its parent."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=8, default="en")
    # Researcher-editable list of journey stages offered for observation sessions.
    journey_stages = models.JSONField(default=list, blank=True)
    # Days after which raw material is deleted; null keeps it until someone deletes it.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one project: at most one per user and project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["project", "user__username"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_one_per_user"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.project}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class Participant(models.Model):
    """A person observed or interviewed, known only by a pseudonym within the project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="participants")
    pseudonym = models.CharField(max_length=64)
    # The data-science team's pseudonymous customer key; blank when not a known customer.
    customer_ref = models.CharField(max_length=128, blank=True, db_index=True)
    attributes = models.JSONField(default=dict, blank=True)
    # What the participant agreed to, e.g. {"recording": true, "quotes": true, "date": "..."}.
    consent = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["pseudonym", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["project", "pseudonym"], name="participant_pseudonym_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.pseudonym


class Job(models.Model):
    """The record a long task reports into: the API's `jobs/{id}/` shows it while work runs."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    message = models.CharField(max_length=255, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Runs that started and never finished because their worker died (killed, out of memory);
    # research.jobs.job_start counts them and stops at a bound.
    interruptions = models.PositiveSmallIntegerField(default=0, db_default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(progress__gte=0.0) & Q(progress__lte=1.0), name="job_progress_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


# --- segmentation area ---
class Segmentation(models.Model):
    """One imported snapshot of the data-science team's customer segmentation.

    Snapshots are immutable once imported; re-importing under the same name makes a new version
    (1, 2, ...) per project and name, so several snapshots coexist and can be compared.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="segmentations")
    name = models.CharField(max_length=128)
    version = models.PositiveIntegerField()
    imported_at = models.DateTimeField(auto_now_add=True)
    source_name = models.CharField(max_length=255)
    customer_column = models.CharField(max_length=128)
    segment_column = models.CharField(max_length=128)
    customer_count = models.PositiveIntegerField(default=0)
    # {column: "numeric" | "categorical" | "date"}, in file order.
    metric_types = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["project", "name", "-version"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["project", "name", "version"], name="segmentation_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Segment(models.Model):
    """A named segment of one snapshot."""

    segmentation = models.ForeignKey(
        Segmentation, on_delete=models.CASCADE, related_name="segments"
    )
    name = models.CharField(max_length=255)

    class Meta:
        ordering: ClassVar = ["segmentation", "name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["segmentation", "name"], name="segment_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerSegment(models.Model):
    """One customer row of a snapshot: its segment and its metrics.

    Metrics live in one JSON object (numbers as JSON numbers, dates as ISO strings, categories as
    strings, missing values absent) rather than one column per metric: every data-science file
    has different columns, and analysis reads a whole snapshot's metrics with one query anyway.

    Neither foreign key has a database constraint or an index of its own: a snapshot holds up
    to millions of rows, and at that size two deferred foreign-key checks per row at commit and
    two more B-trees were most of a bulk import's time. Integrity is the import service's
    guarantee instead (research/services_segmentation.py, research/segmentation_pg.py): a
    snapshot's segments are created in the same transaction as its customers, from the same
    file, and every row's segment is one of its own snapshot's segments; rows are only ever
    written by those imports. Deleting a snapshot or a segment still deletes its rows: the ORM
    cascades with one bulk DELETE per relation (the one by segment scans the table, there being
    no index on it; deletes are rare, imports are not). Every read filters by snapshot first,
    which the unique (segmentation, customer_ref) index serves; nothing looks rows up by segment
    alone (sizes are counted from a snapshot's rows), so `segment` needs no index either.
    """

    segmentation = models.ForeignKey(
        Segmentation,
        on_delete=models.CASCADE,
        related_name="customers",
        db_constraint=False,
        db_index=False,
    )
    customer_ref = models.CharField(max_length=128)
    segment = models.ForeignKey(
        Segment,
        on_delete=models.CASCADE,
        related_name="customers",
        db_constraint=False,
        db_index=False,
    )
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["segmentation", "customer_ref"], name="customer_segment_unique"
            ),
        ]
        # The unique constraint's index serves lookups by (segmentation, customer_ref); a second
        # identical index only slowed the bulk COPY down.

    def __str__(self) -> str:
        return f"{self.customer_ref} in {self.segment_id}"


class ParticipantSegment(models.Model):
    """A segment set by hand for a participant missing from a snapshot."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="manual_segments"
    )
    segmentation = models.ForeignKey(
        Segmentation, on_delete=models.CASCADE, related_name="manual_assignments"
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="manual_assignments"
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["participant", "segmentation"], name="participant_segment_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id} -> {self.segment_id}"


# --- privacy area ---
class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Audit events in bulk: reading and adding only."""

    def update(self, **kwargs: Any) -> int:
        raise AuditImmutableError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One read of raw personal data (a transcript's text, the PII key) or one privacy action
    (an erasure, a retention deletion): who, when, where from, what.

    Append-only: `save()` refuses to update a stored row and `delete()` refuses outright; on
    PostgreSQL a trigger (migration 0005) refuses UPDATE and DELETE from any client too. The
    project and user are kept as plain ids (no database constraint, nothing cascades), so the
    log outlives a deleted project or user and no cascade ever needs to delete an event.
    Never store personal data here: objects are named by type and id only.
    """

    class Action(models.TextChoices):
        READ_TRANSCRIPT = "read_transcript", "Read a transcript's text"
        READ_PII_KEY = "read_pii_key", "Read the PII key"
        ERASE_PARTICIPANT = "erase_participant", "Erased a participant"
        RETENTION_DELETE = "retention_delete", "Deleted by retention"
        RETENTION_CHANGE = "retention_change", "Changed the retention period"

    project = models.ForeignKey(
        Project,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # Kept as text too, so the log still reads after the user is deleted.
    username = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # Counts only (e.g. {"documents": 3}); never names or text.
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["-at", "-id"]
        indexes: ClassVar = [models.Index(fields=["project", "-at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id} by {self.username}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AuditImmutableError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("Audit events cannot be deleted.")


class AuditImmutableError(Exception):
    """Raised on an attempt to change or delete an audit event through the ORM."""
