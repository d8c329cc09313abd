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
