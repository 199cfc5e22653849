#!/usr/bin/env bash
# The rollback drill (issue 14): two herald nodes on one PostgreSQL behind a real HAProxy,
# under load (public page and summary.json reads, API writes, webhook subscribers on a
# loopback receiver), go from the previous release to this build one node at a time after
# migrating, pass `herald verify`, roll back one node at a time, and pass it again.
#
#   scripts/rollback-drill.sh
#
# The previous release is the newest release in CHANGELOG.md whose commit is in this
# build's history: it is checked out with `git worktree add` (no tags needed) and built
# once (debug profile), cached in $HERALD_DRILL_CACHE (default target/rollback-drill). When
# this build knows no migration that release lacks, the drill builds a scratch copy of this
# build with a throwaway expand migration, so a schema change is always rolled back over.
#
# Its last line is
#   rollback drill: from <new> to <old>: rollback_s=<X> failed_public=<N> failed_writes=<N> lost_notifications=<N>
# and it exits non-zero when any count is above 0 or the rollback took over 60 s.
#
# Needs: PostgreSQL on 127.0.0.1:5432 (or HERALD_TEST_DATABASE_URL's server; a scratch
# database is created and dropped), haproxy, socat, curl, python3 (installed with apt when
# missing, as scripts/test.sh does).
set -euo pipefail
drill_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/test.sh
source "$drill_root/scripts/test.sh" # need, apt_install, ensure_postgres (runs nothing)
root=$drill_root
cd "$root"

started=$(date +%s.%N)
log() { printf '[drill %6.1fs] %s\n' "$(echo "$(date +%s.%N) - $started" | bc)" "$*" >&2; }
die() { log "drill failed: $*"; exit 2; }
now() { date +%s.%N; }

cache=${HERALD_DRILL_CACHE:-$root/target/rollback-drill}
# The drill's own cargo target dirs (debug profile): one for the previous release and one for
# this build. They must not be shared: both are version-numbered the same between releases,
# cargo names path crates' artifacts without their directory, and the older sources'
# artifacts, built last, would look fresh to this build.
prev_build_dir=$root/target/drill-prev
build_dir=$root/target/drill
work=$(mktemp -d /tmp/herald-drill.XXXXXX)
declare -A PID=() PORT=()
haproxy_pid='' load_pid='' db_name='' scratch=''

