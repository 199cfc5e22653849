#!/usr/bin/env bash
# Side-by-side throughput of one herald URL against nginx serving the same bytes as a
# static file, on this machine, in one run. Prints "ratio=<herald/nginx>" last.
#
#   bench/page-vs-nginx.sh URL [SECONDS] [CONNECTIONS]
#   ACCEPT_ENCODING="gzip, br" bench/page-vs-nginx.sh URL ...   # as a browser asks
#   RUNS=3 ...   # alternations of nginx and herald (default 2); the best of each is compared
#
# This is shared/bench/page-vs-nginx.sh with its reference made to serve the page. That
# script puts the page in a `mktemp -d` directory, which is mode 0700: nginx's workers run
# as `nobody` and answered every request with a 403 of ~300 bytes, so "nginx" was the
# throughput of an error page. Here the directory is readable, and both servers are checked
# before and during the measurement: nginx must answer 200 with exactly the bytes herald
# sent, and a wrk run that saw any non-2xx/3xx answer fails the benchmark.
#
# With ACCEPT_ENCODING set, both curl and wrk send that Accept-Encoding header: nginx then
# serves the compressed bytes herald answered with, as a static file, so both send the
# same bytes per response. Both servers get the same worker count (the number of cores),
# and wrk alternates between them so drift hits both alike. Installs nginx and wrk from the
# distribution's packages when they are missing.
set -euo pipefail
url=${1:?usage: page-vs-nginx.sh URL [SECONDS] [CONNECTIONS]}
secs=${2:-8}
conns=${3:-64}
need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need nginx nginx
need wrk wrk

dir=$(mktemp -d)
chmod 755 "$dir"
trap 'kill "$(cat "$dir/nginx.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$dir"' EXIT
enc=()
[[ -n "${ACCEPT_ENCODING:-}" ]] && enc=(-H "Accept-Encoding: $ACCEPT_ENCODING")
curl -fsS "${enc[@]}" "$url" -o "$dir/page"
chmod 644 "$dir/page"
ctype=$(curl -fsS "${enc[@]}" -o /dev/null -w '%{content_type}' "$url")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/nginx.conf" <<CONF
worker_processes $(nproc);
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on; tcp_nopush on; keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    location = /page { root $dir; default_type "$ctype"; }
  }
}
CONF
nginx -c "$dir/nginx.conf"
ref="http://127.0.0.1:$port/page"
for _ in $(seq 50); do curl -sS -o /dev/null "$ref" 2>/dev/null && break; sleep 0.1; done
curl -fsS "${enc[@]}" "$ref" -o "$dir/served" || { echo "nginx does not serve the page: $(tail -1 "$dir/error.log")" >&2; exit 1; }
cmp -s "$dir/page" "$dir/served" || { echo "nginx serves other bytes than herald" >&2; exit 1; }

rps() {  # rps URL: requests per second, failing if any answer was not 2xx/3xx
  local out
  out=$(wrk -t1 -c"$conns" -d"${secs}s" "${enc[@]}" "$1")
  if grep -q 'Non-2xx' <<<"$out"; then echo "$1 answered errors under load: $out" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
h=(); n=()
for _ in $(seq "${RUNS:-2}"); do
  n+=("$(rps "$ref")")
  h+=("$(rps "$url")")
done
best() { printf '%s\n' "$@" | sort -g | tail -1; }
hb=$(best "${h[@]}"); nb=$(best "${n[@]}")
echo "bytes=$(stat -c %s "$dir/page")${ACCEPT_ENCODING:+ ($ACCEPT_ENCODING)} herald_rps=${h[*]} nginx_rps=${n[*]}"
python3 -c "print(f'ratio={$hb/$nb:.3f}')"
