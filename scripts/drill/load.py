#!/usr/bin/env python3
"""Load for the rollback drill: public reads, API writes and a webhook receiver, until told
to stop. Standard library only.

    load.py BASE_URL PAGE_ID API_KEY WORKDIR

Writes WORKDIR/hook_port once the receiver listens, WORKDIR/progress (acknowledged writes)
while it runs; stops when WORKDIR/stop exists, then waits (up to 120 s) for a webhook of
every acknowledged incident and writes WORKDIR/result.json:
{"public_ok", "failed_public", "writes_ok", "failed_writes", "lost_notifications", ...}.
"""
import http.client
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

BASE, PAGE, KEY, WORK = sys.argv[1:5]
URL = urllib.parse.urlsplit(BASE)
lock = threading.Lock()
stats = {"public_ok": 0, "failed_public": 0, "writes_ok": 0, "failed_writes": 0}
failures = []
acked = set()
hooked = set()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            incident = json.loads(body).get("incident") or {}
            if incident.get("id"):
                with lock:
                    hooked.add(incident["id"])
        except ValueError:
            pass
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def request(conn_box, method, path, body=None):
    """One request on a kept-alive connection (reopened after an error): (status, body)."""
    headers = {"Host": URL.netloc}
    if body is not None:
        headers["Content-Type"] = "application/json"
        headers["Authorization"] = "OAuth " + KEY
        body = json.dumps(body)
    for attempt in range(2):
        if conn_box[0] is None:
            conn_box[0] = http.client.HTTPConnection(URL.hostname, URL.port, timeout=30)
        try:
            conn_box[0].request(method, path, body=body, headers=headers)
            r = conn_box[0].getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                conn_box[0].close()
                conn_box[0] = None
            return r.status, data
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
            # The balancer closed an idle kept-alive connection before this request was
            # sent: a client library reconnects (this is not a failed request). Only once.
            conn_box[0].close()
            conn_box[0] = None
            if attempt == 1 or method != "GET":
                raise
    raise RuntimeError("unreachable")


def reader(paths, stop):
    box = [None]
    i = 0
    while not stop.is_set():
        path = paths[i % len(paths)]
        i += 1
        try:
            status, _ = request(box, "GET", path)
            ok = status == 200
        except Exception as e:  # noqa: BLE001 - any error is a failed request
            ok, status = False, repr(e)
            if box[0] is not None:
                box[0].close()
                box[0] = None
        with lock:
            if ok:
                stats["public_ok"] += 1
            else:
                stats["failed_public"] += 1
                failures.append(f"GET {path}: {status}")
        time.sleep(0.005)


def writer(stop):
    box = [None]
    n = 0
    while not stop.is_set():
        n += 1
        try:
            status, data = request(box, "POST", f"/v1/pages/{PAGE}/incidents",
                                   {"incident": {"name": f"drill {os.getpid()}-{n}",
                                                 "status": "investigating",
                                                 "body": "rollback drill"}})
            ok = status == 201
            if ok:
                iid = json.loads(data)["id"]
                status, data = request(box, "PATCH", f"/v1/pages/{PAGE}/incidents/{iid}",
                                       {"incident": {"status": "resolved", "body": "done"}})
                ok = status == 200
                with lock:
                    acked.add(iid)
        except Exception as e:  # noqa: BLE001 - any error is a failed write
            ok, status, data = False, repr(e), b""
            if box[0] is not None:
                box[0].close()
                box[0] = None
        with lock:
            if ok:
                stats["writes_ok"] += 1
            else:
                stats["failed_writes"] += 1
                failures.append(f"write {n}: {status} {data[:200] if isinstance(data, bytes) else ''}")
            with open(os.path.join(WORK, "progress.tmp"), "w") as f:
                f.write(str(stats["writes_ok"]))
            os.replace(os.path.join(WORK, "progress.tmp"), os.path.join(WORK, "progress"))
        time.sleep(0.05)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(os.path.join(WORK, "hook_port"), "w") as f:
        f.write(str(server.server_address[1]))
    while not os.path.exists(os.path.join(WORK, "go")):
        time.sleep(0.05)
    stop = threading.Event()
    threads = [threading.Thread(target=reader, args=(["/", "/api/v2/summary.json"], stop)),
               threading.Thread(target=reader, args=(["/api/v2/summary.json", "/"], stop)),
               threading.Thread(target=writer, args=(stop,))]
    for t in threads:
        t.start()
    while not os.path.exists(os.path.join(WORK, "stop")):
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    deadline = time.time() + 120
    while time.time() < deadline:
        with lock:
            if acked <= hooked:
                break
        time.sleep(0.2)
    with lock:
        lost = sorted(acked - hooked)
        result = dict(stats, lost_notifications=len(lost), acknowledged=len(acked),
                      notified=len(acked & hooked), lost_ids=lost[:20], failures=failures[:20])
    with open(os.path.join(WORK, "result.json"), "w") as f:
        json.dump(result, f)
    server.shutdown()


if __name__ == "__main__":
    main()
