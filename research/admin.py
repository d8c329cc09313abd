from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from research.models import Job, Membership, Participant, Project, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(User)
class VerbatimUserAdmin(UserAdmin):
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Verbatim", {"fields": ("display_name",)}))


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "language", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (MembershipInline,)


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("pseudonym", "customer_ref", "project")
    list_filter = ("project",)
    search_fields = ("pseudonym", "customer_ref")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "project", "status", "progress", "created_at")
    list_filter = ("status", "kind")
    readonly_fields = tuple(f.name for f in Job._meta.fields)
