#!/usr/bin/env bash
# Herald's whole test suite, on SQLite and PostgreSQL, with the real client packages.
# Installs what the tests need and this machine lacks; safe to run again.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -E 'test(api_)'   # extra arguments go to cargo nextest
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n== %s\n' "$*"; }

step "PostgreSQL on 127.0.0.1:5432 (database test, user postgres)"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    sleep 2
  fi
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is required and not reachable on 127.0.0.1:5432" >&2; exit 1; }
export HERALD_TEST_DATABASE_URL=${HERALD_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}

step "Python compatibility clients (target/compat-venv)"
venv=$root/target/compat-venv
req=$root/tests/compat/requirements.txt
if [ ! -f "$venv/.installed" ] || ! cmp -s "$req" "$venv/.installed"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$venv/.installed"
fi

step "Browser test packages (tests/browser: playwright-core, axe-core)"
if [ ! -f tests/browser/node_modules/.package-lock.json ] || ! cmp -s tests/browser/package-lock.json tests/browser/node_modules/.herald-lock; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.herald-lock)
fi
step "JavaScript compatibility clients (tests/compat: statuspage.io)"
if [ ! -f tests/compat/node_modules/.package-lock.json ] || ! cmp -s tests/compat/package-lock.json tests/compat/node_modules/.herald-lock; then
  (cd tests/compat && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.herald-lock)
fi
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "Chromium is required at /usr/bin/chromium (apt-get install chromium)" >&2; exit 1; }
export HERALD_ARTIFACTS=${HERALD_ARTIFACTS:-$root/artifacts}

step "Rust tests (unit and integration, both backends)"
export INSTA_UPDATE=no
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  echo "cargo-nextest not found; using cargo test"
  cargo test --workspace --no-fail-fast "$@"
fi
