//! Incidents opened by automation (issue 15, "optional incidents"), through the real hook
//! endpoint: a firing alert whose rule names a template opens exactly one incident (however
//! many HA copies arrive), the resolve posts one resolving update, an incident already open
//! on the component means none is opened, `publish: false` only records a draft, and an
//! e-mail subscriber hears of the incident once, through the incident's own notifications;
//! a missed heartbeat opens one and its next ping resolves it.
//! Template ids are validated (422 naming the field; another page's template refused).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::automation_support::{ZERO, alert, audited, integration, payload, post_json};
use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::notify_support::{SmtpSink, wait_idle};

const T0: &str = "2026-03-01T10:00:00Z";
const T1: &str = "2026-03-01T10:05:00Z";

async fn template(app: &TestApp, title: &str, body: &str) -> String {
    let r = app
        .post(
            &app.page_path("/incident_templates"),
            &json!({"template": {"name": title, "title": title, "body": body}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()["id"].as_str().unwrap().to_owned()
}

async fn incidents(app: &TestApp) -> Vec<Value> {
    let r = app.get(&app.page_path("/incidents")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json().as_array().unwrap().clone()
}

async fn automation_incidents_firing_opens_one_and_the_resolve_resolves_it(b: Backend) {
    // Arrange: an e-mail subscriber, a template, a rule that opens an incident from it
    let sink = SmtpSink::start();
    let smtp = sink.url();
    let app = TestApp::spawn_with(b, |c| c.smtp_url = Some(smtp)).await;
    let api = app.component("API").await;
    let id = api["id"].as_str().unwrap().to_owned();
    let alice = "alice@example.com";
    let sub = app
        .post(
            &app.page_path("/subscribers"),
            &json!({"subscriber": {"email": alice, "skip_confirmation_notification": true}}),
        )
        .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{}", sub.text);
    let t = template(&app, "API errors", "We are looking into errors on the API.").await;
    let am = integration(
        &app,
        json!({"type": "alertmanager", "name": "AM", "flap_window_seconds": 0,
               "rules": [{"label": "alertname", "value": "HighErrors", "status": "major_outage",
                          "incident": {"template_id": t, "publish": true}}]}),
    )
    .await;
    let firing = payload(vec![alert("HighErrors", "API", "critical", true, T0, ZERO)]);
    // Act: the same alert from three Alertmanagers of a cluster
    let mut answers = Vec::new();
    for _ in 0..3 {
        let r = post_json(&app, &am.url, &firing).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        answers.push(r.json());
    }
    // Assert: one incident, from the template, the component in it at the rule's status
    assert_eq!(
        answers[0]["incidents"][0]["action"], "opened",
        "{}",
        answers[0]
    );
    for a in &answers[1..] {
        assert!(a.get("incidents").is_none(), "{a}");
    }
    let list = incidents(&app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let inc = &list[0];
    assert_eq!(inc["name"], "API errors");
    assert_eq!(inc["status"], "investigating");
    assert_eq!(
        inc["incident_updates"][0]["body"],
        "We are looking into errors on the API."
    );
    assert_eq!(inc["components"][0]["id"], id.as_str(), "{inc}");
    assert_eq!(inc["components"][0]["status"], "major_outage", "{inc}");
    assert_eq!(audited(&app, &am.id, "incident.create").await.len(), 1);
    // The subscriber hears of it once, as of any incident
    sink.wait_for(alice, |m| m.header("subject").contains("API errors"))
        .await;
    // Act: resolved, twice (both Alertmanagers)
    let resolved = payload(vec![alert("HighErrors", "API", "critical", false, T0, T1)]);
    let r1 = post_json(&app, &am.url, &resolved).await.json();
    let r2 = post_json(&app, &am.url, &resolved).await.json();
    // Assert: one resolving update; the component operational again
    assert_eq!(r1["incidents"][0]["action"], "resolved", "{r1}");
    assert_eq!(r1["changed"][0]["to"], "operational", "{r1}");
    assert!(r2.get("incidents").is_none(), "{r2}");
    let list = incidents(&app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let inc = &list[0];
    assert_eq!(inc["status"], "resolved", "{inc}");
    let updates = inc["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert_eq!(updates[0]["status"], "resolved");
    assert_eq!(inc["components"][0]["status"], "operational", "{inc}");
    assert_eq!(audited(&app, &am.id, "incident.post_update").await.len(), 1);
    // No bare component change besides the incident's
    assert_eq!(audited(&app, &am.id, "component.update").await.len(), 0);
    wait_idle(&app.store, "notify.fanout").await;
    wait_idle(&app.store, "deliver.email").await;
    let mails: Vec<String> = sink
        .mails()
        .into_iter()
        .filter(|m| m.to == alice)
        .map(|m| m.header("subject").to_owned())
        .collect();
    assert_eq!(
        mails.len(),
        2,
        "one for the new incident, one for its resolve: {mails:?}"
    );
    // A new occurrence opens a new incident (the first is over)
    let again = payload(vec![alert("HighErrors", "API", "critical", true, T1, ZERO)]);
    let mut again = again;
    again["alerts"][0]["startsAt"] = json!("2026-03-01T10:30:00Z");
    let r = post_json(&app, &am.url, &again).await.json();
    assert_eq!(r["incidents"][0]["action"], "opened", "{r}");
    assert_eq!(incidents(&app).await.len(), 2);
}

async fn automation_incidents_none_when_one_is_open_and_drafts_are_only_recorded(b: Backend) {
    // Arrange: an incident a person opened on API; a webhook integration whose incident is
    // published, one whose incident is a draft
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await;
    let db = app.component("DB").await;
    let (api_id, db_id) = (
        api["id"].as_str().unwrap().to_owned(),
        db["id"].as_str().unwrap().to_owned(),
    );
    let t = template(&app, "Degraded service", "").await;
    app.incident(
        json!({"name": "Investigating API", "status": "investigating", "component_ids": [api_id]}),
    )
    .await;
    let hook = integration(
        &app,
        json!({"type": "webhook", "name": "CI", "flap_window_seconds": 0,
               "incident": {"template_id": t, "publish": true}}),
    )
    .await;
    let drafts = integration(
        &app,
        json!({"type": "webhook", "name": "Drafts", "flap_window_seconds": 0,
               "incident": {"template_id": t}}),
    )
    .await;
    // Act: the published one moves API (an incident is open on it)
    let r = post_json(
        &app,
        &hook.url,
        &json!({"component": "API", "status": "major_outage"}),
    )
    .await;
    // Assert: held back, no incident opened
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    assert_eq!(v["held_back"][0]["component_id"], api_id.as_str(), "{v}");
    assert!(v.get("incidents").is_none(), "{v}");
    assert_eq!(incidents(&app).await.len(), 1);
    // Act: with the page letting automation override the open incident, still none opened
    let p = app
        .patch(
            &format!("/v1/pages/{}", app.page.id),
            &json!({"page": {"automation_overrides_incidents": true}}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let v = post_json(
        &app,
        &hook.url,
        &json!({"component": "API", "status": "partial_outage"}),
    )
    .await
    .json();
    assert_eq!(v["changed"][0]["to"], "partial_outage", "{v}");
    assert!(v.get("incidents").is_none(), "{v}");
    assert_eq!(incidents(&app).await.len(), 1);
    // Act: the draft integration moves DB (no incident on it)
    let v = post_json(
        &app,
        &drafts.url,
        &json!({"component": "DB", "status": "degraded_performance"}),
    )
    .await
    .json();
    // Assert: the component changed, the incident was only recorded
    assert_eq!(v["changed"][0]["to"], "degraded_performance", "{v}");
    assert_eq!(v["incidents"][0]["action"], "draft", "{v}");
    assert_eq!(v["incidents"][0]["incident_id"], Value::Null, "{v}");
    assert_eq!(incidents(&app).await.len(), 1);
    let recorded = audited(&app, &drafts.id, "automation.incident_draft").await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].target_id, db_id);
    // Act: the published integration moves DB back and forth: opens, then resolves
    let v = post_json(
        &app,
        &hook.url,
        &json!({"component": "DB", "status": "operational"}),
    )
    .await
    .json();
    assert!(v.get("incidents").is_none(), "{v}");
    let v = post_json(
        &app,
        &hook.url,
        &json!({"component": "DB", "status": "major_outage"}),
    )
    .await
    .json();
    assert_eq!(v["incidents"][0]["action"], "opened", "{v}");
    let opened = incidents(&app).await;
    assert_eq!(opened.len(), 2);
    // An empty template body: the first update says why
    assert!(
        opened[0]["incident_updates"][0]["body"]
            .as_str()
            .unwrap()
            .contains("webhook CI"),
        "{}",
        opened[0]
    );
    let v = post_json(
        &app,
        &hook.url,
        &json!({"component": "DB", "status": "operational"}),
    )
    .await
    .json();
    assert_eq!(v["incidents"][0]["action"], "resolved", "{v}");
}

async fn automation_incidents_template_ids_are_validated(b: Backend) {
    // Arrange: a template here, one on another page
    let app = TestApp::spawn(b).await;
    app.component("API").await;
    let mine = template(&app, "Mine", "").await;
    let other_page = app.new_page("other").await;
    let other_key = app
        .new_key(Some(std::slice::from_ref(&other_page.id)), false)
        .await;
    let theirs = app
        .send_as(
            &other_key,
            Method::POST,
            &format!("/v1/pages/{}/incident_templates", other_page.id),
            Some(&json!({"template": {"name": "Theirs", "title": "Theirs"}})),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.text);
    let theirs = theirs.json()["id"].as_str().unwrap().to_owned();
    let path = app.page_path("/integrations");
    let cases = [
        (
            json!({"type": "alertmanager", "name": "AM",
                   "rules": [{"label": "x", "component": "API", "incident": {"template_id": theirs}}]}),
            "integration.rules[0].incident.template_id",
        ),
        (
            json!({"type": "webhook", "name": "W", "incident": {"publish": true}}),
            "integration.incident.template_id",
        ),
        (
            json!({"type": "webhook", "name": "W", "incident": {"template_id": "nope"}}),
            "integration.incident.template_id",
        ),
    ];
    for (body, field) in cases {
        // Act
        let r = app.post(&path, &json!({"integration": body})).await;
        // Assert: 422 naming the field, nothing made
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
    assert_eq!(app.get(&path).await.json(), json!([]));
    // A good one; a patch may remove it with null
    let made = integration(
        &app,
        json!({"type": "webhook", "name": "W", "incident": {"template_id": mine, "publish": true}}),
    )
    .await;
    let got = app.get(&format!("{path}/{}", made.id)).await.json();
    assert_eq!(
        got["incident"],
        json!({"template_id": mine, "publish": true})
    );
    let r = app
        .patch(
            &format!("{path}/{}", made.id),
            &json!({"integration": {"incident": null}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["incident"], Value::Null);
}

async fn automation_incidents_a_missed_heartbeat_opens_one_and_the_ping_resolves_it(b: Backend) {
    // Arrange: a heartbeat whose check opens an incident (time given by the test)
    use chrono::TimeDelta;
    use herald_domain::clock::{Clock, SystemClock};
    use herald_notify::checks::Automation;
    use herald_notify::egress::{ClientSettings, EgressPolicy, GuardedClient};
    use herald_worker::Reconciler;
    let app = TestApp::spawn_with(b, |c| c.role = herald::config::Role::Web).await;
    app.component("Nightly batch").await;
    let t = template(
        &app,
        "Nightly batch late",
        "The nightly batch has not reported.",
    )
    .await;
    let t0 = SystemClock.now();
    let hb = integration(
        &app,
        json!({"type": "heartbeat", "name": "nightly", "component_id": "Nightly batch",
               "interval_seconds": 60, "grace_seconds": 30, "down_status": "partial_outage",
               "incident": {"template_id": t, "publish": true}}),
    )
    .await;
    let r = Automation {
        store: app.store.clone(),
        client: GuardedClient::new(
            EgressPolicy::parse("127.0.0.0/8").unwrap(),
            &ClientSettings::default(),
        )
        .unwrap(),
        tls_roots: herald_notify::tls_expiry::TlsRoots::empty(),
    };
    // Act: the ping is missed
    r.reconcile(t0 + TimeDelta::seconds(120)).await.unwrap();
    // Assert: one incident, the component in it at the heartbeat's status
    let list = incidents(&app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["name"], "Nightly batch late");
    assert_eq!(list[0]["components"][0]["status"], "partial_outage");
    r.reconcile(t0 + TimeDelta::seconds(300)).await.unwrap();
    assert_eq!(incidents(&app).await.len(), 1);
    // Act: the next ping
    let ping = post_json(&app, &hb.url, &json!({})).await;
    // Assert: it resolves the incident
    assert_eq!(
        ping.json()["incidents"][0]["action"],
        "resolved",
        "{}",
        ping.text
    );
    let list = incidents(&app).await;
    assert_eq!(list[0]["status"], "resolved");
    assert_eq!(list[0]["components"][0]["status"], "operational");
}

both_backends!(
    automation_incidents_a_missed_heartbeat_opens_one_and_the_ping_resolves_it,
    automation_incidents_firing_opens_one_and_the_resolve_resolves_it,
    automation_incidents_none_when_one_is_open_and_drafts_are_only_recorded,
    automation_incidents_template_ids_are_validated,
);
