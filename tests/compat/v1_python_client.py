#!/usr/bin/env python3
"""Drive herald's management API v1 with the PyPI Statuspage client.

Client: `atlassian-statuspage` 1.0.2 (swagger-codegen, module `atlassian_statuspage`);
install the pinned set with `pip install -r tests/compat/requirements.txt`.

    python3 tests/compat/v1_python_client.py BASE_URL API_KEY PAGE_ID
    e.g.    python3 tests/compat/v1_python_client.py http://127.0.0.1:18181/v1 hrld_... es4x4jfaexmr

Every response goes through the client's models, whose setters validate the spec's enums
(component status, incident status, impact), so a clean run also shows that herald emits
no value outside them. Prints one line per step; exits 0 only if every step passed. Its
checks are plain calls, never `assert`, so `python -O` cannot strip them.
"""
import datetime
import json
import sys
import time
import uuid

try:
    import atlassian_statuspage as sp
    from atlassian_statuspage.rest import ApiException
except ImportError:
    sys.exit("atlassian_statuspage missing: pip install -r tests/compat/requirements.txt (in a venv)")

TAG = uuid.uuid4().hex[:6]  # keeps names unique across runs against one database
CURRENT = ["setup"]
THROTTLED = [0]
CHECKS = [0]


class CheckFailed(Exception):
    """A check that did not hold."""


def check(cond, msg):
    """A real check: unlike `assert`, it runs under `python -O` (PYTHONOPTIMIZE) too, and
    it is counted, so the caller can see the checks ran."""
    CHECKS[0] += 1
    if not cond:
        raise CheckFailed(msg)


def step(name):
    CURRENT[0] = name


def ok(msg):
    print("ok   %-22s %s" % (CURRENT[0], msg), flush=True)


def make_client(base_url, key):
    cfg = sp.Configuration()
    cfg.host = base_url.rstrip("/")
    # Configuration() returns a shallow copy of a class-wide default, so its dicts are
    # shared between instances: assign fresh ones instead of mutating them in place.
    # The security scheme is named "api_key"; it sends header Authorization = prefix + key.
    cfg.api_key = {"Authorization": key}
    cfg.api_key_prefix = {"Authorization": "OAuth"}
    client = sp.ApiClient(cfg)
    # Statuspage allows ~60 requests/min per key and answers 420/429 beyond that. The
    # generated client never retries, so (like the Terraform provider) we sleep and retry,
    # honouring Retry-After, for at most 120 s per request. One run makes ~50 requests.
    inner = client.rest_client.request

    def request(*args, **kwargs):
        deadline = time.monotonic() + 120
        while True:
            try:
                return inner(*args, **kwargs)
            except ApiException as e:
                if e.status not in (420, 429) or time.monotonic() > deadline:
                    raise
                THROTTLED[0] += 1
                time.sleep(max(1.0, float((e.headers or {}).get("Retry-After") or 2)))
    client.rest_client.request = request
    return client


def raw_json(client):
    """Body of the client's last response, parsed as JSON (see GroupComponent below)."""
    return json.loads(client.last_response.data)


def expect_status(call, status, what):
    try:
        call()
    except ApiException as e:
        check(e.status == status, "%s: expected HTTP %d, got %s: %s" % (what, status, e.status, e.body))
        return e
    raise CheckFailed("%s: expected ApiException %d, call succeeded" % (what, status))


def test_pages(client, page_id):
    step("pages")
    api = sp.PagesApi(client)
    pages = api.get_pages()
    check(page_id in [p.id for p in pages], "page %s not in GET /pages: %r" % (page_id, [p.id for p in pages]))
    ok("list: %d page(s), ours present" % len(pages))
    page = api.get_pages_page_id(page_id)
    check(page.id == page_id and page.name, "GET /pages/{id} returned %r" % page)
    ok("get: %r" % page.name)
    original, new_name = page.name, "%s (compat %s)" % (page.name, TAG)
    body = sp.PatchPages(page=sp.PatchPagesPage(name=new_name))
    updated = api.patch_pages_page_id(body, page_id)
    check(updated.name == new_name, "PATCH returned name %r, want %r" % (updated.name, new_name))
    check(api.get_pages_page_id(page_id).name == new_name, "PATCHed page name not persisted")
    ok("patch name -> %r, read back" % new_name)
    api.patch_pages_page_id(sp.PatchPages(page=sp.PatchPagesPage(name=original)), page_id)
    ok("name restored to %r" % original)


