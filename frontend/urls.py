"""Page routes. Project pages live under /p/<slug>/ so the slug is always the access check's key."""

from django.urls import URLPattern, path

from frontend import views
from frontend.areas import agreement as agreement_area
from frontend.areas import (
    codebook,
    codebook_patterns,
    cooccurrence,
    dashboard,
    documents,
    exchange,
    imports,
    pii,
    privacy,
    segmentations,
    sessions,
)
from frontend.areas import hypotheses as hypotheses_area
from frontend.areas import suggestions as suggestions_area
from frontend.areas import workspace as workspace_area

app_name = "frontend"

urlpatterns: list[URLPattern] = [
    path("", views.project_list_page, name="project-list"),
    path("p/<slug:slug>/", views.project_home, name="project-home"),
    path("p/<slug:slug>/members/", views.project_members, name="project-members"),
    path(
        "p/<slug:slug>/members/<int:membership_id>/",
        views.project_member,
        name="project-member",
    ),
]

# Each area module owns its routes (all under /p/<slug>/...), so work on one area never edits this
# file. Route names stay in the "frontend" namespace.
urlpatterns += sessions.urlpatterns
urlpatterns += imports.urlpatterns
urlpatterns += documents.urlpatterns
urlpatterns += pii.urlpatterns
urlpatterns += workspace_area.urlpatterns
urlpatterns += codebook.urlpatterns
urlpatterns += codebook_patterns.urlpatterns
urlpatterns += segmentations.urlpatterns
urlpatterns += dashboard.urlpatterns
urlpatterns += hypotheses_area.urlpatterns
urlpatterns += suggestions_area.urlpatterns
urlpatterns += agreement_area.urlpatterns
urlpatterns += cooccurrence.urlpatterns
urlpatterns += exchange.urlpatterns
urlpatterns += privacy.urlpatterns
