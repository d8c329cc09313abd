"""Pages of the sessions area."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
