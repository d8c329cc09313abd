"""Pages of the pii area."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
