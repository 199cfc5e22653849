//! `herald import statuspage` as a process, against the recorded-shapes fixture
//! (`import_fixture.rs`, `import_data.rs`), into a running herald's database on both
//! backends: every field that matters arrives, lists are paged, a 429 is waited out, a run
//! cut off midway resumes, bad sources and bad records get messages naming them.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::PageId;
use herald_domain::status::ComponentStatus;
use herald_domain::subscriber::SubscriberState;
use herald_store::SubscriberQuery;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::import_data::{
    self, API, CDN, DASH, DATADOG, ERRORS, GROUP, LATENCY, MAINTENANCE, OPEN, PAGE, POSTMORTEM,
    SELF_PROVIDER,
};
use crate::import_fixture::Fixture;

pub const KEY: &str = "sp-key-0123456789abcdef";

/// What one run of the command did.
pub struct Ran {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `herald import statuspage` on `db_url` against `base`, with `--rate 0` unless
/// `extra` says otherwise.
pub async fn import(db_url: &str, base: &str, page: &str, key: &str, extra: &[&str]) -> Ran {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "import",
            "statuspage",
            "--base-url",
            base,
            "--page-id",
            page,
        ])
        .args(if extra.contains(&"--rate") {
            &[][..]
        } else {
            &["--rate", "0"][..]
        })
        .args(extra)
        .env("HERALD_DATABASE_URL", db_url)
        .env("HERALD_IMPORT_API_KEY", key)
        .env("HERALD_CONFIG", "/nonexistent/herald.toml")
        .env("RUST_LOG", "info")
        .output()
        .await
        .expect("run herald import");
    let ran = Ran {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !ran.stdout.contains(key) && !ran.stderr.contains(key),
        "the API key was printed"
    );
    ran
}

