#!/usr/bin/env python3
"""Clients for bench/history.sh (standard library only).

    history.py writers API KEY PAGE WRITERS TOTAL
        TOTAL incident updates through the v1 API, from WRITERS threads at once (each on an
        incident of its own, opened first). Prints writes/s and the write latency p50/p99.
    history.py paths API KEY PAGE FILE
        Writes the public path of every incident of the page (paging through the v1 list)
        to FILE, one per line, for wrk's random-path script.
"""
import json, sys, threading, time, urllib.request

def call(key, method, url, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": f"OAuth {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]

def writers(api, key, page, n, total):
    base = f"{api}/v1/pages/{page}/incidents"
    ids = [call(key, "POST", base, {"incident": {"name": f"Writer {w}", "status": "investigating", "body": "start"}})["id"]
           for w in range(n)]
    each = total // n
    lat, errors, lock = [], [], threading.Lock()
    def run(w):
        mine = []
        for k in range(each):
            t0 = time.perf_counter()
            try:
                call(key, "PATCH", f"{base}/{ids[w]}", {"incident": {"body": f"writer {w} update {k}"}})
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(str(e))
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            lat.extend(mine)
    threads = [threading.Thread(target=run, args=(w,)) for w in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    for i in ids:
        call(key, "PATCH", f"{base}/{i}", {"incident": {"status": "resolved", "body": "done"}})
    print(f"writes={len(lat)} writers={n} secs={secs:.1f} writes_per_s={len(lat) / secs:.0f} "
          f"p50={pct(lat, 50):.1f}ms p99={pct(lat, 99):.1f}ms errors={len(errors)}")

def paths(api, key, page, out):
    n, found = 1, []
    while True:
        got = call(key, "GET", f"{api}/v1/pages/{page}/incidents?per_page=100&page={n}")
        if not got:
            break
        found += [i["id"] for i in got]
        n += 1
    with open(out, "w") as f:
        for i in found:
            f.write(f"/incidents/{i}\n")
    print(f"{len(found)} incident pages")

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "writers":
        writers(args[0], args[1], args[2], int(args[3]), int(args[4]))
    elif cmd == "paths":
        paths(*args[:4])
    else:
        raise SystemExit(__doc__)
