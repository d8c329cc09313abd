"""Fieldwork and the codable text it produces.

A `Document` is the one thing coding points at. Its `text` is normalised once (NFC, `\\n`, no BOM)
and only changes through the service that re-anchors excerpts; offsets are Python `str` indices.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from research.models import Participant, Project


class Channel(models.TextChoices):
    STORE = "store", "Store"
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    WEB = "web", "Web"
    APP = "app", "App"
    HOME_VISIT = "home_visit", "Home visit"
    EMAIL = "email", "Email"
    OTHER = "other", "Other"


class ObservationSession(models.Model):
    """A block of ethnographic fieldwork: where, when, which channel and journey stage, who."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=200)
    site = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.OTHER)
    journey_stage = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    observer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="observed_sessions",
    )
    participants = models.ManyToManyField(Participant, blank=True, related_name="sessions")
    context = models.TextField(blank=True)
    goals = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["-started_at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="session_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class FieldNote(models.Model):
    """One timestamped entry written while observing."""

    class Kind(models.TextChoices):
        OBSERVATION = "observation", "Observation"
        QUOTE = "quote", "Verbatim quote"
        INTERPRETATION = "interpretation", "Interpretation"
        QUESTION = "question", "Question"

    session = models.ForeignKey(ObservationSession, on_delete=models.CASCADE, related_name="notes")
    observed_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OBSERVATION)
    text = models.TextField()
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="field_notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where this note stands in its session's field-notes document, `[start, end)`.
    document_start = models.PositiveIntegerField(null=True, blank=True)
    document_end = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["observed_at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(Q(document_start__isnull=True) & Q(document_end__isnull=True))
                | Q(document_start__lte=F("document_end")),
                name="note_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.observed_at:%H:%M}"


class Document(models.Model):
    """Anything codable: a transcript, a session's field notes, an open survey answer."""

    class Kind(models.TextChoices):
        TRANSCRIPT = "transcript", "Interview transcript"
        FIELD_NOTES = "field_notes", "Field notes"
        SURVEY = "survey", "Survey answer"
        OTHER = "other", "Other text"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for processing"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Processing failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TRANSCRIPT)
    text = models.TextField(blank=True)
    # Kept beside `text` so lists never load the text itself.
    char_count = models.PositiveIntegerField(default=0)
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    session = models.ForeignKey(
        ObservationSession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="documents",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Raised by every text edit; the NLP results below belong to the version they were made from.
    text_version = models.PositiveIntegerField(default=1)
    # Raised by every user edit (metadata or text) through the services, for compare-and-swap
    # (research/concurrency.py); processing status changes leave it alone.
    version = models.PositiveIntegerField(default=1, db_default=1)
    nlp_pipeline = models.CharField(max_length=100, blank=True)
    nlp_version = models.PositiveIntegerField(null=True, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["title", "id"]
        indexes: ClassVar = [models.Index(fields=["project", "kind"])]
        constraints: ClassVar = [
            # A session's notes form exactly one codable field-notes document.
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(kind="field_notes"),
                name="one_field_notes_document_per_session",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SpeakerTurn(models.Model):
    """One speaker's stretch of a document: `[start, end)` in the document's text."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    speaker = models.CharField(max_length=128, blank=True)
    # A speaker is either a participant (the customer's words) or a project member interviewing.
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="turns"
    )
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    started_at_ms = models.PositiveBigIntegerField(null=True, blank=True)
    ended_at_ms = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["document", "index"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["document", "index"], name="turn_index_unique"),
            models.CheckConstraint(
                condition=Q(start__gte=0) & Q(start__lt=F("end")), name="turn_range_valid"
            ),
            models.CheckConstraint(
                condition=~(Q(participant__isnull=False) & Q(interviewer__isnull=False)),
                name="turn_one_speaker_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.speaker or 'Unknown'} [{self.start}, {self.end})"


class Sentence(models.Model):
    """A sentence as the NLP ingest found it: the unit of suggestions and agreement."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="sentences")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    # Lower-case lemmas of the sentence's words, space-separated, for matching and search.
    lemmas = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["document", "index"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["document", "index"], name="sentence_index_unique"),
            models.CheckConstraint(
                condition=Q(start__gte=0) & Q(start__lt=F("end")), name="sentence_range_valid"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["document", "start"])]

    def __str__(self) -> str:
        return f"sentence {self.index} [{self.start}, {self.end})"


class PiiKind(models.TextChoices):
    PERSON = "person", "Person name"
    EMAIL = "email", "E-mail address"
    PHONE = "phone", "Phone number"
    CARD = "card", "Payment card number"
    KNOWN_NAME = "known_name", "Known real name"


class PiiKnownName(models.Model):
    """A real name an owner listed so that it is always found. Owners only."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pii_known_names")
    name = models.CharField(max_length=200)
    # The pseudonym to use for this person; blank lets Verbatim choose one.
    pseudonym = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["project", "name"], name="pii_known_name_unique"),
        ]

    def __str__(self) -> str:
        return f"known name #{self.pk}"


class PiiKeyEntry(models.Model):
    """The key from a real value to its pseudonym. The only place real values are kept after
    replacement; owners only; never exported."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pii_keys")
    kind = models.CharField(max_length=16, choices=PiiKind.choices)
    # Normalised real value (case-folded name, digits of a phone or card, lower-case e-mail).
    real_value = models.CharField(max_length=255)
    pseudonym = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["kind", "pseudonym"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["project", "kind", "real_value"], name="pii_key_real_value_unique"
            ),
            models.UniqueConstraint(
                fields=["project", "kind", "pseudonym"], name="pii_key_pseudonym_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.pseudonym}"


class PiiCandidate(models.Model):
    """A span that looks like personal data, waiting for an owner's decision."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        ACCEPTED = "accepted", "Replace"
        REJECTED = "rejected", "Keep as is"
        APPLIED = "applied", "Replaced"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="pii_candidates")
    text_version = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=PiiKind.choices)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    # Detector that proposed it: "ner", "regex" or "known".
    source = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    key = models.ForeignKey(
        PiiKeyEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["document", "start", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(start__gte=0) & Q(start__lt=F("end")), name="pii_candidate_range_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} [{self.start}, {self.end}) {self.status}"
