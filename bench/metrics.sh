#!/usr/bin/env bash
# System metrics benchmarks (issue 13):
#   - batch push ingestion through herald's store (one transaction per batch with its
#     rollups and audit entry) beside a raw batched insert of the same rows into a bare
#     table of the same database, SQLite and PostgreSQL, ROUNDS rounds each;
#   - the re-render cost of a page with 10 metrics holding 30 days of 30 s points.
# The gap-fill times come from the tests (`figure metrics_gap_fill_*` lines of
# `cargo nextest run -E 'test(/metrics_pull/)' --no-capture`).
#
#   bench/metrics.sh [ROUNDS] [POINTS] [BATCH]
#
# Needs PostgreSQL at $BENCH_PG_SERVER (default postgres://postgres@127.0.0.1:5432, a role
# that may CREATE DATABASE). Built with the quick-release profile (no LTO).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; points=${2:-500000}; batch=${3:-10000}
cargo build --profile quick-release -p herald-bench --bin metrics-bench
mb=target/quick-release/metrics-bench
for r in $(seq 1 "$rounds"); do
  for backend in sqlite postgres; do
    "$mb" ingest --backend "$backend" --points "$points" --batch "$batch"
  done
done
"$mb" render
