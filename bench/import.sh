#!/usr/bin/env bash
# Import benchmark (issue 16): `herald import statuspage --rate 0 --subscribers` from a local
# Statuspage v1 source (bench/import_source.py: INCIDENTS incidents of UPDATES updates and
# SUBSCRIBERS e-mail subscribers) into a fresh SQLite database; wall time and peak RSS of
# the import process (GNU time), then the same command again (nothing to write).
#
#   bench/import.sh [INCIDENTS] [UPDATES] [SUBSCRIBERS] [PROFILE]
#
# Target: 2,000 x 5 and 100,000 subscribers in at most 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${4:-quick-release}
bin=target/$profile/herald
[ -x "$bin" ] || cargo build --profile "$profile" -p herald
dir=$(mktemp -d)
python3 bench/import_source.py "${1:-2000}" "${2:-5}" "${3:-100000}" > "$dir/port" &
src=$!
trap 'kill $src 2>/dev/null; rm -rf "$dir"' EXIT
while [ ! -s "$dir/port" ]; do sleep 0.2; done
port=$(head -1 "$dir/port")
export HERALD_DATABASE_URL="sqlite://$dir/herald.db" HERALD_CONFIG=/nonexistent HERALD_IMPORT_API_KEY=bench
"$bin" migrate
for run in first again; do
  /usr/bin/time -f "$run: wall %e s, peak RSS %M KiB" "$bin" import statuspage \
    --base-url "http://127.0.0.1:$port" --page-id benchpage00x --rate 0 --subscribers \
    2> "$dir/time.$run" > "$dir/out.$run"
  grep -E '^(incidents|incident updates|subscribers|components):' "$dir/out.$run" | sed "s/^/$run: /"
  tail -1 "$dir/time.$run"
done
