//! A real Alertmanager (Debian's `prometheus-alertmanager`) on loopback, configured with
//! herald's webhook URL as its receiver and fed alerts through its HTTP API
//! (`POST /api/v2/alerts`): firing changes summary.json, resolved brings the component back,
//! a stale firing after the resolve changes nothing, an open incident holds the change back
//! (audited), and two clustered Alertmanagers that both deliver make one change and one
//! webhook delivery to the component's subscriber.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::automation_support::{audited, component_events, integration, public_status};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, figure};
use crate::notify_support::{Receiver, wait_idle};

/// One Alertmanager process, killed on drop.
pub struct Alertmanager {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub web: String,
    _dir: tempfile::TempDir,
    /// What it logged, shown when a test fails.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            for line in self.log.lock().unwrap().iter() {
                eprintln!("alertmanager {}: {line}", self.web);
            }
        }
    }
}

impl Alertmanager {
    /// Starts an Alertmanager sending every group to `hook` at once (`group_wait` 0,
    /// `group_interval` 1 s); clustered with `peer` when given (`Some("")`: the first of a
    /// cluster), else alone.
    pub fn start(hook: &str, peer: Option<&str>) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "route:\n  receiver: herald\n  group_by: ['alertname', 'component']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n- name: herald\n  webhook_configs:\n  - url: '{hook}'\n    send_resolved: true\n"
        );
        std::fs::write(dir.path().join("am.yml"), config).unwrap();
        let mut cmd = Command::new("prometheus-alertmanager");
        cmd.arg(format!(
            "--config.file={}",
            dir.path().join("am.yml").display()
        ))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:0")
        .arg("--log.level=debug");
        match peer {
            None => {
                cmd.arg("--cluster.listen-address=");
            }
            Some(p) => {
                // A peer timeout of 0 and slow gossip: each member sends at once, before
                // gossip can tell it the other did, so herald does receive the duplicates it
                // must absorb (with Alertmanager's defaults it usually would, not always).
                // A short settle timeout lets the members notify without waiting a minute.
                cmd.arg("--cluster.listen-address=127.0.0.1:0")
                    .arg("--cluster.peer-timeout=0s")
                    .arg("--cluster.gossip-interval=10s")
                    .arg("--cluster.settle-timeout=1s");
                if !p.is_empty() {
                    cmd.arg(format!("--cluster.peer={p}"));
                }
            }
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("prometheus-alertmanager (Debian package prometheus-alertmanager; scripts/test.sh installs it)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                keep.lock().unwrap().push(line.clone());
                if let Some(rest) = line.split("msg=\"Listening on\" address=").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("Alertmanager did not say where it listens");
        Alertmanager {
            child,
            web: format!("http://{addr}"),
            _dir: dir,
            log,
        }
    }

    /// Log lines containing `needle`.
    pub fn logged(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Whether this member has settled the group: it delivered it, or it flushed the group
    /// three times without delivering (its notification log says a peer did: HA dedup).
    pub fn settled(&self) -> bool {
        self.logged("msg=\"Notify success\"") >= 1 || self.logged("msg=flushing") >= 3
    }

    /// This member's gossip address, for `--cluster.peer`.
    pub async fn cluster_address(&self) -> String {
        let s: Value = reqwest::get(format!("{}/api/v2/status", self.web))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let me = s["cluster"]["name"].clone();
        s["cluster"]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == me)
            .and_then(|p| p["address"].as_str())
            .unwrap()
            .to_owned()
    }

    /// Posts alerts as Prometheus does.
    pub async fn post(&self, alerts: &Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v2/alerts", self.web))
            .json(alerts)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
}

fn am_alert(component: &str, severity: &str, starts: &str, ends: Option<&str>) -> Value {
    let mut a = json!({
        "labels": {"alertname": "ApiDown", "component": component, "severity": severity},
        "annotations": {"summary": "the API answers 5xx"},
        "startsAt": starts,
        "generatorURL": "http://prometheus.example/graph",
    });
    if let Some(e) = ends {
        a["endsAt"] = json!(e);
    }
    json!([a])
}

/// Waits until `check` holds (the Alertmanager delivers on its own schedule).
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check().await {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn requests(app: &TestApp, id: &str) -> i64 {
    app.get(&app.page_path(&format!("/integrations/{id}")))
        .await
        .json()["requests"]
        .as_i64()
        .unwrap()
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn a_real_alertmanager_moves_the_component_and_never_reopens_it(b: Backend) {
    // Arrange
    use herald_domain::clock::{Clock, SystemClock};
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await;
    let id = api["id"].as_str().unwrap().to_owned();
    let am_int = integration(
        &app,
        json!({"type": "alertmanager", "name": "Prometheus", "flap_window_seconds": 0}),
    )
    .await;
    let am = Alertmanager::start(&am_int.url, None);
    let started = SystemClock.now() - chrono::TimeDelta::minutes(5);
    // Act: firing
    let sent = Instant::now();
    am.post(&am_alert("API", "critical", &rfc3339(started), None))
        .await;
    // Assert
    until("firing reaches summary.json", || async {
        public_status(&app, &id).await == "major_outage"
    })
    .await;
    figure("automation_alertmanager_end_to_end", sent.elapsed());
    // Act: resolved
    am.post(&am_alert(
        "API",
        "critical",
        &rfc3339(started),
        Some(&rfc3339(SystemClock.now())),
    ))
    .await;
    until("resolved reaches summary.json", || async {
        public_status(&app, &id).await == "operational"
    })
    .await;
    // Act: a stale firing of the same occurrence (same startsAt) after the resolve
    let seen = requests(&app, &am_int.id).await;
    am.post(&am_alert("API", "critical", &rfc3339(started), None))
        .await;
    until("the stale firing is delivered", || async {
        requests(&app, &am_int.id).await > seen
    })
    .await;
    // Assert: it changed nothing
    assert_eq!(public_status(&app, &id).await, "operational");
    assert_eq!(audited(&app, &am_int.id, "component.update").await.len(), 2);
    assert_eq!(component_events(&app, &id).await, 2);
}

async fn a_real_alertmanager_is_held_back_by_an_open_incident(b: Backend) {
    // Arrange
    use herald_domain::clock::{Clock, SystemClock};
    let app = TestApp::spawn(b).await;
    let api = app.component("API").await;
    let id = api["id"].as_str().unwrap().to_owned();
    app.incident(json!({"name": "API errors", "status": "identified", "component_ids": [id], "components": {id.as_str(): "degraded_performance"}})).await;
    let am_int = integration(
        &app,
        json!({"type": "alertmanager", "name": "Prometheus", "flap_window_seconds": 0}),
    )
    .await;
    let am = Alertmanager::start(&am_int.url, None);
    // Act
    am.post(&am_alert(
        "API",
        "critical",
        &rfc3339(SystemClock.now()),
        None,
    ))
    .await;
    until("the alert is delivered", || async {
        requests(&app, &am_int.id).await >= 1
    })
    .await;
    // Assert
    assert_eq!(public_status(&app, &id).await, "degraded_performance");
    let held = audited(&app, &am_int.id, "automation.held_back").await;
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].changes["status"],
        json!(["degraded_performance", "major_outage"])
    );
    assert!(
        audited(&app, &am_int.id, "component.update")
            .await
            .is_empty()
    );
}

async fn two_clustered_alertmanagers_make_one_change_and_one_delivery(b: Backend) {
    // Arrange: a webhook subscriber of the component, two Alertmanagers in one cluster
    use herald_domain::clock::{Clock, SystemClock};
    let rx = Receiver::start().await;
    let app = TestApp::spawn_with(b, |c| c.egress_allow = "127.0.0.0/8".into()).await;
    let api = app.component("API").await;
    let id = api["id"].as_str().unwrap().to_owned();
    let sub = app
        .post(&app.page_path("/subscribers"), &json!({"subscriber": {"endpoint": rx.url("/hook"), "email": "ops@example.com", "component_ids": [id]}}))
        .await;
    assert_eq!(sub.status, StatusCode::CREATED, "{}", sub.text);
    let am_int = integration(
        &app,
        json!({"type": "alertmanager", "name": "Prometheus HA", "flap_window_seconds": 0}),
    )
    .await;
    let first = Alertmanager::start(&am_int.url, Some(""));
    let second = Alertmanager::start(&am_int.url, Some(&first.cluster_address().await));
    // Act: Prometheus sends every alert to every Alertmanager
    let alert = am_alert("API", "error", &rfc3339(SystemClock.now()), None);
    first.post(&alert).await;
    second.post(&alert).await;
    // Assert: each member delivered or left it to its peer; whatever reached herald made
    // one change, one event and one webhook delivery
    until("both Alertmanagers settle the group", || async {
        first.settled() && second.settled()
    })
    .await;
    let sent = first.logged("msg=\"Notify success\"") + second.logged("msg=\"Notify success\"");
    eprintln!("deliveries herald received from the two Alertmanagers: {sent}");
    until("herald answered every delivery", || async {
        requests(&app, &am_int.id).await as usize >= sent
    })
    .await;
    assert!(sent >= 1);
    assert_eq!(public_status(&app, &id).await, "partial_outage");
    assert_eq!(audited(&app, &am_int.id, "component.update").await.len(), 1);
    assert_eq!(component_events(&app, &id).await, 1);
    rx.wait_for("/hook", 1).await;
    wait_idle(&app.store, "notify.fanout").await;
    wait_idle(&app.store, "deliver.http").await;
    let hits = rx.hits("/hook");
    assert_eq!(hits.len(), 1, "{hits:?}");
    let body: Value = serde_json::from_str(&hits[0].body).unwrap();
    assert_eq!(
        body["component_update"]["new_status"], "partial_outage",
        "{body}"
    );
}

both_backends!(
    a_real_alertmanager_moves_the_component_and_never_reopens_it,
    a_real_alertmanager_is_held_back_by_an_open_incident,
    two_clustered_alertmanagers_make_one_change_and_one_delivery,
);