cleanup() {
  set +e
  for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null; done
  [ -n "$load_pid" ] && touch "$work/stop" && kill "$load_pid" 2>/dev/null
  [ -n "$haproxy_pid" ] && kill "$haproxy_pid" 2>/dev/null
  wait 2>/dev/null
  if [ -n "$db_name" ]; then
    psql -w -q "$pg_admin" -c "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1
  fi
  [ -n "$scratch" ] && git -C "$root" worktree remove --force "$scratch" >/dev/null 2>&1
  if [ -n "${KEEP_DRILL_WORK:-}" ]; then log "work files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- what is needed ---------------------------------------------------------------------------
need haproxy haproxy
need socat socat
need curl curl
need bc bc
need python3 python3
if [ -z "${HERALD_TEST_DATABASE_URL:-}" ]; then
  ensure_postgres
  HERALD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
fi
pg_server=${HERALD_TEST_DATABASE_URL%%\?*}
pg_server=${pg_server%/*}
pg_admin=$pg_server/postgres

# --- the previous release ------------------------------------------------------------------
# `## VERSION — commit HASH — migrations LIST`, newest first.
old_version='' old_commit='' old_migrations=''
while IFS='|' read -r version commit migrations; do
  if ! [[ $commit =~ ^[0-9a-f]{40}$ ]]; then
    commit=$(git log -S "## $version —" --format=%H -- CHANGELOG.md | tail -1)
  fi
  if [ -n "$commit" ] && git merge-base --is-ancestor "$commit" HEAD 2>/dev/null; then
    old_version=$version old_commit=$commit old_migrations=$migrations
    break
  fi
done < <(sed -n 's/^## \([0-9][^ ]*\) — commit \([^—]*\) — migrations \(.*\)$/\1|\2|\3/p' CHANGELOG.md |
  sed 's/ *|/|/g')
[ -n "$old_commit" ] || die "no release in CHANGELOG.md is in this build's history"
log "previous release: $old_version ($old_commit), migrations $old_migrations"

# Every number in "1-7, 11".
expand_list() {
  local item
  for item in ${1//,/ }; do
    if [[ $item == *-* ]]; then seq "${item%-*}" "${item#*-}"; else echo "$item"; fi
  done
}

cargo_build() { # cargo_build SRC_DIR OUT_BINARY TARGET_DIR
  local dir=$3
  if [ ! -d "$dir/debug/deps" ] && [ -d "$root/target/debug/deps" ]; then
    # Seed the drill's target dir with the test build's compiled dependencies.
    mkdir -p "$dir/debug"
    cp -a "$root/target/debug/deps" "$root/target/debug/build" "$root/target/debug/.fingerprint" "$dir/debug/"
  fi
  (cd "$1" && CARGO_TARGET_DIR=$dir cargo build --quiet --locked --bin herald) ||
    die "building $1 failed"
  cp "$dir/debug/herald" "$2"
}

mkdir -p "$cache"
old_bin=$cache/herald-$old_commit
if [ ! -x "$old_bin" ]; then
  src=$cache/src-$old_commit
  [ -d "$src" ] || git worktree add --detach --force "$src" "$old_commit" >/dev/null
  log "building release $old_version (debug profile; cached in $cache)"
  cargo_build "$src" "$old_bin.tmp" "$prev_build_dir"
  mv "$old_bin.tmp" "$old_bin"
  git worktree remove --force "$src" >/dev/null 2>&1 || true
fi

# --- this build (plus a throwaway expand migration when it adds none) -------------------------
new_only=$(comm -13 <(expand_list "$old_migrations" | sort) \
  <(find migrations/sqlite -name '*.sql' -printf '%f\n' | sed 's/_.*//; s/^0*//' | sort))
new_bin=$work/herald-new
if [ -n "${HERALD_DRILL_NEW_BIN:-}" ]; then
  # For iterating on the drill itself: a build of this change made earlier.
  cp "$HERALD_DRILL_NEW_BIN" "$new_bin"
elif [ -n "$new_only" ]; then
  log "this build adds migrations: $(echo "$new_only" | tr '\n' ' ')"
  cargo_build "$root" "$new_bin" "$build_dir"
else
  log "this build adds no migration: building a scratch copy with a throwaway expand migration"
  rev=$(git stash create 2>/dev/null || true)
  scratch=$cache/scratch-src
  git worktree remove --force "$scratch" >/dev/null 2>&1 || rm -rf "$scratch"
  git worktree add --detach --force "$scratch" "${rev:-HEAD}" >/dev/null
  for backend in sqlite postgres; do
    printf '%s\n' '-- herald: expand' \
      '-- The rollback drill'"'"'s throwaway migration: a table and a nullable column.' \
      'CREATE TABLE drill_expand (id TEXT PRIMARY KEY, note TEXT);' \
      'ALTER TABLE pages ADD COLUMN drill_note TEXT;' >"$scratch/migrations/$backend/9999_drill_expand.sql"
  done
  perl -0pi -e 's{(pub\(crate\) const MIGRATIONS.*?\n)\];}{$1    (\n        9999,\n        "drill_expand",\n        include_str!("../../../migrations/sqlite/9999_drill_expand.sql"),\n        include_str!("../../../migrations/postgres/9999_drill_expand.sql"),\n    ),\n];}s' \
    "$scratch/crates/store/src/migrations.rs"
  grep -q 9999_drill_expand "$scratch/crates/store/src/migrations.rs" || die "could not add the throwaway migration"
  cargo_build "$scratch" "$new_bin" "$build_dir"
fi
new_name=$("$new_bin" --version | sed -n 's/^herald \([^ ]*\) (commit \(.\{12\}\).*/\1+\2/p')
log "roll forward to $new_name: $("$new_bin" --version)"
log "roll back to $old_version: $("$old_bin" --version)"

# --- the deployment -------------------------------------------------------------------------
db_name=herald_drill_$$
psql -w -q "$pg_admin" -c "CREATE DATABASE $db_name" || die "cannot create database $db_name"
db=$pg_server/$db_name
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ha_port=$(free_port)
base=http://127.0.0.1:$ha_port
export HERALD_DATABASE_URL=$db HERALD_CONFIG=/nonexistent/herald.toml RUST_LOG=warn
export HERALD_EGRESS_ALLOW=127.0.0.0/8 HERALD_API_REQUESTS_PER_MINUTE=1000000
export HERALD_PUBLIC_URL=$base HERALD_SHUTDOWN_DRAIN_MS=1000 HERALD_WORKER_STALE_MS=5000

"$old_bin" migrate >/dev/null || die "migrating with $old_version failed"
page=$("$old_bin" pages create --name "Drill" --slug drill) || die "pages create failed"
key=$("$old_bin" keys create --page "$page") || die "keys create failed"

wait_ready() { # wait_ready PORT: /readyz answers 200 within 90 s
  local deadline=$(($(date +%s) + 90))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "node on port $1 not ready: $(curl -s "http://127.0.0.1:$1/readyz")"
    sleep 0.1
  done
}

start_node() { # start_node N BINARY: on the node's port (any free one the first time)
  local n=$1 bin=$2 ready=$work/n$1.addr deadline=$(($(date +%s) + 60))
  rm -f "$ready"
  HERALD_WORKER_ID=n$n-$$-$RANDOM "$bin" serve --no-migrate --listen "127.0.0.1:${PORT[$n]:-0}" \
    --ready-file "$ready" >>"$work/n$n.log" 2>&1 &
  PID[$n]=$!
  until [ -s "$ready" ]; do
    kill -0 "${PID[$n]}" 2>/dev/null || die "node $n ($bin) exited: $(tail -5 "$work/n$n.log")"
    [ "$(date +%s)" -lt "$deadline" ] || die "node $n did not listen"
    sleep 0.05
  done
  PORT[$n]=$(sed 's/.*://' "$ready")
  wait_ready "${PORT[$n]}"
}

hap() { echo "$*" | socat stdio "unix-connect:$work/haproxy.sock"; }

server_up() { # server_up N: HAProxy's health checks pass on node N
  hap "show stat" | awk -F, -v s="n$1" '$1 == "herald" && $2 == s { print $18 }' | grep -qx UP
}

stop_node() { # stop_node N: out of rotation, then SIGTERM (drain, finish in flight)
  local n=$1
  hap "set server herald/n$n state drain" >/dev/null
  kill -TERM "${PID[$n]}"
  wait "${PID[$n]}" || true
  unset "PID[$n]"
}

replace_node() { # replace_node N BINARY
  local n=$1 deadline
  stop_node "$n"
  start_node "$n" "$2"
  hap "set server herald/n$n state ready" >/dev/null
  deadline=$(($(date +%s) + 30))
  until server_up "$n"; do
    [ "$(date +%s)" -lt "$deadline" ] || die "HAProxy does not see node $n up"
    sleep 0.05
  done
}

log "starting two nodes of $old_version and HAProxy on port $ha_port"
start_node 1 "$old_bin"
start_node 2 "$old_bin"
cat >"$work/haproxy.cfg" <<EOF
global
    stats socket $work/haproxy.sock mode 600 level admin
    maxconn 4096
defaults
    mode http
    option redispatch
    retries 3
    retry-on conn-failure empty-response
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
frontend status
    bind 127.0.0.1:$ha_port
    default_backend herald
backend herald
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 200ms fall 3 rise 1
    server n1 127.0.0.1:${PORT[1]} check
    server n2 127.0.0.1:${PORT[2]} check
EOF
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
deadline=$(($(date +%s) + 30))
until server_up 1 && server_up 2; do
  [ "$(date +%s)" -lt "$deadline" ] || die "HAProxy did not see both nodes up: $(cat "$work/haproxy.log")"
  sleep 0.1
done

# Why a node left rotation: every /readyz answer other than 200, with its body.
(
  while [ ! -e "$work/stop" ]; do
    for n in 1 2; do
      r=$(curl -s -m 2 -w ' HTTP %{http_code}' "http://127.0.0.1:${PORT[$n]}/readyz" 2>&1 || true)
      case "$r" in *" HTTP 200") ;; *) echo "$(date +%T.%N) n$n $r" >>"$work/readyz.log" ;; esac
    done
    sleep 0.1
  done
) &

