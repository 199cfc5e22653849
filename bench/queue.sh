#!/usr/bin/env bash
# Job-queue benchmarks (issue 5), herald side by side with its peers in one run:
#   - SQLite: herald's runner against raw rusqlite inserts (same file pragmas);
#   - PostgreSQL: herald's runner against graphile-worker (npm, bench/graphile/) on the same
#     server, each in its own throwaway database.
# Each round alternates herald and the peer (the order flips every round); the table at
# the end (`queue-bench summarize`) gives medians and min–max over the rounds.
#
#   bench/queue.sh [ROUNDS] [IDLE_SECS] [LARGE] [PARTS]
#
#   ROUNDS     rounds of every comparison (default 3)
#   IDLE_SECS  how long the idle transaction is held on PostgreSQL (default 600; 0 skips it)
#   LARGE      the large backlog of the 10k-vs-large drain comparison (default 1000000)
#   PARTS      which parts to run, comma-separated: drain,latency,backlog,idle (default all)
#
# Environment: PER_JOB_JOBS (10000), BATCHED_JOBS (50000), LATENCY_SAMPLES (300),
# BACKLOG_FLAGS (extra `queue-bench backlog` flags, e.g. --vacuum), BENCH_PG_SERVER.
#
# Needs: cargo, Node 20+ with npm, and PostgreSQL at $BENCH_PG_SERVER (default
# postgres://postgres@127.0.0.1:5432, a role that may CREATE DATABASE). The JSON lines of
# the run are kept in bench/queue-results.jsonl (appended), the table goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; idle_secs=${2:-600}; large=${3:-1000000}; parts=${4:-drain,latency,backlog,idle}
export BENCH_PG_SERVER=${BENCH_PG_SERVER:-postgres://postgres@127.0.0.1:5432}
per_job=${PER_JOB_JOBS:-10000}; batched=${BATCHED_JOBS:-50000}; samples=${LATENCY_SAMPLES:-300}
# Comparable concurrency: 16 jobs at a time per-job; 100 (claims/local queue of 100) batched.
c_per_job=16; c_batched=100

cargo build --release -p herald-bench
qb=target/release/queue-bench
( cd bench/graphile && { [ -d node_modules/graphile-worker ] || npm ci --no-audit --no-fund; } )
gdb="$BENCH_PG_SERVER/herald_bench_graphile"
psql "$BENCH_PG_SERVER/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'herald_bench_graphile'" | grep -q 1 \
  || psql "$BENCH_PG_SERVER/postgres" -c "CREATE DATABASE herald_bench_graphile" >/dev/null
graphile() { (cd bench/graphile && node bench.js "$@"); }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { echo "+ $*" >&2; "$@" | tee -a "$out"; }
has() { [[ ",$parts," == *",$1,"* ]]; }
echo "# queue.sh rounds=$rounds idle_secs=$idle_secs large=$large parts=$parts; $(date -u +%FT%TZ); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for r in $(seq "$rounds"); do
  # Alternate who goes first.
  if (( r % 2 )); then first=herald; else first=peer; fi
  pair() { # pair HERALD-CMD... -- PEER-CMD...
    local h=() p=() seen=0
    for a in "$@"; do if [ "$a" = -- ]; then seen=1; elif (( seen )); then p+=("$a"); else h+=("$a"); fi; done
    if [ $first = herald ]; then run "${h[@]}"; run "${p[@]}"; else run "${p[@]}"; run "${h[@]}"; fi
  }
  if has drain; then
    pair $qb --round "$r" drain --backend sqlite --mode per-job --jobs "$per_job" --concurrency $c_per_job \
      -- $qb --round "$r" rusqlite --mode per-job --jobs "$per_job"
    pair $qb --round "$r" drain --backend sqlite --mode batched --jobs "$batched" --concurrency $c_batched --batch 100 --ack-batch 500 \
      -- $qb --round "$r" rusqlite --mode batched --jobs "$batched" --batch 500
    pair $qb --round "$r" drain --backend postgres --mode per-job --jobs "$per_job" --concurrency $c_per_job \
      -- graphile drain --db "$gdb" --round "$r" --jobs "$per_job" --concurrency $c_per_job
    pair $qb --round "$r" drain --backend postgres --mode batched --jobs "$batched" --concurrency $c_batched --batch 100 --ack-batch 500 \
      -- graphile drain --db "$gdb" --round "$r" --jobs "$batched" --concurrency $c_batched --batched --local-queue 100 --complete-delay 0
  fi
  if has latency; then
    run $qb --round "$r" latency --backend sqlite --samples "$samples"
    pair $qb --round "$r" latency --backend postgres --samples "$samples" \
      -- graphile latency --db "$gdb" --round "$r" --samples "$samples"
  fi
done
if has backlog; then
  for b in sqlite postgres; do
    # shellcheck disable=SC2086 # BACKLOG_FLAGS is a list of flags (e.g. --vacuum)
    run $qb backlog --backend $b --small 10000 --large "$large" --measure 10000 --rounds "$rounds" ${BACKLOG_FLAGS:-}
  done
fi
if has idle && (( idle_secs > 0 )); then
  run $qb idle-txn --secs "$idle_secs" --baseline-secs 60
fi
cat "$out" >> bench/queue-results.jsonl
$qb summarize < "$out"
