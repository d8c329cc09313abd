#!/usr/bin/env bash
# Production smoke test: the README's production path, run for real on this machine.
#
# With production settings (DJANGO_DEBUG off, a random secret key, HTTPS redirect and HSTS on) it
# migrates a fresh PostgreSQL database, runs collectstatic, starts gunicorn (config.wsgi, static
# files by whitenoise) and a Celery worker on Redis, checks the login page's security headers and
# a static file's cache headers, runs one real task (a document posted through the API, processed
# by the worker), then stops both and drops the database. Bounded: every wait has a limit.
# Settings (environment): CI_PG_HOST/CI_PG_PORT (127.0.0.1:5432, user postgres, trust auth),
# SMOKE_REDIS_URL (redis://127.0.0.1:6379/13), SMOKE_PORT (8765).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_HOST="${CI_PG_HOST:-127.0.0.1}"
PG_PORT="${CI_PG_PORT:-5432}"
DB="verbatim_smoke_$$"
PORT="${SMOKE_PORT:-8765}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/verbatim-smoke.XXXXXX")"
BIN=.venv/bin
PIDS=()

psql_smoke() {
    psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -X -q "$@"
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        timeout 20 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done
    psql_smoke -c "drop database if exists \"$DB\" with (force)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

export DJANGO_DEBUG=0
DJANGO_SECRET_KEY="$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export DJANGO_SECRET_KEY
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost
export DATABASE_URL="postgres://postgres@${PG_HOST}:${PG_PORT}/${DB}"
export CELERY_BROKER_URL="${SMOKE_REDIS_URL:-redis://127.0.0.1:6379/13}"
export DJANGO_STATIC_ROOT="$WORK/static"
export MEDIA_ROOT="$WORK/media"
unset DJANGO_SECURE_SSL_REDIRECT DJANGO_HSTS_SECONDS DJANGO_SECURE_COOKIES

psql_smoke -c "create database \"$DB\""
"$BIN/python" manage.py check --deploy --fail-level WARNING
"$BIN/python" manage.py migrate --no-input -v 0
# Compressing ~40 MB of static files (brotli and gzip) takes minutes on a busy 2-core machine.
timeout 900 "$BIN/python" manage.py collectstatic --no-input -v 0
TOKEN="$("$BIN/python" manage.py shell -v 0 -c '
from rest_framework.authtoken.models import Token
from research.models import User
from research.services import project_create
user = User.objects.create_user(username="smoke", password=None)
project_create(name="Smoke", slug="smoke", creator=user)
print(Token.objects.create(user=user).key)
' | tail -n 1)"

"$BIN/gunicorn" config.wsgi --bind "127.0.0.1:$PORT" --workers 2 --timeout 30 \
    >"$WORK/gunicorn.log" 2>&1 &
PIDS+=($!)
"$BIN/celery" -A config worker --pool solo --concurrency 1 -n "smoke-$$@%h" --loglevel WARNING \
    >"$WORK/celery.log" 2>&1 &
PIDS+=($!)

waited=0
until curl -fsS -o /dev/null -H 'X-Forwarded-Proto: https' "http://127.0.0.1:$PORT/accounts/login/"; do
    if [ "$waited" -ge 30 ] || ! kill -0 "${PIDS[0]}" 2>/dev/null; then
        echo "gunicorn did not answer within 30s" >&2
        cat "$WORK/gunicorn.log" >&2
        exit 1
    fi
    sleep 1
    waited=$((waited + 1))
done

if ! timeout 120 "$BIN/python" .ci/production_smoke.py "http://127.0.0.1:$PORT" "$TOKEN" smoke; then
    echo "--- gunicorn log" >&2; tail -n 40 "$WORK/gunicorn.log" >&2
    echo "--- celery log" >&2; tail -n 40 "$WORK/celery.log" >&2
    exit 1
fi
