#!/usr/bin/env bash
# History scale (issue 17), on release builds: a write's cost must not grow with the page's
# history. For a page of each size it measures
#   - publish -> visible on the node that took the write (SQLite; PostgreSQL),
#   - publish -> visible on another node through NOTIFY (PostgreSQL),
#   - sustained API writes to one page from 4 concurrent writers (wrk, bench/writers.lua),
#     each on an incident of its own, and spread over 400 incidents (SQLite; PostgreSQL),
#   - RSS after 10,000 writes and after 1 million reads spread over every incident page,
#   - the full reload and render a node does at start (from herald's own debug log),
#   - page and summary.json throughput against nginx serving the same bytes.
#
#   bench/history.sh [SIZE...]     SIZE: small (the demo), 1k, 10k; default: all three
#
# Pages are built by `page-seed` (crates/bench/src/bin/page_seed.rs) through the store:
#   1k:  50 components, 1,000 incidents with 3 updates each, 90 days of status history;
#   10k: 500 components, 10,000 incidents with 3 updates each, a year of status history.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres); installs wrk and nginx if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(small 1k 10k)
export HERALD_API_REQUESTS_PER_MINUTE=100000000 RUST_LOG=${RUST_LOG:-warn}
# Herald runs with glibc's allocator set as deploy/herald.service sets it (with glibc's
# defaults the 10k page's RSS after the writes is about twice as large: bench/RESULTS.md).
# MALLOC="" to compare.
malloc=${MALLOC-MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072}
# PROFILE=quick-release (no LTO, builds in minutes) for iterating; figures recorded use release.
profile=${PROFILE:-release}
[ -x "target/$profile/herald" ] && [ -x "target/$profile/page-seed" ] || cargo build --profile "$profile" -p herald -p herald-bench
bin=$root/target/$profile/herald
need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 600); do curl -fsS -o /dev/null "$1/livez" 2>/dev/null && return; sleep 0.1; done; echo "no server at $1" >&2; exit 1; }
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
source bench/lib.sh
say() { printf '%-8s %-42s %s\n' "$size" "$1" "$2"; }

writers() {  # writers API KEY PAGE INCIDENTS: 4 wrk threads PATCHing INCIDENTS new incidents for 15 s
  local ids
  ids=$(for w in $(seq "$4"); do
    curl -fsS -X POST -H "Authorization: OAuth $2" -H 'Content-Type: application/json' \
      -d "{\"incident\":{\"name\":\"Writer $w\",\"status\":\"investigating\",\"body\":\"start\"}}" \
      "$1/v1/pages/$3/incidents" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
  done | paste -sd,)
  HERALD_KEY=$2 HERALD_PAGE=$3 HERALD_IDS=$ids HERALD_THREADS=4 wrk -t4 -c4 -d15s -s bench/writers.lua "$1" | tail -1
}

seed() {  # seed SIZE URL -> "page=.. slug=.. key=.."
  case $1 in
    1k) target/$profile/page-seed --database-url "$2" --components 50 --incidents 1000 --days 90 | tail -1 ;;
    10k) target/$profile/page-seed --database-url "$2" --components 500 --incidents 10000 --days 365 | tail -1 ;;
  esac
}

serve() {  # serve NAME URL [ENV...] -> sets $port, $pid
  port=$(freeport)
  env $malloc HERALD_DATABASE_URL="$2" HERALD_LISTEN="127.0.0.1:$port" "${@:3}" $bin serve >"$dir/$1.log" 2>&1 &
  pid=$!; pids+=($pid)
  wait_up "http://127.0.0.1:$port"
}

