#!/usr/bin/env python3
"""Automation benchmark: Alertmanager payloads posted to an integration's hook URL.

    bench/automation.py API_BASE KEY PAGE_ID [N]

1. latency: N alternating firing/resolved payloads (one alert, a new occurrence each time,
   so each one changes the component): the hook answers after the change is committed and
   the public page re-rendered, so the request's time is herald's part plus loopback; the
   time until summary.json shows the new status is reported too.
2. one group of 10,000 alerts (ten components), new, then the same group again.
3. sustained: 3 senders for 10 s, each posting groups of 100 alerts of its own that flip
   between firing and resolved; alerts per second handled.
Standard library only.
"""
import json, sys, threading, time, urllib.request

api, key, page = sys.argv[1:4]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 200


def call(method, url, body=None, auth=True):
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"OAuth {key}"
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


comps = [c for c in call("GET", f"{api}/v1/pages/{page}/components") if not c.get("group")][:10]
hook = call("POST", f"{api}/v1/pages/{page}/integrations",
            {"integration": {"type": "alertmanager", "name": "bench", "flap_window_seconds": 0}})["webhook_url"]


def ts(s):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + "Z"


def alert(name, comp, firing, start, end=None):
    return {"status": "firing" if firing else "resolved",
            "labels": {"alertname": name, "component": comp, "severity": "critical"},
            "annotations": {"summary": "bench"}, "startsAt": ts(start),
            "endsAt": ts(end) if end else "0001-01-01T00:00:00Z", "fingerprint": f"{name}-{comp}"}


def payload(alerts):
    return {"version": "4", "status": "firing", "receiver": "herald", "groupLabels": {}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://am", "alerts": alerts}


pct = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
summary = f"{api}/api/v2/summary.json"
target = comps[0]
base = time.time() - 10 * 86400
req_ms, vis_ms = [], []
for i in range(n):
    firing = i % 2 == 0
    start = base + i * 10
    a = alert("BenchLatency", target["id"], firing, start, None if firing else start + 5)
    want = "major_outage" if firing else "operational"
    t0 = time.perf_counter()
    out = call("POST", hook, payload([a]), auth=False)
    req_ms.append((time.perf_counter() - t0) * 1000)
    assert out["changed"] and out["changed"][0]["to"] == want, out
    while True:
        with urllib.request.urlopen(summary) as r:
            s = json.loads(r.read())
        if any(c["id"] == target["id"] and c["status"] == want for c in s["components"]):
            break
        time.sleep(0.001)
    vis_ms.append((time.perf_counter() - t0) * 1000)
print(f"alert -> component changed, hook request (herald's part + loopback): "
      f"p50 {pct(req_ms, 50):.1f} ms, p99 {pct(req_ms, 99):.1f} ms over {n}")
print(f"alert -> summary.json shows it: p50 {pct(vis_ms, 50):.1f} ms, p99 {pct(vis_ms, 99):.1f} ms")

group = payload([alert(f"Bench{j}", comps[j % len(comps)]["id"], True, base + 100_000) for j in range(10_000)])
for label in ("new", "repeated"):
    t0 = time.perf_counter()
    out = call("POST", hook, group, auth=False)
    print(f"one group of 10,000 alerts ({label}): {(time.perf_counter() - t0) * 1000:.0f} ms, "
          f"{out['alerts_updated']} alert states changed, {len(out['changed'])} components changed")

done = [0, 0, 0]
stop = time.perf_counter() + 10


def sender(k):
    i = 0
    while time.perf_counter() < stop:
        firing = i % 2 == 0
        start = base + 200_000 + i * 10
        alerts = [alert(f"S{k}-{j}", comps[(k * 3 + j) % len(comps)]["id"], firing, start,
                        None if firing else start + 5) for j in range(100)]
        call("POST", hook, payload(alerts), auth=False)
        done[k] += 100
        i += 1


threads = [threading.Thread(target=sender, args=(k,)) for k in range(3)]
t0 = time.perf_counter()
for t in threads:
    t.start()
for t in threads:
    t.join()
took = time.perf_counter() - t0
print(f"sustained, 3 senders x groups of 100: {sum(done) / took:.0f} alerts/s ({sum(done)} in {took:.1f} s)")
