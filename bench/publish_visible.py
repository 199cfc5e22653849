#!/usr/bin/env python3
"""Publish -> visible: post incident updates through the management API while polling
summary.json, and report p50/p99 of the time from sending the update until a poll shows it.

    bench/publish_visible.py API_BASE KEY PAGE_ID READ_BASE [N]

API_BASE is the node taking writes (http://host:port), READ_BASE the node whose public page
is polled (the same node, or another one). Standard library only.
"""
import json, sys, time, urllib.request

api, key, page, read = sys.argv[1:5]
n = int(sys.argv[5]) if len(sys.argv) > 5 else 200

def call(method, url, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": f"OAuth {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")

incident = call("POST", f"{api}/v1/pages/{page}/incidents",
                {"incident": {"name": "Publish-visible benchmark", "status": "investigating", "body": "start"}})
iid = incident["id"]
summary = f"{read}/api/v2/summary.json"
lat = []
for i in range(n):
    marker = f"bench-marker-{i}-{time.time_ns()}"
    t0 = time.perf_counter()
    call("PATCH", f"{api}/v1/pages/{page}/incidents/{iid}", {"incident": {"body": marker}})
    while True:
        with urllib.request.urlopen(summary) as r:
            if marker.encode() in r.read():
                break
        if time.perf_counter() - t0 > 5:
            raise SystemExit(f"update {i} not visible after 5 s")
        time.sleep(0.002)
    lat.append((time.perf_counter() - t0) * 1000)
call("PATCH", f"{api}/v1/pages/{page}/incidents/{iid}", {"incident": {"status": "resolved", "body": "done"}})
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]
print(f"publish->visible n={n} p50={pct(50):.1f}ms p90={pct(90):.1f}ms p99={pct(99):.1f}ms max={lat[-1]:.1f}ms")