# --- load ---------------------------------------------------------------------------------
python3 "$root/scripts/drill/load.py" "$base" "$page" "$key" "$work" >"$work/load.log" 2>&1 &
load_pid=$!
until [ -s "$work/hook_port" ]; do sleep 0.05; done
hook="http://127.0.0.1:$(cat "$work/hook_port")/hook"
curl -fsS -o /dev/null -X POST "$base/v1/pages/$page/subscribers" -H "Authorization: OAuth $key" \
  -H 'Content-Type: application/json' \
  -d "{\"subscriber\": {\"endpoint\": \"$hook\", \"email\": \"ops@example.com\"}}" ||
  die "cannot add the webhook subscriber"
touch "$work/go"
progress() { cat "$work/progress" 2>/dev/null || echo 0; }
load_for() { # load_for N: wait until N more writes are acknowledged
  local target=$(($(progress) + $1)) deadline=$(($(date +%s) + 120))
  until [ "$(progress)" -ge "$target" ]; do
    kill -0 "$load_pid" 2>/dev/null || die "the load generator stopped: $(cat "$work/load.log")"
    [ "$(date +%s)" -lt "$deadline" ] || die "writes stalled at $(progress)"
    sleep 0.1
  done
}
load_for 20

# --- roll forward ---------------------------------------------------------------------------
log "migrating with $new_name (expand steps; $old_version keeps running)"
"$new_bin" migrate --plan >"$work/plan.txt" || die "migrate --plan failed"
"$new_bin" migrate >"$work/migrate.txt" || die "migrate failed"
for n in 1 2; do wait_ready "${PORT[$n]}"; done
log "old nodes after the migration: $(curl -s "http://127.0.0.1:${PORT[1]}/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["schema"]["detail"])')"
for n in 1 2; do
  log "node $n: $old_version -> $new_name"
  replace_node "$n" "$new_bin"
  load_for 10
