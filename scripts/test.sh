#!/usr/bin/env bash
# Herald's whole test suite, on SQLite and PostgreSQL, with the real client packages and
# headless Chromium. On a fresh Debian machine it installs what it needs (with apt, as root
# or through sudo): the PostgreSQL server (when nothing answers on 127.0.0.1:5432; it then
# starts a cluster, trusts loopback connections and creates the `test` database), Chromium,
# Node.js and npm, Python 3 with venv, libfuse 3, openssl, Prometheus and Alertmanager,
# pg_dump, HAProxy and socat. Everything present is left alone: run it again and it goes
# straight to the tests.
#
#   scripts/test.sh                    # everything
#   scripts/test.sh -E 'test(api_)'    # extra arguments go to cargo nextest
#
# Environment: HERALD_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test;
# when set, this script leaves PostgreSQL to you), CHROMIUM (default /usr/bin/chromium).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

step() { printf '\n== %s\n' "$*"; }
die() { echo "scripts/test.sh: $*" >&2; exit 1; }

# --- installing from Debian ---------------------------------------------------------------

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

apt_updated=
apt_install() {  # apt_install PACKAGE...
  command -v apt-get >/dev/null 2>&1 || die "missing $*, and no apt-get to install it: install it yourself"
  echo "installing $* (apt)"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need() {  # need COMMAND PACKAGE...: installs the packages when COMMAND is missing
  command -v "$1" >/dev/null 2>&1 || apt_install "${@:2}"
}

has_venv() { python3 -c 'import venv, ensurepip' 2>/dev/null; }
has_libfuse3() { ldconfig -p 2>/dev/null | grep -q 'libfuse3\.so\.3 '; }
chromium_path() { echo "${CHROMIUM:-/usr/bin/chromium}"; }

# --- PostgreSQL -----------------------------------------------------------------------------

pg_answers() {  # something accepts TCP connections on 127.0.0.1:5432
  (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
}

pg_newest() {  # the newest installed server version, e.g. 15
  find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -1
}

pg_cluster_on_5432() {  # "VERSION NAME" of the cluster configured for port 5432, if any
  pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1, $2; exit }'
}

# Trust connections from 127.0.0.1 and ::1 (tests only: never on a shared server).
pg_trust_loopback() {  # pg_trust_loopback VERSION NAME
  local hba=/etc/postgresql/$1/$2/pg_hba.conf line
  for line in "host all all 127.0.0.1/32 trust" "host all all ::1/128 trust"; do
    as_root grep -qxF "$line" "$hba" || as_root sed -i "1i $line" "$hba"
  done
}

ensure_postgres() {
  if ! pg_answers; then
    step "PostgreSQL: nothing answers on 127.0.0.1:5432; starting a local server"
    [ -n "$(pg_newest)" ] || apt_install postgresql
    command -v pg_lsclusters >/dev/null 2>&1 || apt_install postgresql-common
    local cluster
    cluster=$(pg_cluster_on_5432)
    if [ -z "$cluster" ]; then
      as_root pg_createcluster --port 5432 "$(pg_newest)" main >/dev/null
      cluster=$(pg_cluster_on_5432)
    fi
    [ -n "$cluster" ] || die "could not create a PostgreSQL cluster on port 5432"
    # shellcheck disable=SC2086 # "VERSION NAME" is two arguments
    pg_trust_loopback $cluster
    # shellcheck disable=SC2086
    as_root pg_ctlcluster --skip-systemctl-redirect $cluster stop >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    as_root pg_ctlcluster --skip-systemctl-redirect $cluster start
    for _ in $(seq 60); do pg_answers && break; sleep 0.5; done
    pg_answers || die "PostgreSQL did not come up on 127.0.0.1:5432"
  fi
  need psql postgresql-client
  local has_test
  # -w: never prompt. A server that wants a password is not this script's to configure.
  has_test=$(PGCONNECT_TIMEOUT=10 psql -w -h 127.0.0.1 -U postgres -d postgres -tAc \
    "SELECT count(*) FROM pg_database WHERE datname = 'test'") \
    || die "PostgreSQL on 127.0.0.1:5432 does not let user postgres in without a password; point HERALD_TEST_DATABASE_URL at a database the tests may use"
  if [ "$has_test" != 1 ]; then
    echo "creating database test"
    psql -w -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test"
  fi
}

# --- the steps ------------------------------------------------------------------------------

main() {
  cd "$root"
  step "System packages"
  need python3 python3
  has_venv || apt_install python3-venv
  need node nodejs
  need npm npm
  need openssl openssl
  # The metrics tests start a real Prometheus (issue 13).
  need prometheus prometheus
  # Backups on PostgreSQL run pg_dump and pg_restore (deploy_backup tests); the rollback
  # drill (scripts/rollback-drill.sh, after the tests) runs a real HAProxy.
  need pg_dump postgresql-client
  need haproxy haproxy
  need socat socat
  # The automation tests run a real Alertmanager (a single one and a two-node cluster).
  need prometheus-alertmanager prometheus-alertmanager
  [ -x "$(chromium_path)" ] || apt_install chromium
  [ -x "$(chromium_path)" ] || die "Chromium is not at $(chromium_path) (set CHROMIUM)"
  # The power-loss test's FUSE file system (tests/powerloss/lossyfs.py) loads libfuse 3.
  has_libfuse3 || apt_install libfuse3-3

  if [ -z "${HERALD_TEST_DATABASE_URL:-}" ]; then
    step "PostgreSQL on 127.0.0.1:5432 (database test, user postgres)"
    ensure_postgres
    export HERALD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
  fi

  step "Python compatibility clients (target/compat-venv)"
  local venv=$root/target/compat-venv req=$root/tests/compat/requirements.txt
  if [ ! -f "$venv/.installed" ] || ! cmp -s "$req" "$venv/.installed"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.installed"
  fi

  local dir
  for dir in tests/browser tests/compat; do
    step "npm packages ($dir)"
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.herald-lock"; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.herald-lock)
    fi
  done
  export HERALD_ARTIFACTS=${HERALD_ARTIFACTS:-$root/artifacts}

  step "Rust tests (unit and integration, both backends)"
  export INSTA_UPDATE=no
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast "$@"
  else
    echo "cargo-nextest not found; using cargo test"
    cargo test --workspace --no-fail-fast "$@"
  fi
}

# `source scripts/test.sh` defines the functions without running anything (to try them).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
