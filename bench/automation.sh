#!/usr/bin/env bash
# Automation (issue 15): Alertmanager payloads into `herald demo` (SQLite): alert -> component
# changed latency, one group of 10,000 alerts, sustained alerts/s from 3 senders.
#
#   bench/automation.sh [N]      (PROFILE=quick-release by default; PROFILE=release for LTO)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
profile=${PROFILE:-quick-release}
export HERALD_API_REQUESTS_PER_MINUTE=1000000
bin=target/$profile/herald
[ -x "$bin" ] || cargo build --profile "$profile" -p herald
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -fsS -o /dev/null "$1/livez" 2>/dev/null && return; sleep 0.1; done; echo "no server at $1" >&2; exit 1; }

p=$(freeport)
RUST_LOG=warn $bin demo --listen "127.0.0.1:$p" --file "$dir/demo.db" >"$dir/demo.out" 2>"$dir/demo.err" &
pids+=($!)
wait_up "http://127.0.0.1:$p"
key=$(awk '/API key:/ {print $3}' "$dir/demo.out")
page=$(sed -n 's/.*(page id \(.*\))/\1/p' "$dir/demo.out")
echo "herald $profile, SQLite demo page"
python3 bench/automation.py "http://127.0.0.1:$p" "$key" "$page" "$n"
