#!/usr/bin/env bash
# Backup and restore throughput for a SQLite database of about SIZE_MB (default 1024): a
# herald schema filled with audit-log rows (1 KiB each, like a busy page's history), then
# `herald backup --to` and `herald restore --from` with a herald serving on it, timed.
#
#   bench/backup.sh [SIZE_MB] [HERALD_BINARY]
#
# Default binary: target/quick-release/herald (cargo build --profile quick-release).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size_mb=${1:-1024}
bin=${2:-$root/target/quick-release/herald}
work=$(mktemp -d /tmp/herald-backup-bench.XXXXXX)
trap 'kill $serve_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
serve_pid=''
db=$work/herald.db
export HERALD_CONFIG=/nonexistent/herald.toml RUST_LOG=warn

"$bin" --database-url "sqlite://$db" migrate >/dev/null
python3 - "$db" "$size_mb" <<'PY'
import sqlite3, sys, os
db, size_mb = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=WAL")
body = "x" * 900
rows = size_mb * 1024
batch = 10000
for start in range(0, rows, batch):
    c.executemany(
        "INSERT INTO audit_log (at, page_id, actor_type, actor_id, action, target_type, target_id, changes) "
        "VALUES (?, NULL, 'cli', 'bench', 'bench.fill', 'page', ?, ?)",
        ((i, str(i), '{"note": "%s"}' % body) for i in range(start, min(start + batch, rows))))
    c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.close()
print(f"database: {os.path.getsize(db) / 1e6:.0f} MB", flush=True)
PY

"$bin" --database-url "sqlite://$db" serve --listen 127.0.0.1:0 --ready-file "$work/addr" >"$work/serve.log" 2>&1 &
serve_pid=$!
until [ -s "$work/addr" ]; do sleep 0.1; done
echo "backup (herald serving on it):"
"$bin" --database-url "sqlite://$db" backup --to "$work/herald.backup"
kill -TERM "$serve_pid"; wait "$serve_pid" || true; serve_pid=''
echo "restore (into an empty file):"
"$bin" --database-url "sqlite://$work/restored.db" restore --from "$work/herald.backup"
