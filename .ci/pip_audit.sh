#!/usr/bin/env bash
# Audit requirements.txt for known vulnerabilities with pip-audit (pinned in requirements.txt).
#
# Fails, never passes silently, when the audit could not be done: pip-audit reports a package the
# vulnerability service does not know as "skipped" and exits 0, so first a canary (a Django release
# with published advisories) must come back vulnerable; then the real audit runs with --strict, so
# any package that could not be audited fails the step too.
# Settings (environment): PIP_AUDIT_SERVICE (pypi, the default, or osv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AUDIT=(.venv/bin/pip-audit --progress-spinner off --vulnerability-service "${PIP_AUDIT_SERVICE:-pypi}"
    --no-deps --disable-pip --timeout 30)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/verbatim-audit.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# requirements.txt is a full pin list (pip freeze), so no resolution is needed: --no-deps.
echo "Django==3.2.0" >"$WORK/canary.txt"
set +e
"${AUDIT[@]}" -r "$WORK/canary.txt" >"$WORK/canary.out" 2>&1
canary_rc=$?
set -e
if [ "$canary_rc" -eq 0 ] || ! grep -qi "PYSEC-\|GHSA-\|CVE-" "$WORK/canary.out"; then
    cat "$WORK/canary.out" >&2
    echo "pip-audit could NOT audit: the vulnerability service (${PIP_AUDIT_SERVICE:-pypi}) gave" \
        "no advisories for Django 3.2.0, which has many, so it is unreachable or not answering" \
        "(a PyPI mirror without the JSON API answers 404: 'Dependency not found on PyPI')." \
        "requirements.txt was NOT checked for vulnerabilities." >&2
    exit 2
fi
echo "vulnerability service answers (the canary Django 3.2.0 is reported vulnerable)"
"${AUDIT[@]}" --strict -r requirements.txt