def test_components(client, page_id):
    step("components")
    api = sp.ComponentsApi(client)
    ids = []
    for n in (1, 2):
        body = sp.PostPagesPageIdComponents(component=sp.PostPagesPageIdComponentsComponent(
            name="compat-%s-%d" % (TAG, n), description="created by v1_python_client.py",
            status="operational", showcase=True))
        comp, status, _ = api.post_pages_page_id_components_with_http_info(body, page_id)
        check(status == 201, "POST component: HTTP %d, want 201" % status)
        check(comp.id and comp.name == "compat-%s-%d" % (TAG, n), "POST component returned %r" % comp)
        check(comp.status == "operational" and comp.page_id == page_id, "bad created component %r" % comp)
        ids.append(comp.id)
    ok("create x2 (201): %s" % ids)
    listed = [c.id for c in api.get_pages_page_id_components(page_id, per_page=100)]
    check(all(i in listed for i in ids), "created components missing from list: %s" % listed)
    ok("list: %d components, both present" % len(listed))
    got = api.get_pages_page_id_components_component_id(page_id, ids[0])
    check(got.id == ids[0] and got.description == "created by v1_python_client.py", "GET returned %r" % got)
    ok("get %s" % ids[0])
    body = sp.PatchPagesPageIdComponents(component=sp.PostPagesPageIdComponentsComponent(status="major_outage"))
    patched = api.patch_pages_page_id_components_component_id(body, page_id, ids[0])
    check(patched.status == "major_outage", "PATCH returned status %r" % patched.status)
    again = api.get_pages_page_id_components_component_id(page_id, ids[0]).status
    check(again == "major_outage", "status after PATCH reads back as %r" % again)
    ok("patch status -> major_outage, read back")
    _, status, _ = api.delete_pages_page_id_components_component_id_with_http_info(page_id, ids[1])
    check(status == 204, "DELETE component: HTTP %d, want 204" % status)
    expect_status(lambda: api.get_pages_page_id_components_component_id(page_id, ids[1]), 404, "GET deleted component")
    ok("delete %s (204), then get -> 404" % ids[1])
    return ids[0]


def test_component_groups(client, page_id, comp_id):
    step("component-groups")
    api = sp.ComponentGroupsApi(client)
    # Client quirk: GroupComponent declares `components` as 'str', so a JSON list of ids
    # is deserialized as str(list) ("['abc']"). Applies to any server; we read the list
    # from the raw body of the same call instead.
    name = "compat-group-%s" % TAG
    body = sp.PostPagesPageIdComponentGroups(description="compat group", component_group=sp.PostPagesPageIdComponentGroupsComponentGroup(name=name, components=[comp_id]))
    group, status, _ = api.post_pages_page_id_component_groups_with_http_info(body, page_id)
    check(status == 201, "POST component-group: HTTP %d, want 201" % status)
    check(group.id and group.name == name, "POST group returned %r" % group)
    check(raw_json(client)["components"] == [comp_id], "group components %r" % raw_json(client)["components"])
    ok("create %s with [%s] (201)" % (group.id, comp_id))
    listed = [g.id for g in api.get_pages_page_id_component_groups(page_id)]
    check(group.id in listed, "group missing from list %s" % listed)
    ok("list: %d groups, ours present" % len(listed))
    got = api.get_pages_page_id_component_groups_id(page_id, group.id)
    check(got.name == name and raw_json(client)["components"] == [comp_id], "GET group returned %r" % got)
    comp = sp.ComponentsApi(client).get_pages_page_id_components_component_id(page_id, comp_id)
    check(comp.group_id == group.id, "component.group_id %r, want %r" % (comp.group_id, group.id))
    ok("get; component.group_id points at it")
    # The client's PATCH model makes `components` mandatory, so we resend it with the rename.
    new = name + "-renamed"
    body = sp.PatchPagesPageIdComponentGroups(component_group=sp.PostPagesPageIdComponentGroupsComponentGroup(name=new, components=[comp_id]))
    patched = api.patch_pages_page_id_component_groups_id(body, page_id, group.id)
    check(patched.name == new, "PATCH group returned name %r" % patched.name)
    check(api.get_pages_page_id_component_groups_id(page_id, group.id).name == new, "rename not persisted")
    ok("patch name -> %r" % new)
    deleted, status, _ = api.delete_pages_page_id_component_groups_id_with_http_info(page_id, group.id)
    check(status == 200 and deleted.id == group.id, "DELETE group: HTTP %d, body %r" % (status, deleted))
    expect_status(lambda: api.get_pages_page_id_component_groups_id(page_id, group.id), 404, "GET deleted group")
    ok("delete (200 + object), then get -> 404")


