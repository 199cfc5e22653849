#!/usr/bin/env python3
"""Notification fan-out and delivery, on a release herald over SQLite.

    bench/notify.py HERALD_BINARY PYTHON_WITH_AIOSMTPD [EMAILS] [WEBHOOKS] [CAP_SECONDS]

Phase 1: EMAILS (default 100,000) active e-mail subscribers are written straight into the
database; one incident is created through the API; the script measures how long until every
delivery job is enqueued (target: 2 s), then the delivery rate into a real SMTP server
(aiosmtpd, counting only) until all are delivered or CAP_SECONDS pass, and herald's peak RSS.
Phase 2: WEBHOOKS (default 10,000) webhook subscribers on one loopback receiver; the time
until every webhook is delivered.
Run by bench/notify.sh, which builds herald and the venv.
"""
import json, os, random, secrets, sqlite3, string, subprocess, sys, tempfile, time, urllib.request

herald, py = sys.argv[1], sys.argv[2]
emails = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
webhooks = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000
cap = float(sys.argv[5]) if len(sys.argv) > 5 else 600.0
here = os.path.dirname(os.path.abspath(__file__))

SINK = r'''
import socket, sys, threading
from aiosmtpd.controller import Controller
class H:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        H.n += 1
        return "250 OK"
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
c = Controller(H(), hostname="127.0.0.1", port=port); c.start()
print(port, flush=True)
sys.stdin.read()
print(H.n, flush=True)
'''

RECEIVER = r'''
import asyncio, socket, sys
n = 0
async def handle(reader, writer):
    global n
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            n += 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
    except Exception:
        writer.close()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    print(n, flush=True)
asyncio.run(main())
'''


def free_port():
    import socket
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def new_id():
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(12))


def helper(code):
    p = subprocess.Popen([py, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return p, int(p.stdout.readline())


def finish(p):
    p.stdin.close()
    n = p.stdout.readline().strip()
    p.wait(timeout=10)
    return int(n or 0)


def run(label, channel, count, kind):
    d = tempfile.mkdtemp()
    db = os.path.join(d, "bench.db")
    env = dict(os.environ, HERALD_DATABASE_URL=f"sqlite://{db}")
    env.setdefault("RUST_LOG", "warn")
    subprocess.run([herald, "migrate"], env=env, check=True, capture_output=True)
    page = subprocess.run([herald, "pages", "create", "--name", "Bench", "--slug", "bench"], env=env,
                          check=True, capture_output=True, text=True).stdout.strip()
    key = subprocess.run([herald, "keys", "create", "--page", page], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    sink, port = helper(SINK if channel == "email" else RECEIVER)
    now = int(time.time() * 1000)
    con = sqlite3.connect(db)
    rows = []
    for i in range(count):
        if channel == "email":
            email, endpoint, target, secret = f"user{i}@bench.example", None, f"user{i}@bench.example", None
        else:
            endpoint = f"http://127.0.0.1:{port}/hook/{i}"
            email, target, secret = "ops@bench.example", endpoint, "whsec_" + secrets.token_urlsafe(32)
        rows.append((new_id(), page, channel, email, endpoint, "active", secret, now, now, target))
    con.executemany("INSERT INTO subscribers (id, page_id, channel, email, endpoint, state, secret, created_at, "
                    "confirmed_at, target) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    listen = f"127.0.0.1:{free_port()}"
    env.update(HERALD_SMTP_URL=f"smtp://127.0.0.1:{port}", HERALD_EGRESS_ALLOW="127.0.0.0/8")
    proc = subprocess.Popen([herald, "serve", "--listen", listen], env=env, stderr=open(os.path.join(d, "err"), "w"))
    base = f"http://{listen}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/livez"); break
        except Exception:
            time.sleep(0.1)
    body = json.dumps({"incident": {"name": "Bench incident", "status": "investigating", "body": "Fan-out."}}).encode()
    req = urllib.request.Request(f"{base}/v1/pages/{page}/incidents", data=body, method="POST",
                                 headers={"Authorization": f"OAuth {key}", "Content-Type": "application/json"})
    t0 = time.perf_counter()
    urllib.request.urlopen(req).read()
    t_api = time.perf_counter()
    wall_api_ms = time.time() * 1000
    q = lambda sql, *a: (con.execute(sql, a).fetchone() or (None,))[0]
    # The fan-out job is the newest job when the API answers. Watching it by its id (a
    # primary-key lookup) keeps this poller off the CPU herald needs: counting the jobs
    # table every 20 ms would scan 100,000 rows each time, a core's worth on 2 cores.
    fanout = q("SELECT id FROM jobs WHERE kind = 'notify.fanout' ORDER BY id DESC LIMIT 1")
    enq = None
    delivered_at = None
    last = 0
    while time.perf_counter() - t_api < cap:
        if enq is None:
            done = q("SELECT finished_at FROM jobs WHERE id = ? AND state = 'completed'", fanout)
            if done is not None:
                enq = (done - wall_api_ms) / 1000
                jobs = q("SELECT COUNT(*) FROM jobs WHERE kind = ?", kind)
                assert jobs >= count, f"the fan-out finished with {jobs} of {count} delivery jobs"
            else:
                time.sleep(0.01)
                continue
        last = q("SELECT COUNT(*) FROM deliveries WHERE state = 'delivered'")
        if last >= count:
            delivered_at = time.perf_counter() - t_api
            break
        time.sleep(0.5)
    rss = [l.split()[1] for l in open(f"/proc/{proc.pid}/status") if l.startswith("VmHWM")][0]
    proc.terminate(); proc.wait(timeout=30)
    received = finish(sink)
    took = delivered_at or (time.perf_counter() - t_api)
    print(json.dumps({
        "case": label, "subscribers": count, "api_ms": round((t_api - t0) * 1000, 1),
        "all_jobs_enqueued_s": round(enq, 3) if enq else None,
        "delivered": last, "received_by_sink": received, "delivery_s": round(took, 1),
        "per_second": round(last / took, 1), "peak_rss_mb": round(int(rss) / 1024, 1),
    }), flush=True)


if emails:
    run("email", "email", emails, "deliver.email")
if webhooks:
    run("webhook", "webhook", webhooks, "deliver.http")