fn instant(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .map(|s| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

/// Asserts that `got` has `want`'s value for each key (timestamps compared as instants).
fn same_fields(what: &str, want: &Value, got: &Value, keys: &[&str]) {
    for k in keys {
        let (w, g) = (&want[*k], &got[*k]);
        if k.ends_with("_at") || k.ends_with("_for") || k.ends_with("_until") {
            assert_eq!(instant(w), instant(g), "{what}.{k}: want {w}, got {g}");
        } else {
            assert_eq!(w, g, "{what}.{k}");
        }
    }
}

async fn all_of(app: &TestApp, key: &str, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for n in 1.. {
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = app
            .send_as(
                key,
                reqwest::Method::GET,
                &format!("{path}{sep}page={n}&per_page=100"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let items = r.json().as_array().unwrap().clone();
        if items.is_empty() {
            return out;
        }
        out.extend(items);
    }
    out
}

async fn statuspage_import_copies_every_field_and_is_idempotent(b: Backend) {
    // Arrange: a recorded page; the fixture answers its 7th request with a 429
    let now = SystemClock.now();
    let data = import_data::statuspage(now);
    let fixture = Fixture::start(data.clone(), KEY).await;
    fixture.throttle_at(7);
    let app = TestApp::spawn(b).await;
    let key = app.new_key(None, false).await;
    // Act
    let ran = import(&app.db.url, &fixture.base(), PAGE, KEY, &["--subscribers"]).await;
    // Assert: the summary counts and reasons
    assert!(ran.ok, "{}\n{}", ran.stdout, ran.stderr);
    let total = import_data::RESOLVED + 2;
    assert!(
        ran.stdout
            .contains(&format!("incidents: created {total}, updated 0")),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("components: created 4"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("subscribers: created 5"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("skipped subscribers sub000slack1: a slack subscriber without an endpoint"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("skipped subscribers sub0000part1: mode \"integration_partner\""),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("custom domain status.acme.example not copied"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("1 rate-limit waits"), "{}", ran.stdout);
    assert!(
        fixture
            .auth_headers()
            .iter()
            .all(|h| *h == format!("OAuth {KEY}"))
    );
    // the page, its settings and branding
    let page = app
        .send_as(
            &key,
            reqwest::Method::GET,
            &format!("/v1/pages/{PAGE}"),
            None,
        )
        .await
        .json();
    same_fields(
        "page",
        &data.page,
        &page,
        &[
            "id",
            "name",
            "page_description",
            "headline",
            "branding",
            "subdomain",
            "url",
            "support_url",
            "hidden_from_search",
            "allow_page_subscribers",
            "allow_incident_subscribers",
            "allow_email_subscribers",
            "allow_sms_subscribers",
            "allow_rss_atom_feeds",
            "allow_webhook_subscribers",
            "notifications_from_email",
            "notifications_email_footer",
            "twitter_username",
            "city",
            "state",
            "country",
            "time_zone",
            "email_logo",
            "created_at",
        ],
    );
    assert_eq!(page["slug"], "acme-sp");
    assert_eq!(page["css_greens"], "#2fcc66");
    assert_eq!(page["favicon_logo"], "https://cdn.example/favicon.png");
    assert_eq!(page["domain"], Value::Null);
    // components and the group: ids, order, grouping, settings, times
    let comps = all_of(&app, &key, &format!("/v1/pages/{PAGE}/components")).await;
    for want in &data.components {
        let got = comps
            .iter()
            .find(|c| c["id"] == want["id"])
            .expect("component imported");
        same_fields(
            "component",
            want,
            got,
            &[
                "name",
                "group_id",
                "group",
                "position",
                "status",
                "created_at",
                "updated_at",
            ],
        );
        if want["group"] == false {
            same_fields(
                "component",
                want,
                got,
                &[
                    "description",
                    "showcase",
                    "only_show_if_degraded",
                    "start_date",
                ],
            );
        }
    }
    let groups = all_of(&app, &key, &format!("/v1/pages/{PAGE}/component-groups")).await;
    assert_eq!(groups[0]["id"], GROUP);
    assert_eq!(groups[0]["description"], "The core platform");
    assert_eq!(groups[0]["components"], json!([API, DASH]));
    // every incident and maintenance with its whole timeline
    let incidents = all_of(&app, &key, &format!("/v1/pages/{PAGE}/incidents")).await;
    assert_eq!(incidents.len(), total);
    for want in &data.incidents {
        let got = incidents
            .iter()
            .find(|i| i["id"] == want["id"])
            .expect("incident imported");
        same_fields(
            "incident",
            want,
            got,
            &[
                "name",
                "status",
                "impact",
                "impact_override",
                "created_at",
                "updated_at",
                "started_at",
                "monitoring_at",
                "resolved_at",
                "metadata",
                "postmortem_body",
                "postmortem_published_at",
                "postmortem_notified_subscribers",
                "scheduled_for",
                "scheduled_until",
                "scheduled_remind_prior",
                "scheduled_auto_in_progress",
                "scheduled_auto_completed",
                "auto_transition_to_maintenance_state",
                "backfilled",
            ],
        );
        let (wu, gu) = (
            want["incident_updates"].as_array().unwrap(),
            got["incident_updates"].as_array().unwrap(),
        );
        assert_eq!(wu.len(), gu.len(), "updates of {}", want["id"]);
        for (w, g) in wu.iter().zip(gu) {
            same_fields(
                "update",
                w,
                g,
                &[
                    "id",
                    "status",
                    "body",
                    "display_at",
                    "created_at",
                    "deliver_notifications",
                ],
            );
            let real: Vec<&Value> = w["affected_components"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a.get("code").is_some())
                .collect();
            let got_ac: Vec<&Value> = g["affected_components"]
                .as_array()
                .into_iter()
                .flatten()
                .collect();
            assert_eq!(real, got_ac, "affected components of {}", w["id"]);
        }
        let want_c: Vec<&Value> = want["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["id"])
            .collect();
        let got_c: Vec<&Value> = got["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["id"])
            .collect();
        assert_eq!(want_c, got_c, "components of {}", want["id"]);
    }
    let pm = incidents.iter().find(|i| i["id"] == POSTMORTEM).unwrap();
    assert_eq!(pm["impact_override"], "critical");
    let mnt = incidents.iter().find(|i| i["id"] == MAINTENANCE).unwrap();
    assert_eq!(mnt["status"], "scheduled");
    // the template
    let templates = all_of(&app, &key, &format!("/v1/pages/{PAGE}/incident_templates")).await;
    same_fields(
        "template",
        &data.templates[0],
        &templates[0],
        &[
            "id",
            "name",
            "title",
            "body",
            "update_status",
            "should_send_notifications",
        ],
    );
    assert_eq!(templates[0]["components"][0]["id"], API);
    // subscribers with their state and components, and nothing sent to anyone
    let subs = app
        .store
        .list_subscribers(
            &PageId::from(PAGE),
            &SubscriberQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let state_of = |id: &str| subs.iter().find(|s| s.id == id).map(|s| s.state);
    assert_eq!(state_of("sub000alice1"), Some(SubscriberState::Active));
    assert_eq!(state_of("sub00000bob1"), Some(SubscriberState::Unconfirmed));
    assert_eq!(state_of("sub0000hook1"), Some(SubscriberState::Quarantined));
    assert_eq!(
        subs.iter()
            .find(|s| s.id == "sub000alice1")
            .unwrap()
            .component_ids,
        vec![API.to_owned()]
    );
    assert_eq!(
        subs.iter()
            .find(|s| s.id == "sub00000sms1")
            .unwrap()
            .phone_number
            .as_deref(),
        Some("+14155550100")
    );
    for state in herald_store::JobState::ALL {
        assert!(
            app.store.list_jobs(state, 10).await.unwrap().is_empty(),
            "the import queued a job ({state:?})"
        );
    }
    // the uptime history comes from the incidents' affected components
    let log = app
        .store
        .status_log(&PageId::from(PAGE), now - TimeDelta::days(10))
        .await
        .unwrap();
    let of_api: Vec<(ComponentStatus, DateTime<Utc>)> = log
        .iter()
        .filter(|e| e.component_id == API)
        .map(|e| (e.status, e.at))
        .collect();
    let t5 = instant(
        &data
            .incidents
            .iter()
            .find(|i| i["id"] == "inc000000005")
            .unwrap()["created_at"],
    )
    .unwrap();
    assert!(
        of_api.contains(&(ComponentStatus::MajorOutage, t5)),
        "{of_api:?}"
    );
    assert!(
        of_api.contains(&(ComponentStatus::Operational, t5 + TimeDelta::hours(1))),
        "{of_api:?}"
    );
    let of_dash: Vec<ComponentStatus> = log
        .iter()
        .filter(|e| e.component_id == DASH)
        .map(|e| e.status)
        .collect();
    assert_eq!(of_dash.last(), Some(&ComponentStatus::DegradedPerformance));
    // the running herald shows the page, bars included
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = app.public("/p/acme-sp/api/v2/summary.json", &[]).await;
        if r.status == 200 && r.text.contains(CDN) && r.text.contains(OPEN) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the running herald never showed the import: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Act 2: the same command again
    let again = import(&app.db.url, &fixture.base(), PAGE, KEY, &["--subscribers"]).await;
    // Assert 2: nothing written twice
    assert!(again.ok, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains(&format!(
            "incidents: created 0, updated 0, already there {total}"
        )),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("components: created 0, updated 0, already there 4"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("subscribers: created 0, updated 0, already there 5"),
        "{}",
        again.stdout
    );
    let log2 = app
        .store
        .status_log(&PageId::from(PAGE), now - TimeDelta::days(10))
        .await
        .unwrap();
    assert_eq!(log.len(), log2.len(), "history was logged twice");
}

async fn an_import_cut_off_midway_resumes_where_it_stopped(b: Backend) {
    // Arrange: the source fails from its 7th request on (the second page of incidents)
    let data = import_data::statuspage(SystemClock.now());
    let fixture = Fixture::start(data, KEY).await;
    fixture.fail_from(Some(7));
    let app = TestApp::spawn(b).await;
    // Act 1
    let first = import(&app.db.url, &fixture.base(), PAGE, KEY, &["--retries", "2"]).await;
    // Assert 1: a clear message; the first page of incidents is in, whole
    assert!(!first.ok);
    assert!(
        first.stderr.contains(
            "reading incidents (list page 2): the source failed (HTTP 500), 2 attempt(s)"
        ),
        "{}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains("run the same command again to resume"),
        "{}",
        first.stderr
    );
    assert_eq!(
        app.store
            .incident_ids(&PageId::from(PAGE))
            .await
            .unwrap()
            .len(),
        100
    );
    // Act 2: the source is back
    fixture.fail_from(None);
    let second = import(&app.db.url, &fixture.base(), PAGE, KEY, &[]).await;
    // Assert 2: the rest arrives, nothing twice
    assert!(second.ok, "{}\n{}", second.stdout, second.stderr);
    let total = import_data::RESOLVED + 2;
    assert!(
        second.stdout.contains(&format!(
            "incidents: created {}, updated 0, already there 100",
            total - 100
        )),
        "{}",
        second.stdout
    );
    assert_eq!(
        app.store
            .incident_ids(&PageId::from(PAGE))
            .await
            .unwrap()
            .len(),
        total
    );
    // and the running herald, which held the page since the first run, shows them
    let oldest = format!("/p/acme-sp/incidents/inc{:09}", import_data::RESOLVED);
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.public(&oldest, &[]).await.status != 200 {
        assert!(
            Instant::now() < deadline,
            "the running herald never showed {oldest}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn bad_sources_and_bad_records_get_messages_naming_them(b: Backend) {
    // Arrange: odd records among good ones
    let mut data = import_data::statuspage(SystemClock.now());
    let mut long = data.incidents[5].clone();
    long["id"] = json!("inclongname1");
    long["name"] = json!("x".repeat(300));
    let mut bad_id = data.incidents[6].clone();
    bad_id["id"] = json!("NOT-AN-ID");
    let dup = data.incidents[7].clone();
    let mut bad_status = data.incidents[8].clone();
    bad_status["id"] = json!("incbadstatus");
    bad_status["status"] = json!("on_fire");
    data.incidents.extend([long, bad_id, dup, bad_status]);
    let fixture = Fixture::start(data, KEY).await;
    let app = TestApp::spawn(b).await;
    // Act + Assert: a wrong key
    let r = import(&app.db.url, &fixture.base(), PAGE, "wrong-key", &[]).await;
    assert!(!r.ok);
    assert!(
        r.stderr
            .contains("reading page: the source refused the API key (HTTP 401)"),
        "{}",
        r.stderr
    );
    // a wrong page id
    let r = import(&app.db.url, &fixture.base(), "zzzzzzzzzzzz", KEY, &[]).await;
    assert!(!r.ok);
    assert!(
        r.stderr
            .contains("the source has no page zzzzzzzzzzzz (HTTP 404)"),
        "{}",
        r.stderr
    );
    // a body cut off in the middle
    fixture.break_path(Some("/incident_templates"));
    let r = import(&app.db.url, &fixture.base(), PAGE, KEY, &["--retries", "1"]).await;
    assert!(!r.ok);
    assert!(
        r.stderr
            .contains("reading templates (list page 1): the source sent malformed JSON"),
        "{}",
        r.stderr
    );
    // the records herald refuses are skipped with why; the others are all in
    fixture.break_path(None);
    let r = import(&app.db.url, &fixture.base(), PAGE, KEY, &[]).await;
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("skipped incidents inclongname1: incident.name is too long"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "skipped incidents NOT-AN-ID: id \"NOT-AN-ID\" is not 12 lowercase letters and digits"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("skipped incidents inc000000006: listed twice in incidents"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "skipped incidents incbadstatus: status \"on_fire\" is not a value herald knows"
        ),
        "{}",
        r.stdout
    );
    assert_eq!(
        app.store
            .incident_ids(&PageId::from(PAGE))
            .await
            .unwrap()
            .len(),
        import_data::RESOLVED + 2
    );
}

async fn a_dry_run_reads_everything_and_writes_nothing(b: Backend) {
    // Arrange
    let fixture = Fixture::start(import_data::statuspage(SystemClock.now()), KEY).await;
    let app = TestApp::spawn(b).await;
    let pages_before = app.store.list_pages(true).await.unwrap().len();
    // Act
    let r = import(
        &app.db.url,
        &fixture.base(),
        PAGE,
        KEY,
        &["--dry-run", "--subscribers"],
    )
    .await;
    // Assert
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("dry run: nothing was written"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "incidents: would create {}",
            import_data::RESOLVED + 2
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("subscribers: would create 5"),
        "{}",
        r.stdout
    );
    assert!(
        app.store
            .get_page(&PageId::from(PAGE))
            .await
            .unwrap()
            .is_none(),
        "a dry run wrote the page"
    );
    assert_eq!(
        app.store.list_pages(true).await.unwrap().len(),
        pages_before
    );
    // and against a page already imported, it finds everything there
    assert!(
        import(&app.db.url, &fixture.base(), PAGE, KEY, &[])
            .await
            .ok
    );
    let r = import(&app.db.url, &fixture.base(), PAGE, KEY, &["--dry-run"]).await;
    assert!(
        r.stdout.contains(&format!(
            "incidents: would create 0, would update 0, already there {}",
            import_data::RESOLVED + 2
        )),
        "{}",
        r.stdout
    );
}

async fn the_rate_limit_spaces_requests(b: Backend) {
    // Arrange: a small page, 20 requests a second
    let mut data = import_data::statuspage(SystemClock.now());
    data.incidents.truncate(3);
    let fixture = Fixture::start(data, KEY).await;
    let app = TestApp::spawn(b).await;
    // Act
    let started = Instant::now();
    let r = import(&app.db.url, &fixture.base(), PAGE, KEY, &["--rate", "20"]).await;
    let took = started.elapsed();
    // Assert: n requests take at least (n - 1) gaps
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    let n = fixture.requests();
    assert!(
        took >= Duration::from_millis(50 * (n - 1)),
        "{n} requests in {took:?}"
    );
}

async fn metrics_providers_and_metrics_arrive_with_their_ids(b: Backend) {
    // Arrange: a Self provider with a pushed metric and a Datadog provider with a query
    let data = import_data::statuspage(SystemClock.now());
    let fixture = Fixture::start(data.clone(), KEY).await;
    let app = TestApp::spawn(b).await;
    let key = app.new_key(None, false).await;
    // Act
    let ran = import(&app.db.url, &fixture.base(), PAGE, KEY, &[]).await;
    // Assert: counted, the Datadog provider reported as needing credentials
    assert!(ran.ok, "{}\n{}", ran.stdout, ran.stderr);
    for line in [
        "metrics providers: created 2, updated 0",
        "metrics: created 2, updated 0",
        &format!("metrics provider {DATADOG} (Datadog) needs credentials"),
    ] {
        assert!(ran.stdout.contains(line), "{line:?} not in {}", ran.stdout);
    }
    // the providers and metrics through the v1 API, ids and fields kept
    let providers = all_of(&app, &key, &format!("/v1/pages/{PAGE}/metrics_providers")).await;
    assert_eq!(providers.len(), 2, "{providers:?}");
    for want in &data.providers {
        let got = providers.iter().find(|p| p["id"] == want["id"]).unwrap();
        same_fields(
            "provider",
            want,
            got,
            &[
                "id",
                "type",
                "metric_base_uri",
                "created_at",
                "updated_at",
                "page_id",
            ],
        );
    }
    let by_id = |id: &str| providers.iter().find(|p| p["id"] == id).unwrap().clone();
    assert_eq!(by_id(SELF_PROVIDER)["disabled"], false);
    assert_eq!(
        by_id(DATADOG)["disabled"],
        true,
        "a provider without credentials is polled"
    );
    let metrics = all_of(&app, &key, &format!("/v1/pages/{PAGE}/metrics")).await;
    let ids: Vec<&str> = metrics.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [LATENCY, ERRORS], "the page's order");
    for (want, got) in data.metrics.iter().zip(&metrics) {
        same_fields(
            "metric",
            want,
            got,
            &[
                "id",
                "metrics_provider_id",
                "metric_identifier",
                "name",
                "display",
                "tooltip_description",
                "y_axis_min",
                "y_axis_max",
                "y_axis_hidden",
                "suffix",
                "decimal_places",
                "created_at",
                "updated_at",
            ],
        );
    }
    assert!(
        app.store.pulled_metrics().await.unwrap().is_empty(),
        "the Datadog provider is polled without credentials"
    );
    // the pushed metric takes points and is charted on the public page
    let r = app
        .send_as(
            &key,
            reqwest::Method::POST,
            &format!("/v1/pages/{PAGE}/metrics/{LATENCY}/data"),
            Some(
                &json!({"data": {"timestamp": SystemClock.now().timestamp() - 60, "value": 12.5}}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Act 2: an operator sets the Datadog credentials and enables it; the import runs again
    let r = app
        .send_as(
            &key,
            reqwest::Method::PATCH,
            &format!("/v1/pages/{PAGE}/metrics_providers/{DATADOG}"),
            Some(&json!({"metrics_provider": {"api_key": "dd-api", "application_key": "dd-app", "disabled": false}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let again = import(&app.db.url, &fixture.base(), PAGE, KEY, &[]).await;
    // Assert 2: nothing written twice, the credentials and the enabled flag kept
    assert!(again.ok, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again
            .stdout
            .contains("metrics: created 0, updated 0, already there 2"),
        "{}",
        again.stdout
    );
    assert!(
        !again.stdout.contains("needs credentials"),
        "{}",
        again.stdout
    );
    let dd = app
        .store
        .get_provider(&PageId::from(PAGE), DATADOG)
        .await
        .unwrap()
        .unwrap();
    assert!(!dd.disabled && dd.credentials.api_key.is_some(), "{dd:?}");
    let latency = app
        .store
        .get_metric(&PageId::from(PAGE), LATENCY)
        .await
        .unwrap()
        .unwrap();
    assert!(
        latency.most_recent_data_at.is_some(),
        "the re-run touched the metric's data"
    );
    // Act 3: a dry run against the page as the import left it
    let dry = import(&app.db.url, &fixture.base(), PAGE, KEY, &["--dry-run"]).await;
    // Assert 3: it finds every provider and metric there, none to update
    assert!(dry.ok, "{}\n{}", dry.stdout, dry.stderr);
    for line in [
        "metrics providers: would create 0, would update 0, already there 2",
        "metrics: would create 0, would update 0, already there 2",
    ] {
        assert!(dry.stdout.contains(line), "{line:?} not in {}", dry.stdout);
    }
}

both_backends!(
    metrics_providers_and_metrics_arrive_with_their_ids,
    statuspage_import_copies_every_field_and_is_idempotent,
    an_import_cut_off_midway_resumes_where_it_stopped,
    bad_sources_and_bad_records_get_messages_naming_them,
    a_dry_run_reads_everything_and_writes_nothing,
    the_rate_limit_spaces_requests,
);