def test_incidents(client, page_id, comp_id):
    step("incidents")
    api = sp.IncidentsApi(client)
    # Client bug: the `components` map (component id -> status) is generated as a model
    # with one fixed property named after the spec's example id ("0fkxplvz30xp"), so no
    # real id can be expressed with it. Its setter does no type check and the serializer
    # passes dicts through, so we set a plain dict; the wire body is what the spec shows.
    inc = sp.PostPagesPageIdIncidentsIncident(
        name="compat incident %s" % TAG, status="investigating", body="We are investigating.",
        component_ids=[comp_id], components={comp_id: "partial_outage"}, deliver_notifications=False)
    created, status, _ = api.post_pages_page_id_incidents_with_http_info(sp.PostPagesPageIdIncidents(incident=inc), page_id)
    check(status == 201, "POST incident: HTTP %d, want 201" % status)
    iid = created.id
    check(created.status == "investigating" and created.name == inc.name, "POST incident returned %r" % created)
    check(len(created.incident_updates) == 1 and created.incident_updates[0].body == "We are investigating.",
        "first update %r" % created.incident_updates)
    check(comp_id in [c.id for c in created.components or []], "incident.components lacks %s" % comp_id)
    comp = sp.ComponentsApi(client).get_pages_page_id_components_component_id(page_id, comp_id)
    check(comp.status == "partial_outage", "components map not applied: component status %r" % comp.status)
    ok("create %s (201), impact=%s, component -> partial_outage" % (iid, created.impact))
    listed = [i.id for i in api.get_pages_page_id_incidents(page_id)]
    check(iid in listed, "incident missing from GET /incidents")
    check(listed[0] == iid, "GET /incidents not newest first: ours is #%d" % (listed.index(iid) + 1))
    ok("list: %d incidents, ours first (newest first)" % len(listed))
    got = api.get_pages_page_id_incidents_incident_id(page_id, iid)
    check(got.id == iid and got.status == "investigating", "GET incident returned %r" % got)
    ok("get")
    upd = sp.PatchPagesPageIdIncidents(incident=sp.PatchPagesPageIdIncidentsIncident(
        status="identified", body="Cause identified.", deliver_notifications=False))
    patched = api.patch_pages_page_id_incidents_incident_id(upd, page_id, iid)
    ups = patched.incident_updates
    check(patched.status == "identified", "PATCH returned status %r" % patched.status)
    check(len(ups) == 2, "want 2 incident_updates, got %d" % len(ups))
    check(ups[0].status == "identified" and ups[0].body == "Cause identified.", "newest update first? %r" % ups[0])
    check(ups[0].created_at >= ups[1].created_at and ups[1].status == "investigating", "updates not newest-first")
    ok("patch identified + body: 2 updates, newest first")
    unresolved = [i.id for i in api.get_pages_page_id_incidents_unresolved(page_id)]
    check(iid in unresolved, "incident missing from /incidents/unresolved")
    ok("unresolved contains it")
    res = sp.PatchPagesPageIdIncidents(incident=sp.PatchPagesPageIdIncidentsIncident(
        status="resolved", body="Resolved.", deliver_notifications=False))
    resolved = api.patch_pages_page_id_incidents_incident_id(res, page_id, iid)
    check(resolved.status == "resolved" and resolved.resolved_at is not None,
        "resolve: status %r resolved_at %r" % (resolved.status, resolved.resolved_at))
    check(iid not in [i.id for i in api.get_pages_page_id_incidents_unresolved(page_id)], "resolved yet unresolved")
    ok("resolve: resolved_at=%s" % resolved.resolved_at.isoformat())
    deleted, status, _ = api.delete_pages_page_id_incidents_incident_id_with_http_info(page_id, iid)
    check(status == 200 and deleted.id == iid, "DELETE incident: HTTP %d, body %r" % (status, deleted))
    expect_status(lambda: api.get_pages_page_id_incidents_incident_id(page_id, iid), 404, "GET deleted incident")
    ok("delete (200 + object), then get -> 404")


