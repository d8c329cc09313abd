"""Page routes. Project pages live under /p/<slug>/ so the slug is always the access check's key."""

from django.urls import URLPattern, path

from frontend import views

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
