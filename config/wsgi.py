"""WSGI entry point (gunicorn config.wsgi)."""

import os
from typing import Any

from django.core.wsgi import get_wsgi_application
from werkzeug.middleware.proxy_fix import ProxyFix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def behind_proxies(app: Any, count: int) -> Any:
    """`app` with REMOTE_ADDR set to the client's address as the `count` trusted reverse proxies
    in front reported it (the `count`-th X-Forwarded-For value from the right); `app` itself when
    `count` is 0. Values left of those are the client's own claims and are never trusted.
    Only the address: HTTPS is read from X-Forwarded-Proto by Django (SECURE_PROXY_SSL_HEADER)."""
    if count <= 0:
        return app
    return ProxyFix(app, x_for=count, x_proto=0, x_host=0, x_port=0, x_prefix=0)


def _application() -> Any:
    django_app = get_wsgi_application()  # sets Django up, so settings can be read below
    from django.conf import settings

    return behind_proxies(django_app, int(settings.VERBATIM_PROXY_COUNT))


application = _application()