def test_maintenance(client, page_id, comp_id):
    step("maintenance")
    api = sp.IncidentsApi(client)
    start = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).replace(microsecond=0)
    end = start + datetime.timedelta(hours=2)
    mnt = sp.PostPagesPageIdIncidentsIncident(
        name="compat maintenance %s" % TAG, status="scheduled", body="Planned upgrade.",
        scheduled_for=start, scheduled_until=end, component_ids=[comp_id], deliver_notifications=False)
    created, status, _ = api.post_pages_page_id_incidents_with_http_info(sp.PostPagesPageIdIncidents(incident=mnt), page_id)
    check(status == 201, "POST maintenance: HTTP %d, want 201" % status)
    check(created.status == "scheduled", "maintenance status %r" % created.status)
    check(created.scheduled_for == start and created.scheduled_until == end,
        "window %s..%s, want %s..%s" % (created.scheduled_for, created.scheduled_until, start, end))
    ok("create %s (201), impact=%s, window round-trips" % (created.id, created.impact))
    check(created.id in [i.id for i in api.get_pages_page_id_incidents_upcoming(page_id)], "not in /upcoming")
    ok("upcoming contains it")
    check(created.id in [i.id for i in api.get_pages_page_id_incidents_scheduled(page_id)], "not in /scheduled")
    ok("scheduled contains it")
    api.delete_pages_page_id_incidents_incident_id(page_id, created.id)
    ok("deleted (cleanup)")


def test_templates(client, page_id, comp_id):
    step("incident-templates")
    api = sp.TemplatesApi(client)
    tpl = sp.PostPagesPageIdIncidentTemplatesTemplate(
        name="compat-tpl-%s" % TAG, title="Degraded API", body="We are looking into it.",
        update_status="investigating", should_send_notifications=False, component_ids=[comp_id])
    created, status, _ = api.post_pages_page_id_incident_templates_with_http_info(sp.PostPagesPageIdIncidentTemplates(template=tpl), page_id)
    check(status == 201, "POST template: HTTP %d, want 201" % status)
    check(created.id and created.name == tpl.name and created.title == tpl.title, "POST template returned %r" % created)
    check(created.update_status == "investigating", "template update_status %r" % created.update_status)
    check([c.id for c in created.components or []] == [comp_id], "template components %r" % created.components)
    ok("create %s (201)" % created.id)
    listed = [t.id for t in api.get_pages_page_id_incident_templates(page_id)]
    check(created.id in listed, "template missing from list %s" % listed)
    ok("list: %d templates, ours present" % len(listed))


