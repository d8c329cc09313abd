from django.contrib import admin

from observations.models import Document, FieldNote, ObservationSession, SpeakerTurn


class FieldNoteInline(admin.TabularInline):
    model = FieldNote
    extra = 0
    fields = ("observed_at", "kind", "text", "participant")


@admin.register(ObservationSession)
class ObservationSessionAdmin(admin.ModelAdmin):
    list_display = ("title", "project", "channel", "journey_stage", "started_at")
    list_filter = ("project", "channel")
    inlines = (FieldNoteInline,)


class SpeakerTurnInline(admin.TabularInline):
    model = SpeakerTurn
    extra = 0
    # Offsets point into the immutable text; the admin shows them but never edits them.
    readonly_fields = ("index", "speaker", "participant", "start", "end", "started_at_ms")
    can_delete = False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "project", "kind", "status", "char_count")
    list_filter = ("project", "kind", "status")
    # Text changes must go through the re-anchoring service, never the admin form.
    readonly_fields = ("text", "char_count", "status")
    inlines = (SpeakerTurnInline,)