done
"$new_bin" verify --url "$base" --timeout 60s >"$work/verify1.txt" 2>&1 || die "verify after roll-forward: $(cat "$work/verify1.txt")"
log "verify: $(tail -1 "$work/verify1.txt")"
load_for 20

# --- roll back ------------------------------------------------------------------------------
rollback_started=$(now)
for n in 1 2; do
  log "node $n: $new_name -> $old_version"
  replace_node "$n" "$old_bin"
done
rollback_s=$(printf '%.1f' "$(echo "$(now) - $rollback_started" | bc)")
"$old_bin" verify --url "$base" --timeout 60s >"$work/verify2.txt" 2>&1 || die "verify after rollback: $(cat "$work/verify2.txt")"
log "verify: $(tail -1 "$work/verify2.txt")"
load_for 20

# --- results --------------------------------------------------------------------------------
touch "$work/stop"
wait "$load_pid" || die "the load generator failed: $(cat "$work/load.log")"
load_pid=''
read -r public_ok failed_public writes_ok failed_writes lost acknowledged < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["public_ok"], r["failed_public"], r["writes_ok"], r["failed_writes"], r["lost_notifications"], r["acknowledged"])
for f in r["failures"]: print("  failure:", f, file=sys.stderr)
for i in r["lost_ids"]: print("  no webhook for incident", i, file=sys.stderr)
' "$work/result.json")
log "load: $public_ok public reads, $writes_ok writes ($acknowledged incidents acknowledged)"
status=0
if [ "$failed_public" -gt 0 ] || [ "$failed_writes" -gt 0 ] || [ "$lost" -gt 0 ] ||
  [ "$(echo "$rollback_s > 60" | bc)" = 1 ]; then
  status=1
fi
echo "rollback drill: from $new_name to $old_version: rollback_s=$rollback_s failed_public=$failed_public failed_writes=$failed_writes lost_notifications=$lost"
exit $status