def test_uptime_and_incident_subscribers(client, page_id, comp_id):
    step("uptime")
    up = sp.ComponentsApi(client).get_pages_page_id_components_component_id_uptime(page_id, comp_id)
    check(up.id == comp_id and up.uptime_percentage is not None and up.major_outage is not None,
        "component uptime %r" % up)
    check(0 <= up.uptime_percentage <= 100, "uptime_percentage %r" % up.uptime_percentage)
    raw = raw_json(client)
    check(set(raw) >= {"id", "name", "range_start", "range_end", "uptime_percentage", "major_outage",
        "partial_outage", "warnings", "related_events"}, "uptime keys %s" % sorted(raw))
    ok("component uptime %.2f%% from %s to %s" % (up.uptime_percentage, raw["range_start"], raw["range_end"]))
    groups = sp.ComponentGroupsApi(client)
    body = sp.PostPagesPageIdComponentGroups(description="uptime group", component_group=sp.PostPagesPageIdComponentGroupsComponentGroup(name="uptime-%s" % TAG, components=[comp_id]))
    group = groups.post_pages_page_id_component_groups(body, page_id)
    gup = groups.get_pages_page_id_component_groups_id_uptime(page_id, group.id)
    # Its one component's figure a moment later: over a life of seconds, not comparable.
    check(gup.id == group.id and 0 <= gup.uptime_percentage <= 100, "group uptime %r" % gup)
    ok("group uptime %.2f%%" % gup.uptime_percentage)
    step("incident-subscribers")
    inc = sp.IncidentsApi(client).post_pages_page_id_incidents(sp.PostPagesPageIdIncidents(incident=sp.PostPagesPageIdIncidentsIncident(
        name="compat subscribers %s" % TAG, status="investigating", body="Watch this.", deliver_notifications=False)), page_id)
    api = sp.IncidentSubscribersApi(client)
    sub_body = sp.PostPagesPageIdIncidentsIncidentIdSubscribers(subscriber=sp.PostPagesPageIdIncidentsIncidentIdSubscribersSubscriber(
        email="watcher-%s@example.com" % TAG, skip_confirmation_notification=True))
    sub, status, _ = api.post_pages_page_id_incidents_incident_id_subscribers_with_http_info(sub_body, page_id, inc.id)
    check(status == 201 and sub.id and sub.email == "watcher-%s@example.com" % TAG, "POST incident subscriber: %d %r" % (status, sub))
    ok("subscribe %s to incident %s (201)" % (sub.id, inc.id))
    listed = [s.id for s in api.get_pages_page_id_incidents_incident_id_subscribers(page_id, inc.id)]
    check(listed == [sub.id], "incident subscribers %s" % listed)
    got = api.get_pages_page_id_incidents_incident_id_subscribers_subscriber_id(page_id, inc.id, sub.id)
    check(got.id == sub.id, "GET incident subscriber %r" % got)
    ok("list and get")
    _, status, _ = api.post_pages_page_id_incidents_incident_id_subscribers_subscriber_id_resend_confirmation_with_http_info(page_id, inc.id, sub.id)
    check(status == 201, "resend_confirmation: HTTP %d" % status)
    gone = api.delete_pages_page_id_incidents_incident_id_subscribers_subscriber_id(page_id, inc.id, sub.id)
    check(gone.id == sub.id, "DELETE incident subscriber %r" % gone)
    check(api.get_pages_page_id_incidents_incident_id_subscribers(page_id, inc.id) == [], "still listed after DELETE")
    ok("resend (201), delete, list empty")
    groups.delete_pages_page_id_component_groups_id(page_id, group.id)


def test_errors(base_url, page_id):
    step("errors")
    bad = make_client(base_url, "definitely-not-a-key")
    e = expect_status(lambda: sp.PagesApi(bad).get_pages_page_id(page_id), 401, "GET page with wrong key")
    ok("wrong key -> 401 %s" % (e.body.decode() if isinstance(e.body, bytes) else e.body))


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: %s BASE_URL API_KEY PAGE_ID" % argv[0])
    base_url, key, page_id = argv[1:]
    client = make_client(base_url, key)
    try:
        test_pages(client, page_id)
        comp_id = test_components(client, page_id)
        test_component_groups(client, page_id, comp_id)
        test_incidents(client, page_id, comp_id)
        test_maintenance(client, page_id, comp_id)
        test_templates(client, page_id, comp_id)
        test_uptime_and_incident_subscribers(client, page_id, comp_id)
        step("cleanup")
        sp.ComponentsApi(client).delete_pages_page_id_components_component_id(page_id, comp_id)
        ok("deleted component %s" % comp_id)
        test_errors(base_url, page_id)
    except CheckFailed as e:
        print("FAIL %s: %s" % (CURRENT[0], e), flush=True)
        return 1
    except ApiException as e:
        print("FAIL %s: HTTP %s %s\n  body: %s" % (CURRENT[0], e.status, e.reason, e.body), flush=True)
        return 1
    except ValueError as e:  # the models reject out-of-spec enum values while deserializing
        print("FAIL %s: client model rejected the response: %s\n  body: %s"
              % (CURRENT[0], e, getattr(client.last_response, "data", b"")[:2000]), flush=True)
        return 1
    if THROTTLED[0]:
        print("note: rate limited (420/429) %d time(s); waited and retried" % THROTTLED[0])
    print("all steps passed: %d checks" % CHECKS[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