for size in "${sizes[@]}"; do
  # SQLite, one node.
  db="sqlite://$dir/$size.db"
  if [ "$size" = small ]; then
    port=$(freeport)
    env $malloc $bin demo --listen "127.0.0.1:$port" --file "$dir/small.db" >"$dir/demo.out" 2>"$dir/small.log" &
    pid=$!; pids+=($pid)
    wait_up "http://127.0.0.1:$port"
    key=$(awk '/API key:/ {print $3}' "$dir/demo.out")
    page=$(sed -n 's/.*(page id \(.*\))/\1/p' "$dir/demo.out")
  else
    t0=$(date +%s)
    line=$(seed "$size" "$db")
    say "seeded (SQLite)" "$(( $(date +%s) - t0 )) s: $line"
    page=$(sed 's/.*page=\([^ ]*\).*/\1/' <<<"$line"); key=$(sed 's/.*key=\([^ ]*\).*/\1/' <<<"$line")
    serve "$size-sqlite" "$db" RUST_LOG=warn,herald_web::public::publisher=debug
    started=$(sed 's/\x1b\[[0-9;]*m//g' "$dir/$size-sqlite.log" | grep -m1 'public snapshot rendered' | grep -o 'duration_ms=[0-9.]*' || true)
    say "full load + render at start (SQLite)" "${started:-n/a}; RSS $(rss $pid)"
  fi
  api="http://127.0.0.1:$port"
  say "publish->visible, same node (SQLite)" "$(python3 bench/publish_visible.py "$api" "$key" "$page" "$api" 200)"
  say "4 writers, one incident each (SQLite)" "$(writers "$api" "$key" "$page" 4)"
  say "4 writers over 400 incidents (SQLite)" "$(writers "$api" "$key" "$page" 400)"
  if [ "$size" = 10k ]; then
    python3 bench/history.py writers "$api" "$key" "$page" 4 8000 >/dev/null
    say "RSS after 10,000 writes" "$(rss $pid)"
    python3 bench/history.py paths "$api" "$key" "$page" "$dir/paths" >/dev/null
    cat > "$dir/paths.lua" <<LUA
paths = {}
for line in io.lines("$dir/paths") do paths[#paths + 1] = line end
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
LUA
    reads=0
    while [ "$reads" -lt 1000000 ]; do
      n=$(wrk -t2 -c32 -d20s -s "$dir/paths.lua" -H 'Accept-Encoding: gzip, br' "$api/" | awk '/requests in/ {print $1}')
      reads=$((reads + n))
    done
    say "RSS after $reads reads of old incident pages" "$(rss $pid)"
  fi
  for u in / /api/v2/summary.json; do
    settled "$api$u"
    r=$(ACCEPT_ENCODING="gzip, br" bash bench/page-vs-nginx.sh "$api$u" 8 64 | tail -2 | tr '\n' ' ')
    say "vs nginx (gzip, br) $u" "$r"
  done
  kill "$pid" 2>/dev/null || true

  # PostgreSQL: two nodes; writes to A, reads on A and on B (B hears of them by NOTIFY).
  [ "$size" = small ] && continue
  pg=herald_bench_history
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $pg" -c "CREATE DATABASE $pg" >/dev/null
  url="postgres://postgres@127.0.0.1:5432/$pg"
  t0=$(date +%s)
  line=$(seed "$size" "$url")
  say "seeded (PostgreSQL)" "$(( $(date +%s) - t0 )) s"
  page=$(sed 's/.*page=\([^ ]*\).*/\1/' <<<"$line"); key=$(sed 's/.*key=\([^ ]*\).*/\1/' <<<"$line")
  serve "$size-a" "$url"; a=$port; apid=$pid
  serve "$size-b" "$url" HERALD_MIGRATE=false; b=$port; bpid=$pid
  say "publish->visible, same node (PostgreSQL)" "$(python3 bench/publish_visible.py "http://127.0.0.1:$a" "$key" "$page" "http://127.0.0.1:$a" 200)"
  say "publish->visible, other node by NOTIFY" "$(python3 bench/publish_visible.py "http://127.0.0.1:$a" "$key" "$page" "http://127.0.0.1:$b" 200)"
  say "4 writers, one incident each (PostgreSQL)" "$(writers "http://127.0.0.1:$a" "$key" "$page" 4)"
  say "4 writers over 400 incidents (PostgreSQL)" "$(writers "http://127.0.0.1:$a" "$key" "$page" 400)"
  kill "$apid" "$bpid" 2>/dev/null || true
done
