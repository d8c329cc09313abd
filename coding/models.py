"""The codebook, the excerpts coders apply, and memos.

An excerpt is one coder's application of one code to `[start, end)` of a document's text, in
Python `str` indices, with a copy of the quoted text so a mismatch after an edit is detectable.
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from observations.models import Document
from research.models import Project

DEFAULT_CODE_COLOR = "#4c78a8"


class Code(models.Model):
    """A label in the codebook tree; a code high in the tree that groups others is a theme."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="codes")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="children"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    inclusion_notes = models.TextField(blank=True)
    exclusion_notes = models.TextField(blank=True)
    example = models.TextField(blank=True)
    color = models.CharField(max_length=7, default=DEFAULT_CODE_COLOR)
    # Pattern rules for suggestions: keywords, phrases or spaCy Matcher token patterns.
    patterns = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_archived = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Raised by every write through the services (research/concurrency.py): an edit made from
    # an older version is refused instead of silently overwriting the newer one.
    version = models.PositiveIntegerField(default=1, db_default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["position", "name", "id"]
        constraints: ClassVar = [
            # Sibling names are unique ignoring case; roots (parent NULL) need their own index
            # because NULLs never collide in a unique index.
            models.UniqueConstraint(
                "project",
                "parent",
                Lower("name"),
                condition=Q(parent__isnull=False),
                name="code_name_unique_among_siblings",
            ),
            models.UniqueConstraint(
                "project",
                Lower("name"),
                condition=Q(parent__isnull=True),
                name="code_name_unique_among_roots",
            ),
            models.CheckConstraint(
                condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="code_color_hex"
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="code_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class Excerpt(models.Model):
    """One coder's application of one code to `[start, end)` of one document."""

    # Denormalised from document/code so every project-scoped query uses one index.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="excerpts")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="excerpts")
    code = models.ForeignKey(Code, on_delete=models.RESTRICT, related_name="excerpts")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField()
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="excerpts"
    )
    memo = models.TextField(blank=True)
    # Set when an edit of the document deleted or changed the coded words: a person must look.
    needs_review = models.BooleanField(default=False)
    review_reason = models.CharField(max_length=255, blank=True)
    # Provenance: the suggestion a coder accepted to create this excerpt (None: coded by hand).
    suggestion = models.OneToOneField(
        "Suggestion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Raised by every write through the services (research/concurrency.py).
    version = models.PositiveIntegerField(default=1, db_default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["document", "start", "end", "id"]
        indexes: ClassVar = [
            models.Index(fields=["document", "start"]),
            models.Index(fields=["project", "code"]),
            models.Index(fields=["project", "coder"]),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(start__gte=0) & Q(start__lt=F("end")), name="excerpt_range_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code_id}@{self.document_id}[{self.start}:{self.end}]"


class Memo(models.Model):
    """A written reflection, optionally about a document, code or excerpt."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memos")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="memos"
    )
    title = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.CASCADE, related_name="memos"
    )
    code = models.ForeignKey(
        Code, null=True, blank=True, on_delete=models.CASCADE, related_name="memos"
    )
    excerpt = models.ForeignKey(
        Excerpt, null=True, blank=True, on_delete=models.CASCADE, related_name="memos"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["-updated_at", "id"]

    def __str__(self) -> str:
        return self.title or self.text[:40]


class CodebookChange(models.Model):
    """One recorded change of the codebook: who, when, what, and the rows before and after.

    `before`/`after` hold `{"codes": [...], "excerpts": [...], "memos": [...]}`: complete rows of
    every code and excerpt the change touched (memos: only their links), so undo can restore the
    earlier state exactly. A row in `before` but not `after` was deleted; the reverse, created.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        RENAME = "rename", "Rename"
        UPDATE = "update", "Update"
        MOVE = "move", "Move"
        MERGE = "merge", "Merge"
        SPLIT = "split", "Split"
        ARCHIVE = "archive", "Archive"
        UNARCHIVE = "unarchive", "Unarchive"
        DELETE = "delete", "Delete"
        IMPORT = "import", "Import"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="codebook_changes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    code = models.ForeignKey(
        Code, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    summary = models.CharField(max_length=500)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["project", "-id"])]

    def __str__(self) -> str:
        return self.summary


# --- hypotheses area ---
class Hypothesis(models.Model):
    """A researcher's CX hypothesis about one theme, tested against the current data.

    Either ``kind == "segment"``: the theme is more (or less) common among the participants of
    ``segment`` than among those of the snapshot's other segments; or ``kind == "metric"``: the
    participants with the theme have higher (or lower) values of a numeric or date ``metric``, or
    (categorical metric) ``category`` is more (or less) common among them. ``latest`` is the
    newest evaluation; ``fingerprint`` and ``checked_at`` say which data it was last checked on.
    """

    class Kind(models.TextChoices):
        SEGMENT = "segment", "Segment"
        METRIC = "metric", "Metric"

    class Direction(models.TextChoices):
        MORE = "more", "More common"
        LESS = "less", "Less common"
        HIGHER = "higher", "Higher"
        LOWER = "lower", "Lower"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="hypotheses")
    statement = models.TextField()
    # SET_NULL: deleting or merging a code must not silently delete the hypotheses about it.
    code = models.ForeignKey(
        Code, null=True, blank=True, on_delete=models.SET_NULL, related_name="hypotheses"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    segmentation = models.ForeignKey(
        "research.Segmentation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hypotheses",
    )
    segment = models.CharField(max_length=255, blank=True)
    metric = models.CharField(max_length=128, blank=True)
    category = models.CharField(max_length=255, blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    latest = models.ForeignKey(
        "HypothesisEvaluation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    fingerprint = models.CharField(max_length=64, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["project", "code"])]

    def __str__(self) -> str:
        return self.statement[:60]


class HypothesisEvaluation(models.Model):
    """One evaluation of a hypothesis whose outcome or numbers differ from the one before."""

    class Outcome(models.TextChoices):
        SUPPORTED = "supported", "Supported"
        NOT_SUPPORTED = "not_supported", "Not supported"
        NOT_ENOUGH = "not_enough_evidence", "Not enough evidence"

    hypothesis = models.ForeignKey(Hypothesis, on_delete=models.CASCADE, related_name="evaluations")
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    reason = models.CharField(max_length=500)
    test = models.CharField(max_length=16)
    p_value = models.FloatField(null=True, blank=True)
    statistic = models.FloatField(null=True, blank=True)
    # Lift (segment, categorical metric) or rank-biserial correlation (numeric metric).
    effect = models.FloatField(null=True, blank=True)
    # Group sizes, counts, prevalences or medians, and their labels: see coding.hypotheses.
    numbers = models.JSONField(default=dict)
    quote_ids = models.JSONField(default=list)
    fingerprint = models.CharField(max_length=64)
    evaluated_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["-evaluated_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["hypothesis", "-evaluated_at"])]

    def __str__(self) -> str:
        return f"{self.hypothesis_id}: {self.outcome}"


class HypothesisRefresh(models.Model):
    """A queued re-evaluation of a project's hypotheses: at most one row (one task) per project.

    The row is inserted when data changes and no task is queued yet; the task deletes it before it
    starts evaluating, so a change made while it runs queues the next one.
    """

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"refresh {self.project_id}"


# --- suggestions area ---
class Suggester(models.Model):
    """One trained version of a project's learned code suggester.

    `artefact` holds `coding.suggest.learner.Learner.to_bytes()` in the database, so every worker
    can load it (never a pickle). `metrics` maps code ids (as strings, JSON keys) to the
    cross-validated `{precision, recall, f1, support}` with the code's decision `threshold`
    (`threshold_tuned`: False when it is the global setting; coding.suggest.evaluation), and
    holds `overall` and `skipped` (codes left out for too few positives).
    """

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="suggesters")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING)
    job = models.ForeignKey(
        "research.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # {"passages": n, "codes": n, "positives": n}
    trained_on = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    artefact = models.BinaryField(default=b"", blank=True)
    meta = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-version"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["project", "version"], name="suggester_version_unique"),
        ]

    def __str__(self) -> str:
        return f"suggester v{self.version} ({self.status})"


class Suggestion(models.Model):
    """A proposed application of `code` to `[start, end)` of `document`, awaiting a person.

    Made by a pattern rule (`pattern` = index into the code's patterns), by the learned model
    (`model_version`) or by "find similar". One row per document, code and span whatever the
    method, so regenerating never duplicates one and a decision is never asked twice.
    """

    class Method(models.TextChoices):
        PATTERN = "pattern", "Pattern"
        MODEL = "model", "Model"
        SIMILAR = "similar", "Similar"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="suggestions")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="suggestions")
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="suggestions")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField()
    score = models.FloatField(default=1.0)
    method = models.CharField(max_length=8, choices=Method.choices)
    model_version = models.PositiveIntegerField(null=True, blank=True)
    # Model suggestions: the code's decision threshold the model was held to (its distance from
    # the score is the call's certainty). Null for other methods.
    threshold = models.FloatField(null=True, blank=True)
    pattern = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    excerpt = models.ForeignKey(
        Excerpt, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["id"]
        indexes: ClassVar = [
            models.Index(fields=["project", "status"]),
            models.Index(fields=["project", "code"]),
            models.Index(fields=["project", "decided_at"]),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["document", "code", "start", "end"], name="suggestion_span_unique"
            ),
            models.CheckConstraint(
                condition=Q(start__gte=0) & Q(start__lt=F("end")), name="suggestion_range_valid"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0.0) & Q(score__lte=1.0), name="suggestion_score_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.code_id}@{self.document_id}[{self.start}:{self.end}]"


# --- agreement area ---
class AgreementDecision(models.Model):
    """One reconciliation of a disputed passage (coding.agreement.services).

    ``before`` holds the passage's excerpts as they were (``id, code, coder, start, end, text,
    memo``), ``after`` those left afterwards; ``version`` fingerprints ``after``, so the page can
    show what was reconciled and a passage still exactly as decided is no longer listed.
    """

    class Action(models.TextChoices):
        KEEP = "keep", "Keep one coder's"
        KEEP_BOTH = "keep_both", "Keep both"
        MERGE = "merge", "Merge"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="agreement_decisions"
    )
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    code = models.ForeignKey(Code, on_delete=models.CASCADE, related_name="+")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    action = models.CharField(max_length=16, choices=Action.choices)
    # The passage's fingerprint when decided (coding.agreement.selectors.passage_version).
    version = models.CharField(max_length=32)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField(default=list)
    after = models.JSONField(default=list)

    class Meta:
        ordering: ClassVar = ["-decided_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["project", "document", "code"])]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(start__gte=0) & Q(start__lt=F("end")),
                name="agreement_decision_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.code_id}@{self.document_id}[{self.start}:{self.end}]"
