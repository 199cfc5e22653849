#!/usr/bin/env bash
# Notification benchmarks (DESIGN.md: fan-out of one update to 100,000 subscribers, all
# delivery jobs enqueued within 2 s; delivery rate into a real SMTP server; 10,000 webhooks).
#
#   bench/notify.sh [EMAILS] [WEBHOOKS] [CAP_SECONDS]
#
# Builds a release herald and the Python venv with aiosmtpd (the one scripts/test.sh makes),
# then runs bench/notify.py. One JSON line per case.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x target/release/herald ] || cargo build --release -p herald
venv=target/compat-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet -r tests/compat/requirements.txt
fi
python3 bench/notify.py target/release/herald "$venv/bin/python" "${1:-100000}" "${2:-10000}" "${3:-600}"
