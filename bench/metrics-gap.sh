#!/usr/bin/env bash
# Gap fill at the default poll (issue 13): herald split into a web node and a worker node on
# PostgreSQL, a real Prometheus (Debian's `prometheus`) scraping a tiny loopback exporter, and
# a Prometheus metric polled every `metrics_poll_secs` (the default, 60 s, unless
# HERALD_METRICS_POLL_SECS is set). The worker tier is killed for GAP seconds (default 600),
# then started again; the script times from the restart to the last 30 s bucket of the gap
# being stored (the metric's `most_recent_data_at` through the v1 API on the web node), then
# checks through the public day.json that every bucket of the gap holds the value
# Prometheus's query_range gives for it.
# Prints "figure gap_fill_secs=..." with the load average.
#
#   bench/metrics-gap.sh [GAP_SECONDS]
#
# Needs PostgreSQL at $BENCH_PG_SERVER (default postgres://postgres@127.0.0.1:5432, a role
# that may CREATE DATABASE), `prometheus` (apt-get install prometheus). Built with the
# quick-release profile (no LTO).
set -euo pipefail
cd "$(dirname "$0")/.."
gap=${1:-600}
pg=${BENCH_PG_SERVER:-postgres://postgres@127.0.0.1:5432}
command -v prometheus >/dev/null || { apt-get update -qq && apt-get install -y -qq prometheus >/dev/null; }
cargo build --profile quick-release -p herald
herald=$PWD/target/quick-release/herald
dir=$(mktemp -d)
db=herald_gap_$$
pids=()
cleanup() {
  # Only our own children still running: a pid that died may already be someone else's.
  for p in "${pids[@]}"; do
    [ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = "$$" ] && kill "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
say() { echo "$(date -u +%H:%M:%S) $*"; }

# The exporter: herald_test_value is floor((t mod 3600) / 10), a different value every 10 s.
exp_port=$(free_port)
python3 - "$exp_port" >"$dir/exporter.log" 2>&1 <<'PY' &
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"# TYPE herald_test_value gauge\nherald_test_value %d\n" % ((time.time() % 3600) // 10)
        self.send_response(200); self.send_header("Content-Type", "text/plain"); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
pids+=($!)
prom_port=$(free_port)
cat > "$dir/prometheus.yml" <<CONF
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: herald-gap
    static_configs:
      - targets: ['127.0.0.1:$exp_port']
CONF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prom" \
  --web.listen-address="127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 &
pids+=($!)
until curl -fsS "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1; do sleep 0.2; done

psql "$pg/postgres" -qc "CREATE DATABASE $db" >/dev/null
export HERALD_DATABASE_URL="$pg/$db" HERALD_CONFIG=/nonexistent/herald.toml RUST_LOG=warn
export HERALD_EGRESS_ALLOW=127.0.0.1/32
"$herald" migrate >/dev/null
page=$("$herald" pages create --name "Gap bench" --slug gap | grep -oE '[a-z0-9]{12}' | head -1)
key=$("$herald" keys create | tail -1 | awk '{print $NF}')
web_port=$(free_port)
"$herald" serve --role web --listen "127.0.0.1:$web_port" >"$dir/web.log" 2>&1 &
web_pid=$!
pids+=("$web_pid")
until curl -fsS "http://127.0.0.1:$web_port/readyz" >/dev/null 2>&1; do sleep 0.2; done
api() { curl -fsS -H "Authorization: OAuth $key" -H 'Content-Type: application/json' "$@"; }
base="http://127.0.0.1:$web_port/v1/pages/$page"
provider=$(api -X POST "$base/metrics_providers" \
  -d "{\"metrics_provider\": {\"type\": \"Prometheus\", \"metric_base_uri\": \"http://127.0.0.1:$prom_port\"}}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
metric=$(api -X POST "$base/metrics_providers/$provider/metrics" \
  -d '{"metric": {"name": "Exporter value", "metric_identifier": "herald_test_value"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
newest() { api "$base/metrics/$metric" | python3 -c '
import json, sys, datetime
m = json.load(sys.stdin)
t = m["most_recent_data_at"]
print(int(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()) if t else 0)'; }

wport=$(free_port)
"$herald" serve --role worker --listen "127.0.0.1:$wport" >>"$dir/worker.log" 2>&1 &
wpid=$!; pids+=("$wpid")
say "worker $wpid started; waiting for its first fill of metric $metric"
until [ "$(newest)" -gt $(( $(date +%s) - 120 )) ]; do sleep 1; done
stopped=$(date +%s)
kill -KILL "$wpid"
say "worker killed at $stopped (newest bucket $(newest)); the worker tier stays down ${gap}s"
wait "$wpid" 2>/dev/null || true
until [ $(( $(date +%s) - stopped )) -ge "$gap" ]; do
  kill -0 "$web_pid" 2>/dev/null || { say "the web node died during the gap"; exit 1; }
  sleep 1
done
back_ms=$(date +%s%3N)
back=$(( back_ms / 1000 ))
"$herald" serve --role worker --listen "127.0.0.1:$wport" >>"$dir/worker.log" 2>&1 &
wpid=$!; pids+=("$wpid")
last=$(( back - back % 30 - 30 ))
say "worker $wpid started at $back; waiting for bucket $last (the last whole bucket of the gap)"
until [ "$(newest)" -ge "$last" ]; do
  sleep 0.2
  [ $(( $(date +%s) - back )) -lt 600 ] || { say "not filled in 600 s"; tail -20 "$dir/worker.log"; exit 1; }
done
took_ms=$(( $(date +%s%3N) - back_ms ))
load=$(cut -d' ' -f1-3 /proc/loadavg)
# Every bucket of the gap holds the value Prometheus's query_range gives for it (through the
# public day.json, which the web node re-renders when the data arrives).
first=$(( stopped - stopped % 30 + 30 ))
curl -fsS "http://127.0.0.1:$prom_port/api/v1/query_range?query=herald_test_value&start=$first&end=$last&step=30" > "$dir/prom.json"
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$web_port/p/gap/metrics/$metric/day.json" > "$dir/day.json"
  check=$(python3 - "$dir/prom.json" "$dir/day.json" "$first" "$last" <<'PY'
import json, sys
prom = json.load(open(sys.argv[1]))["data"]["result"][0]["values"]
want = {int(t): float(v) for t, v in prom}
pts = {p["timestamp"]: p["value"] for p in json.load(open(sys.argv[2]))["points"]}
gap = range(int(sys.argv[3]), int(sys.argv[4]) + 30, 30)
missing = [t for t in gap if pts.get(t) is None]
wrong = [t for t in gap if pts.get(t) is not None and pts[t] != want.get(t)]
print(f"buckets={len(gap)} missing={len(missing)} unlike_query_range={len(wrong)}")
PY
)
  case $check in *missing=0\ *) break ;; esac
  sleep 0.5
done
say "gap ${stopped}..${back}: $check"
echo "figure gap_fill_secs=$(python3 -c "print($took_ms/1000)") gap=${gap}s poll=${HERALD_METRICS_POLL_SECS:-60}s load=\"$load\" at $(date -u +%H:%M) UTC"
case $check in *missing=0\ *unlike_query_range=0) ;; *) exit 1 ;; esac
