#!/usr/bin/env bash
# Public page throughput against nginx serving the same bytes (bench/page-vs-nginx.sh),
# for the cached HTML page and summary.json, with and without `Accept-Encoding: gzip`, on a
# release build of `herald demo`. Prints one "case ... ratio=" line per run and the demo's
# peak RSS (VmHWM) after all the load.
#
#   bench/public-page.sh [SECONDS] [CONNECTIONS] [RUNS]
#   PROFILE=quick-release bench/public-page.sh ...   # no LTO, builds in minutes
#
# For the gzip cases both curl and wrk send `Accept-Encoding: gzip`, so nginx serves the same
# gzip bytes herald sends.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}; conns=${2:-64}; runs=${3:-2}
profile=${PROFILE:-release}
[ -x "target/$profile/herald" ] || cargo build --profile "$profile" -p herald
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn "target/$profile/herald" demo --listen "127.0.0.1:$port" --file "$dir/demo.db" >"$dir/demo.out" 2>"$dir/demo.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.2; done
for run in $(seq "$runs"); do
  for path in / /api/v2/summary.json; do
    for enc in identity gzip; do
      ae=""; [ "$enc" = gzip ] && ae=gzip
      out=$(ACCEPT_ENCODING=$ae bash bench/page-vs-nginx.sh "http://127.0.0.1:$port$path" "$secs" "$conns")
      echo "case path=$path encoding=$enc run=$run $(echo "$out" | tr '\n' ' ')"
    done
  done
done
echo "herald demo peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status), now: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
