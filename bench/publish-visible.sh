#!/usr/bin/env bash
# Publish -> visible, p50/p99, on release builds:
#   1. same node: `herald demo` (SQLite), updates posted to it and its summary.json polled;
#   2. PostgreSQL, two nodes: updates posted to node A, summary.json polled on node A and on
#      node B, which has LISTEN disabled (HERALD_SNAPSHOT_LISTEN=false): the version poll alone.
#
#   bench/publish-visible.sh [N]      (PostgreSQL on 127.0.0.1:5432, user postgres)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
# The benchmark posts far more than the default 60 requests per minute per key.
export HERALD_API_REQUESTS_PER_MINUTE=1000000
bin=target/release/herald
[ -x $bin ] || cargo build --release -p herald
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1/livez" 2>/dev/null && return; sleep 0.1; done; echo "no server at $1" >&2; exit 1; }

p=$(freeport)
RUST_LOG=warn $bin demo --listen "127.0.0.1:$p" --file "$dir/demo.db" >"$dir/demo.out" 2>"$dir/demo.err" &
pids+=($!); demo=$!
wait_up "http://127.0.0.1:$p"
key=$(awk '/API key:/ {print $3}' "$dir/demo.out")
page=$(sed -n 's/.*(page id \(.*\))/\1/p' "$dir/demo.out")
echo "same node (SQLite demo): $(python3 bench/publish_visible.py "http://127.0.0.1:$p" "$key" "$page" "http://127.0.0.1:$p" "$n")"
echo "demo RSS after publishing: peak $(awk '/VmHWM/ {print $2, $3}' /proc/$demo/status)"

db=herald_bench
psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
url="postgres://postgres@127.0.0.1:5432/$db"
export HERALD_DATABASE_URL=$url RUST_LOG=warn
$bin migrate
page=$($bin pages create --name "Bench" --slug bench)
key=$($bin keys create --page bench)
a=$(freeport); b=$(freeport)
HERALD_LISTEN=127.0.0.1:$a $bin serve >"$dir/a.log" 2>&1 & pids+=($!)
HERALD_LISTEN=127.0.0.1:$b HERALD_SNAPSHOT_LISTEN=false HERALD_MIGRATE=false $bin serve >"$dir/b.log" 2>&1 & pids+=($!)
wait_up "http://127.0.0.1:$a"; wait_up "http://127.0.0.1:$b"
curl -fsS -o /dev/null -X POST -H "Authorization: OAuth $key" -H 'Content-Type: application/json' \
  -d '{"component":{"name":"API"}}' "http://127.0.0.1:$a/v1/pages/$page/components"
echo "PostgreSQL, same node:                   $(python3 bench/publish_visible.py "http://127.0.0.1:$a" "$key" "$page" "http://127.0.0.1:$a" "$n")"
echo "PostgreSQL, other node, NOTIFY disabled: $(python3 bench/publish_visible.py "http://127.0.0.1:$a" "$key" "$page" "http://127.0.0.1:$b" "$n")"
