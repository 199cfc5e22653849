//! `/history.atom` and `/history.rss` (STATUSPAGE-API.md §1.7), as insta snapshots. The
//! page is written through the store at fixed past times, so only ids and the port vary.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use herald_domain::actor::Actor;
use herald_domain::id::{IncidentId, PageId};
use herald_domain::incident::{IncidentInput, plan_create, plan_update};
use herald_domain::page::NewPage;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp};

fn input(v: serde_json::Value) -> IncidentInput {
    serde_json::from_value(v).unwrap()
}

/// Waits for the version poll to publish a page written behind the server's back, up to
/// the write that put `needle` in it.
pub async fn wait_for(app: &TestApp, path: &str, needle: &str) -> Resp {
    for _ in 0..60 {
        let r = app.public(path, &[]).await;
        if r.status == StatusCode::OK && r.text.contains(needle) {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never appeared");
}

async fn feeds_list_incidents_newest_first_with_escaped_updates(b: Backend) {
    // Arrange: a page with two incidents, written at fixed times
    let app = TestApp::spawn(b).await;
    let t0: DateTime<Utc> = Utc.with_ymd_and_hms(2025, 3, 4, 10, 0, 0).unwrap();
    let actor = Actor::cli();
    let store = &app.store;
    let page = store
        .create_page(
            &NewPage::parse("Feeds & <Co>", "feeds", None).unwrap(),
            &actor,
            t0,
        )
        .await
        .unwrap();
    let first = input(json!({"name": "DNS <failures>", "status": "investigating",
        "body": "Looking at \"resolvers\" & <caches>."}));
    let a = store
        .create_incident(
            &page.id,
            &actor,
            t0 + TimeDelta::minutes(5),
            &first.named_components(),
            |p, c, at| plan_create(&first, &p.id, c, at, p.zone),
        )
        .await
        .unwrap();
    let fix = input(json!({"status": "resolved", "body": "Fixed <b>it</b>."}));
    store
        .update_incident(
            &page.id,
            &IncidentId::from(&a.id),
            &actor,
            t0 + TimeDelta::minutes(50),
            &fix.named_components(),
            |p, i, c, at| plan_update(i, &fix, c, at, p.zone),
        )
        .await
        .unwrap();
    let second =
        input(json!({"name": "Slow API", "status": "identified", "body": "A slow query."}));
    let b2 = store
        .create_incident(
            &page.id,
            &actor,
            t0 + TimeDelta::hours(3),
            &second.named_components(),
            |p, c, at| plan_create(&second, &p.id, c, at, p.zone),
        )
        .await
        .unwrap();
    // Act
    let atom = wait_for(&app, "/p/feeds/history.atom", "Slow API").await;
    let rss = app.public("/p/feeds/history.rss", &[]).await;
    // Assert
    assert_eq!(
        atom.headers["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(
        rss.headers["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let redact = |s: &str| {
        let mut s = s.replace(&app.addr.to_string(), "[addr]");
        for (id, name) in [
            (&page.id, "[page]"),
            (&PageId::from(&a.id), "[a]"),
            (&PageId::from(&b2.id), "[b]"),
        ] {
            s = s.replace(id.as_str(), name);
            let n = u64::from_str_radix(id.as_str(), 36).unwrap().to_string();
            s = s.replace(&n, &format!("{name}#"));
        }
        s
    };
    assert!(!atom.text.contains("<failures>") && !atom.text.contains("<b>it"));
    insta::assert_snapshot!("feed_atom", redact(&atom.text));
    insta::assert_snapshot!("feed_rss", redact(&rss.text));
}

async fn feeds_can_be_turned_off(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"allow_rss_atom_feeds": false}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Act + Assert
    assert_eq!(
        app.public("/history.atom", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.public("/history.rss", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!app.public("/", &[]).await.text.contains("history.atom"));
}

both_backends!(
    feeds_list_incidents_newest_first_with_escaped_updates,
    feeds_can_be_turned_off
);
