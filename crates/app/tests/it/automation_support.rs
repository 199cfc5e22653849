//! Helpers for the automation tests: integrations through the API, alerts and webhook
//! bodies posted to their URL, and what the public page and the audit log say.

use herald_domain::id::ComponentId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, read};

/// An integration made through the API: its object and its `webhook_url`.
pub struct Made {
    pub id: String,
    pub url: String,
}

/// Creates an integration of `fields` (type, name, rules...).
pub async fn integration(app: &TestApp, fields: Value) -> Made {
    let r = app
        .post(
            &app.page_path("/integrations"),
            &json!({ "integration": fields }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let v = r.json();
    Made {
        id: v["id"].as_str().unwrap().to_owned(),
        url: v["webhook_url"].as_str().unwrap().to_owned(),
    }
}

/// POSTs `body` (bytes) to `url`.
pub async fn post_raw(app: &TestApp, url: &str, body: Vec<u8>) -> Resp {
    read(
        app.client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

/// Sends only the head of a POST to `url` announcing a JSON body of `len` bytes, and
/// returns the answer's status line: a body over the limit is refused from its
/// `Content-Length` alone (a client sending the whole body may instead see the connection
/// closed under it, which is a race, not an answer).
pub async fn post_announcing(app: &TestApp, url: &str, len: usize) -> String {
    let url = reqwest::Url::parse(url).expect("url");
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n",
        app.addr
    );
    crate::helpers::status_after_head(app, &head).await
}

/// POSTs `body` (JSON) to `url`.
pub async fn post_json(app: &TestApp, url: &str, body: &Value) -> Resp {
    post_raw(app, url, serde_json::to_vec(body).unwrap()).await
}

/// One Alertmanager alert (version 4 shape).
pub fn alert(
    name: &str,
    component: &str,
    severity: &str,
    firing: bool,
    starts: &str,
    ends: &str,
) -> Value {
    json!({
        "status": if firing { "firing" } else { "resolved" },
        "labels": {"alertname": name, "component": component, "severity": severity},
        "annotations": {"summary": format!("{name} on {component}")},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": format!("fp-{name}-{component}"),
    })
}

/// An Alertmanager webhook payload carrying `alerts`.
pub fn payload(alerts: Vec<Value>) -> Value {
    let firing = alerts.iter().any(|a| a["status"] == "firing");
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"x\"}",
        "truncatedAlerts": 0,
        "status": if firing { "firing" } else { "resolved" },
        "receiver": "herald",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example",
        "alerts": alerts,
    })
}

/// Alertmanager's "not resolved yet" `endsAt`.
pub const ZERO: &str = "0001-01-01T00:00:00Z";

/// A component's status as summary.json shows it.
pub async fn public_status(app: &TestApp, component_id: &str) -> String {
    let r = read(
        app.client
            .get(app.url(&format!("/p/{}/api/v2/summary.json", app.page.slug)))
            .send()
            .await
            .expect("summary"),
    )
    .await;
    let v = r.json();
    v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == component_id)
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Audit entries of `action` made by integration `id`.
pub async fn audited(app: &TestApp, id: &str, action: &str) -> Vec<herald_store::AuditEntry> {
    app.store
        .list_audit(Some(&app.page.id), 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor_type == "integration" && e.actor_id == id && e.action == action)
        .collect()
}

/// Component-change notification events recorded for `component_id` (each one fans out to
/// the component's subscribers once).
pub async fn component_events(app: &TestApp, component_id: &str) -> usize {
    // Jobs move between states while the listing below reads one state after another: wait
    // until every fan-out has run, so each is counted once.
    crate::notify_support::wait_idle(&app.store, "notify.fanout").await;
    let mut n = 0;
    for state in herald_store::JobState::ALL {
        for j in app.store.list_jobs(state, 10_000).await.unwrap() {
            if j.kind != "notify.fanout" {
                continue;
            }
            let Some(id) = j.payload["event_id"].as_str() else {
                continue;
            };
            if let Some(e) = app.store.get_event(id).await.unwrap()
                && e.component_id.as_ref().map(ComponentId::as_str) == Some(component_id)
            {
                n += 1;
            }
        }
    }
    n
}
