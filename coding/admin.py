from django.contrib import admin

from coding.models import Code, Excerpt, Memo, Suggester, Suggestion


@admin.register(Code)
class CodeAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "project", "color", "is_archived")
    list_filter = ("project", "is_archived")
    search_fields = ("name",)


@admin.register(Excerpt)
class ExcerptAdmin(admin.ModelAdmin):
    list_display = ("id", "code", "document", "start", "end", "coder")
    list_filter = ("project",)
    # Offsets and quote are checked against the document by the service; read-only here.
    readonly_fields = ("project", "document", "start", "end", "text")


@admin.register(Memo)
class MemoAdmin(admin.ModelAdmin):
    list_display = ("__str__", "author", "project", "updated_at")
    list_filter = ("project",)


@admin.register(Suggester)
class SuggesterAdmin(admin.ModelAdmin):
    list_display = ("project", "version", "status", "created_at")
    list_filter = ("project", "status")
    # The artefact is bytes only the learner reads; metrics come from training.
    exclude = ("artefact",)
    readonly_fields = ("project", "version", "job", "trained_on", "metrics", "meta")


@admin.register(Suggestion)
class SuggestionAdmin(admin.ModelAdmin):
    list_display = ("id", "code", "document", "method", "score", "status", "decided_by")
    list_filter = ("project", "method", "status")
    # Decisions go through the service (accepting creates the excerpt); read-only here.
    readonly_fields = ("project", "document", "code", "start", "end", "text", "excerpt")
