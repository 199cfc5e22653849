"""The PyPI `statuspage-prometheus-exporter` (2.6.0) reading herald's summary.json.

The exporter takes its list of status pages from a services.json named by
SERVICES_JSON_PATH, so it is pointed at a local herald; then its own check function runs
against it, exactly as its scheduler would call it.

    python v2_prometheus_exporter.py BASE_URL
"""
import json
import os
import sys
import tempfile
import urllib.request

base = sys.argv[1].rstrip("/")
key = "herald_" + base.rsplit(":", 1)[-1]
cfg = {key: {"url": f"{base}/api/v2/summary.json", "name": "Herald test page"}}
path = os.path.join(tempfile.mkdtemp(), "services.json")
with open(path, "w") as f:
    json.dump(cfg, f)
os.environ["SERVICES_JSON_PATH"] = path

from statuspage_prometheus_exporter import service_checker  # noqa: E402  (reads the env)

summary = json.load(urllib.request.urlopen(cfg[key]["url"]))
result = service_checker.check_service_status(key, service_checker.SERVICES[key])


def check(cond, what):
    if not cond:
        print(f"FAIL {what}: {json.dumps(result, default=str)[:2000]}")
        sys.exit(1)


check(result.get("success") is True, "the exporter could not read herald")
check(result["raw_status"] in ("none", "minor", "major", "critical"), "indicator")
check(result["status_text"] != "Unknown", "status text")
check(len(result["component_metadata"]) == len(summary["components"]), "components")
open_incidents = [i for i in summary["incidents"] if i["status"] not in ("resolved", "postmortem")]
check(len(result["incident_metadata"]) == len(open_incidents), "active incidents")
active = [m for m in summary["scheduled_maintenances"] if m["status"] != "completed"]
check(len(result["maintenance_metadata"]) == len(active), "maintenances")
print(f"all steps passed: {result['raw_status']} / {result['status_text']}, "
      f"{len(result['incident_metadata'])} incidents, {len(result['maintenance_metadata'])} maintenances")
