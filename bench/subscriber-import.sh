#!/usr/bin/env bash
# Bulk subscriber import benchmark (issue 16): a CSV of ROWS e-mail subscribers (every fifth
# following one of two components) uploaded to `POST /v1/pages/{id}/subscribers/import`
# (skip_confirmation_notification=true) of a `herald serve` on a fresh SQLite file, then on
# a fresh PostgreSQL database. Prints the upload's wall time (curl, request to answer),
# the answer's counts, the server's peak RSS (VmHWM) and the load average; then uploads the
# same file again (every row already subscribed: the skip path).
#
#   bench/subscriber-import.sh [ROWS] [PROFILE]
#
# Target: 100,000 rows in at most 10 s. PROFILE is release (default), quick-release or dev.
# PostgreSQL at $BENCH_PG_SERVER (default postgres://postgres@127.0.0.1:5432, a role that
# may CREATE DATABASE).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
profile=${2:-release}
pg_server=${BENCH_PG_SERVER:-postgres://postgres@127.0.0.1:5432}
dir=$profile; [ "$profile" = dev ] && dir=debug
bin=target/$dir/herald
cargo build --profile "$profile" -p herald
work=$(mktemp -d)
serve_pid=''
pg_db=bench_subs_$$
cleanup() {
  [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  psql "$pg_server/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

run() { # $1: backend name, $2: database URL
  export HERALD_DATABASE_URL=$2 HERALD_CONFIG=/nonexistent
  "$bin" migrate >/dev/null 2>&1
  local page key
  page=$("$bin" pages create --name "Bench $1" --slug "bench-$1" | tail -1)
  key=$("$bin" keys create --page "$page" | tail -1)
  # two components, for the `components` column
  "$bin" serve --listen 127.0.0.1:0 --ready-file "$work/addr.$1" >"$work/serve.$1.log" 2>&1 &
  serve_pid=$!
  until [ -s "$work/addr.$1" ]; do sleep 0.1; done
  local base="http://$(cat "$work/addr.$1")/v1/pages/$page"
  local c1 c2
  c1=$(curl -sf -H "Authorization: OAuth $key" -H 'Content-Type: application/json' \
    -d '{"component": {"name": "API"}}' "$base/components" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  c2=$(curl -sf -H "Authorization: OAuth $key" -H 'Content-Type: application/json' \
    -d '{"component": {"name": "Web"}}' "$base/components" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  python3 - "$rows" "$c1" "$c2" > "$work/subs.csv" <<'PY'
import sys
rows, c1, c2 = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = ["email,phone_number,phone_country,endpoint,components"]
for i in range(rows):
    comps = f"{c1} {c2}" if i % 5 == 0 else ""
    out.append(f"subscriber{i:07d}@bench.example.com,,,,{comps}")
sys.stdout.write("\n".join(out) + "\n")
PY
  local size rss_before
  size=$(stat -c %s "$work/subs.csv")
  rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$serve_pid/status")
  for pass in first again; do
    local t
    t=$(curl -s -o "$work/answer.$1.$pass" -w '%{http_code} %{time_total}' \
      -H "Authorization: OAuth $key" -H 'Content-Type: text/csv' \
      --data-binary "@$work/subs.csv" "$base/subscribers/import?skip_confirmation_notification=true")
    local counts
    counts=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print("created %d, skipped %d" % (a["created"], a["skipped"]))' "$work/answer.$1.$pass" 2>/dev/null || head -c 300 "$work/answer.$1.$pass")
    echo "$1 $pass: $rows rows ($((size / 1024)) KiB): HTTP ${t% *} in ${t#* } s; $counts; load $(cut -d' ' -f1-3 /proc/loadavg)"
  done
  echo "$1: server RSS $((rss_before / 1024)) MiB before, peak $(( $(awk '/VmHWM/ {print $2}' "/proc/$serve_pid/status") / 1024 )) MiB"
  kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=''
}

run sqlite "sqlite://$work/herald.db"
psql "$pg_server/postgres" -qc "CREATE DATABASE $pg_db" >/dev/null
run postgres "$pg_server/$pg_db"
