"""Pages of the imports area."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
