#!/usr/bin/env bash
# Public page throughput with system metric charts on it and without, each against nginx
# serving the same bytes (bench/page-vs-nginx.sh, ACCEPT_ENCODING="gzip, br" as
# browsers ask), on one `herald demo` (quick-release profile: no LTO) in one run. The demo
# shows two charts; "without" hides them (PATCH display=false through the v1 API, then waits
# until the page no longer has them), "with" shows them again. Alternates ROUNDS times so
# drift hits both alike. Prints one "case ..." line per measurement and the load average.
#
#   bench/page-charts.sh [SECONDS] [CONNECTIONS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}; conns=${2:-64}; rounds=${3:-2}
cargo build --profile quick-release -p herald
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn target/quick-release/herald demo --listen "127.0.0.1:$port" --file "$dir/demo.db" >"$dir/demo.out" 2>"$dir/demo.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
until grep -q "try:" "$dir/demo.out" 2>/dev/null; do sleep 0.2; done
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.2; done
key=$(awk '/API key:/ {print $3}' "$dir/demo.out")
page=$(grep -oE 'page id [a-z0-9]{12}' "$dir/demo.out" | awk '{print $3}')
api() { curl -fsS -H "Authorization: OAuth $key" -H 'Content-Type: application/json' "$@"; }
metrics=$(api "http://127.0.0.1:$port/v1/pages/$page/metrics" | python3 -c 'import json,sys; print(" ".join(m["id"] for m in json.load(sys.stdin)))')
show() { # show true|false: set every metric's display, then wait for the page to agree
  for m in $metrics; do
    api -X PATCH "http://127.0.0.1:$port/v1/pages/$page/metrics/$m" -d "{\"metric\": {\"display\": $1}}" >/dev/null
  done
  for _ in $(seq 100); do
    n=$(curl -fsS "http://127.0.0.1:$port/" | grep -c '<figure class="metric"' || true)
    { [ "$1" = true ] && [ "$n" -gt 0 ]; } || { [ "$1" = false ] && [ "$n" -eq 0 ]; } && return 0
    sleep 0.1
  done
  echo "the page did not follow display=$1" >&2; exit 1
}
source bench/lib.sh
for round in $(seq "$rounds"); do
  for charts in true false; do
    show "$charts"
    for path in / /api/v2/summary.json; do
      settled "http://127.0.0.1:$port$path"
      out=$(ACCEPT_ENCODING="gzip, br" bash bench/page-vs-nginx.sh "http://127.0.0.1:$port$path" "$secs" "$conns")
      echo "case charts=$charts path=$path round=$round $(echo "$out" | tr '\n' ' ') load=\"$(cut -d' ' -f1-3 /proc/loadavg)\" at $(date -u +%H:%M:%S)"
    done
  done
done
