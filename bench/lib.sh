# Shell functions the benchmarks share: `source bench/lib.sh`.

# settled URL: waits until herald serves URL compressed whole (its ETag ends in -brw: a page
# that kept its version for a second), so that nginx and herald send the same bytes
# throughout a comparison.
settled() {
  for _ in $(seq 100); do
    curl -fsS -o /dev/null -D - -H 'Accept-Encoding: gzip, br' "$1" | grep -qi '^etag: .*-brw"' && return 0
    sleep 0.1
  done
  echo "$1 was not settled" >&2
  exit 1
}
