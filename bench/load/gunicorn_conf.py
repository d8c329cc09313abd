"""gunicorn settings for the load test: import the URL tree once, in the master, before forking.

Without this each worker imports every view module (scikit-learn, pandas, openpyxl...) on its
first request, which on a busy 2-core machine takes longer than gunicorn's worker timeout and
would be measured as the first requests' latency.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018 (the import is the point)

preload_app = True
timeout = 120
