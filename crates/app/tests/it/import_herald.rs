//! Herald to herald: the demo page imported from one running herald into another through
//! the v1 API, and compared through both heralds' v2 documents and v1 lists; and imported
//! subscribers, who hear of the next incident but got nothing from the import itself.

use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::{Clock, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Node, Resp, TestApp, TestDb, read};
use crate::import_data::{self, API, PAGE};
use crate::import_fixture::Fixture;
use crate::import_statuspage::{KEY, import};
use crate::notify_support::{SmtpSink, wait_idle};

/// `v` with the server's own address replaced and the page's update time and URL left out:
/// what may differ between two heralds serving the same page.
fn comparable(v: &Value, base: &str) -> Value {
    let text = v.to_string().replace(base, "BASE");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    if let Some(page) = v.get_mut("page").and_then(Value::as_object_mut) {
        page.remove("updated_at");
        page.remove("url");
    }
    if let Some(items) = v.as_array_mut() {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            // An unconfirmed subscriber's purge is counted from when it arrived here.
            item.remove("purge_at");
        }
    }
    v
}

async fn get_as(node: &Node, key: &str, path: &str) -> Resp {
    read(
        node.client
            .get(node.url(path))
            .header("Authorization", format!("OAuth {key}"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn a_herald_copies_the_demo_page_from_another(b: Backend) {
    // Arrange: the demo page on one herald, with two subscribers; an empty herald beside it
    let src_db = TestDb::new(b).await;
    let src_store = src_db.store().await;
    let seeded = herald::demo::seed(&src_store, SystemClock.now())
        .await
        .unwrap();
    let page_id = seeded.page.id.clone();
    let source = Node::start(&src_db.url, |_| {}).await;
    let api = src_store
        .list_components(&page_id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| !c.is_group)
        .unwrap();
    for sub in [
        json!({"email": "ann@example.com", "component_ids": [api.id], "skip_confirmation_notification": true}),
        json!({"email": "ben@example.com"}),
    ] {
        let r = read(
            source
                .client
                .post(source.url(&format!("/v1/pages/{page_id}/subscribers")))
                .header("Authorization", format!("OAuth {}", seeded.api_key))
                .json(&json!({ "subscriber": sub }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let dst_db = TestDb::new(b).await;
    let dst_store = dst_db.store().await;
    // Act
    let ran = import(
        &dst_db.url,
        &source.url(""),
        page_id.as_str(),
        &seeded.api_key,
        &["--subscribers"],
    )
    .await;
    // Assert: the same v2 documents and v1 lists on both
    assert!(ran.ok, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        !ran.stdout.lines().any(|l| l.starts_with("skipped ")),
        "{}",
        ran.stdout
    );
    let target = Node::start(&dst_db.url, |_| {}).await;
    let (sb, tb) = (source.url(""), target.url(""));
    for doc in [
        "summary.json",
        "status.json",
        "components.json",
        "incidents.json",
        "incidents/unresolved.json",
        "scheduled-maintenances.json",
        "scheduled-maintenances/upcoming.json",
        "scheduled-maintenances/active.json",
    ] {
        let path = format!("/p/acme/api/v2/{doc}");
        let (a, t) = (source.get(&path).await, target.get(&path).await);
        assert_eq!(t.status, StatusCode::OK, "{path}: {}", t.text);
        assert_eq!(
            comparable(&a.json(), &sb),
            comparable(&t.json(), &tb),
            "{doc} differs"
        );
    }
    let key = apikey::generate();
    dst_store
        .create_key("test", &key, false, None, &Actor::cli(), SystemClock.now())
        .await
        .unwrap();
    for list in [
        "",
        "/components",
        "/component-groups",
        "/incidents",
        "/incident_templates",
        "/subscribers?state=all",
    ] {
        let path = format!("/v1/pages/{page_id}{list}");
        let a = get_as(&source, &seeded.api_key, &path).await;
        let t = get_as(&target, &key.secret, &path).await;
        assert_eq!(t.status, StatusCode::OK, "{path}: {}", t.text);
        let (mut a, mut t) = (comparable(&a.json(), &sb), comparable(&t.json(), &tb));
        if list.is_empty() {
            // The page object itself: its update time is the import's.
            a.as_object_mut().unwrap().remove("updated_at");
            t.as_object_mut().unwrap().remove("updated_at");
        }
        assert_eq!(a, t, "v1 {list} differs");
    }
    // Metrics: the same providers and definitions, ids kept; their points are not copied
    // (the v1 API has no read of them), so the fields about data are left out
    for list in ["/metrics_providers", "/metrics"] {
        let path = format!("/v1/pages/{page_id}{list}");
        let a = get_as(&source, &seeded.api_key, &path).await.json();
        let t = get_as(&target, &key.secret, &path).await.json();
        let strip = |v: &Value| -> Vec<Value> {
            let mut items = v.as_array().unwrap().clone();
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                for k in ["most_recent_data_at", "last_fetched_at"] {
                    item.remove(k);
                }
            }
            items
        };
        assert!(!strip(&a).is_empty(), "the demo has no {list}");
        assert_eq!(strip(&a), strip(&t), "v1 {list} differs");
    }
}

async fn imported_subscribers_hear_of_the_next_incident_and_got_nothing_before(b: Backend) {
    // Arrange
    let sink = SmtpSink::start();
    let url = sink.url();
    let fixture = Fixture::start(import_data::statuspage(SystemClock.now()), KEY).await;
    let app = TestApp::spawn_with(b, |c| c.smtp_url = Some(url)).await;
    let ran = import(&app.db.url, &fixture.base(), PAGE, KEY, &["--subscribers"]).await;
    assert!(ran.ok, "{}\n{}", ran.stdout, ran.stderr);
    let key = app.new_key(None, false).await;
    // Act: the first incident after the move
    let r = app
        .send_as(
            &key,
            reqwest::Method::POST,
            &format!("/v1/pages/{PAGE}/incidents"),
            Some(&json!({"incident": {"name": "After the move", "status": "investigating", "body": "Looking.", "component_ids": [API]}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Assert: both active e-mail subscribers get it; the unconfirmed one and everyone else
    // got nothing, and no confirmation was ever sent
    for to in ["alice@example.com", "carol@example.com"] {
        sink.wait_for(to, |m| m.header("subject").contains("After the move"))
            .await;
    }
    wait_idle(&app.store, "notify.fanout").await;
    wait_idle(&app.store, "deliver.email").await;
    let mails = sink.mails();
    assert_eq!(
        mails.len(),
        2,
        "{:#?}",
        mails
            .iter()
            .map(|m| (m.to.clone(), m.header("subject").to_owned()))
            .collect::<Vec<_>>()
    );
    assert!(
        mails
            .iter()
            .all(|m| m.header("subject").contains("After the move"))
    );
}

both_backends!(
    a_herald_copies_the_demo_page_from_another,
    imported_subscribers_hear_of_the_next_incident_and_got_nothing_before,
);
