"""Page areas, one module each (sessions, imports, documents and search, PII review).

Each module exposes `urlpatterns`; `frontend/urls.py` includes them all under the project prefix.
"""
