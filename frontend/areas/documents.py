"""Pages of the documents area."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
