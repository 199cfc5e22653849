#!/usr/bin/env bash
# Latency figures of the reliability tests, judged against their targets.
#
# The integration tests prove behaviour (a hung endpoint delays no healthy one; a hung
# database answers 503 rather than hanging; another node sees a write) by causal signals,
# never by a stopwatch: on a shared 2-core machine running four tests at once a slow moment
# is not a bug. They print what they measured as `figure <name> <seconds>` lines; this runs
# them one at a time on a quiet machine and compares the worst value of each figure with
# its target (DESIGN.md "Guarantees to measure", RELIABILITY.md rows 5, 23 and 24).
#
#   bench/reliability.sh [ROUNDS]      (PostgreSQL on 127.0.0.1:5432, as for the tests)
#
# Exits non-zero if a figure misses its target. Uses the test profile (what the suite runs).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}
filter='test(/public_nodes::other_nodes|notify_egress::notify_hostile|notify_reliability::notify_a_hung|notify_reliability::notify_a_backlog|worker_queue::shutdown|db_outage::outage/)'
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$rounds"); do
  cargo nextest run -p herald --test it --test-threads 1 --no-capture -E "$filter" 2>&1 \
    | grep '^figure ' >>"$out" || true
done
python3 - "$out" <<'EOF'
import collections, re, sys

# figure name (regex) -> (target in seconds, where the target comes from)
TARGETS = [
    (r"other_node_visible_by_notify", 0.100, "DESIGN: publish -> visible on other nodes through NOTIFY"),
    (r"other_node_visible_by_poll", 1.5, "DESIGN: ... with NOTIFY lost (version poll)"),
    (r"hostile_(slowloris|never_answers)_ended", 3.5, "RELIABILITY 5: ends within the 2 s timeout (+1.5 s slack)"),
    (r"hostile_beside_slowest_healthy", 2.0, "RELIABILITY 5: other deliveries unaffected"),
    (r"hostile_real_run_healthy_done", 5.0, "RELIABILITY 5: healthy webhooks beside hostile receivers"),
    (r"hostile_real_run_all_failed", 4.5, "RELIABILITY 5: every hostile attempt recorded failed"),
    (r"(hung_endpoint|hung_host_backlog)_healthy_p99", 5.0, "RELIABILITY 23: p99 to healthy endpoints"),
    (r"worker_shutdown", 5.0, "a stop hands running jobs back promptly"),
    (r"outage_\w+_write_answered", 1.0, "RELIABILITY 24: API answers 503 quickly (< 1 s)"),
]

worst = collections.defaultdict(list)
for line in open(sys.argv[1]):
    _, name, value = line.split()
    worst[name].append(float(value))
if not worst:
    sys.exit("no figures: did the tests run?")
missed = 0
print(f"{'figure':44} {'n':>3} {'worst s':>9} {'target s':>9}  verdict")
for name in sorted(worst):
    target = next(((t, why) for pat, t, why in TARGETS if re.fullmatch(pat, name)), None)
    vals = worst[name]
    if target is None:
        print(f"{name:44} {len(vals):>3} {max(vals):>9.4f} {'-':>9}  (no target)")
        continue
    ok = max(vals) <= target[0]
    missed += not ok
    print(f"{name:44} {len(vals):>3} {max(vals):>9.4f} {target[0]:>9.3f}  {'ok' if ok else 'MISSED'}  {target[1]}")
sys.exit(1 if missed else 0)
EOF
