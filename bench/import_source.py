"""A Statuspage v1 source for the import benchmark: a page with 10 components, INCIDENTS
incidents of UPDATES updates each and SUBSCRIBERS e-mail subscribers, generated once in
memory and served in Statuspage's shapes and paging (100 a request) on a loopback port,
which it prints on its first line.

    python3 bench/import_source.py INCIDENTS UPDATES SUBSCRIBERS
"""
import datetime as dt
import json
import sys
import urllib.parse
from http.server import HTTPServer, BaseHTTPRequestHandler

PAGE = "benchpage001"[:11] + "x"
N_INC, N_UPD, N_SUB = (int(a) for a in sys.argv[1:4])
NOW = dt.datetime.now(dt.timezone.utc)


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


born = NOW - dt.timedelta(days=800)
COMPONENTS = [{
    "id": "cmp" + "%09d" % i, "page_id": PAGE, "group_id": None, "created_at": ts(born), "updated_at": ts(born),
    "group": False, "name": "Component %d" % i, "description": "The %dth" % i, "position": i,
    "status": "operational", "showcase": True, "only_show_if_degraded": False, "automation_email": None,
    "start_date": None} for i in range(10)]
INCIDENTS = []
for n in range(N_INC):
    start = NOW - dt.timedelta(hours=6 * (n + 1))
    comp = COMPONENTS[n % 10]
    iid = "inc" + "%09d" % n
    ups = []
    statuses = ["investigating", "identified", "monitoring", "monitoring", "resolved"]
    for u in range(N_UPD):
        at = start + dt.timedelta(minutes=10 * u)
        st = statuses[min(u, 4)] if u < N_UPD - 1 else "resolved"
        affected = None
        if u == 0:
            affected = [{"code": comp["id"], "name": comp["name"], "old_status": "operational", "new_status": "partial_outage"}]
        elif u == N_UPD - 1:
            affected = [{"code": comp["id"], "name": comp["name"], "old_status": "partial_outage", "new_status": "operational"}]
        ups.append({"id": "u%02d" % u + "%09d" % n, "incident_id": iid, "status": st,
                    "body": "Update %d of incident %d: we are on it." % (u, n), "created_at": ts(at),
                    "updated_at": ts(at), "display_at": ts(at), "affected_components": affected,
                    "deliver_notifications": True, "custom_tweet": None, "tweet_id": None})
    ups.reverse()
    INCIDENTS.append({
        "id": iid, "page_id": PAGE, "name": "Incident %d" % n, "status": "resolved", "impact": "minor",
        "impact_override": None, "created_at": ts(start), "updated_at": ts(start + dt.timedelta(hours=1)),
        "started_at": ts(start), "monitoring_at": None, "resolved_at": ts(start + dt.timedelta(minutes=10 * (N_UPD - 1))),
        "shortlink": "https://stspg.io/x", "metadata": {}, "backfilled": False, "postmortem_body": None,
        "scheduled_for": None, "scheduled_until": None, "incident_updates": ups, "components": [comp]})
SUBSCRIBERS = [{
    "id": "sub" + "%09d" % n, "mode": "email", "email": "person%d@example.com" % n, "components": [],
    "created_at": ts(born), "quarantined_at": None, "purge_at": None} for n in range(N_SUB)]
PAGE_OBJ = {"id": PAGE, "name": "Bench page", "subdomain": "bench", "time_zone": "Etc/UTC",
            "created_at": ts(born), "updated_at": ts(NOW)}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        rest = url.path[len("/v1/pages/" + PAGE):]
        lists = {"/components": COMPONENTS, "/component-groups": [], "/incidents": INCIDENTS,
                 "/incident_templates": []}
        if rest == "":
            body = PAGE_OBJ
        elif rest in lists or rest == "/subscribers":
            if rest == "/subscribers":
                items = SUBSCRIBERS if q.get("state", "active") == "active" else []
                first = 0
            else:
                items, first = lists[rest], 1
            size = min(int(q.get("per_page") or q.get("limit") or 100), 100)
            page = int(q.get("page", first))
            body = items[(page - first) * size:(page - first + 1) * size]
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
