//! The components screen (groups, order, delete) and page settings: each happy path checked
//! through the store and the public page, each bad input sent back as a form with a message
//! and nothing written, one audit entry per action.

use herald_domain::component::display_order;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_screens::{hidden, owner, refused, summary};
use crate::admin_support::{Admin, admin_page, audit_count};
use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp};

/// Top-level names in the order the page shows them.
async fn top_order(app: &TestApp) -> Vec<String> {
    let all = app.store.list_components(&app.page.id).await.unwrap();
    display_order(&all)
        .into_iter()
        .filter(|c| c.group_id.is_none())
        .map(|c| c.name.clone())
        .collect()
}

async fn admin_groups_order_and_component_delete(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let id = |v: serde_json::Value| v["id"].as_str().unwrap().to_owned();
    let api = id(app.component("API").await);
    let db = id(app.component("Database").await);
    let web = id(app.component("Website").await);
    let a = owner(&app).await;
    let (ma, mb) = (format!("member.{api}"), format!("member.{db}"));
    let mut n = audit_count(&app).await;
    // Act + Assert: the screen
    let screen = a.get(&admin_page(&app, "/components")).await;
    assert_eq!(screen.status, StatusCode::OK);
    assert!(screen.text.contains("Add a group"));
    // bad input: nothing written, input kept
    let long = "g".repeat(256);
    for (fields, message) in [
        (vec![("name", "  "), (ma.as_str(), "on")], "name"),
        (
            vec![("name", long.as_str()), (ma.as_str(), "on")],
            "too long",
        ),
        (vec![("name", "Kept group name")], "at least one component"),
        (
            vec![("name", "Kept group name"), ("member.zzzzzz", "on")],
            "no component",
        ),
    ] {
        let r = a.post(&admin_page(&app, "/groups"), &fields).await;
        refused(&r, message);
        assert_eq!(audit_count(&app).await, n);
    }
    assert!(
        a.post(&admin_page(&app, "/groups"), &[("name", "Kept group name")])
            .await
            .text
            .contains("value=\"Kept group name\"")
    );
    assert!(
        app.store
            .list_groups(&app.page.id)
            .await
            .unwrap()
            .is_empty()
    );
    // create a group of API and Database
    let r = a
        .post(
            &admin_page(&app, "/groups"),
            &[("name", "Core"), (&ma, "on"), (&mb, "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    n += 1;
    let groups = app.store.list_groups(&app.page.id).await.unwrap();
    assert_eq!(groups.len(), 1);
    let g = groups[0].id.clone();
    let s = summary(&app).await;
    let core = s["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Core")
        .expect("the group is public");
    assert_eq!(core["group"], true);
    assert_eq!(core["components"].as_array().unwrap().len(), 2);
    // rename it and keep only API
    let r = a
        .post(
            &admin_page(&app, &format!("/groups/{g}")),
            &[("name", "Core services"), (&ma, "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    n += 1;
    let all = app.store.list_components(&app.page.id).await.unwrap();
    let find = |id: &str| all.iter().find(|c| c.id == id).unwrap().clone();
    assert_eq!(find(&g).name, "Core services");
    assert_eq!(find(&api).group_id.as_deref(), Some(g.as_str()));
    assert_eq!(find(&db).group_id, None);
    assert!(app.public("/", &[]).await.text.contains("Core services"));
    // bad rename, unknown group
    refused(
        &a.post(
            &admin_page(&app, &format!("/groups/{g}")),
            &[("name", ""), (&ma, "on")],
        )
        .await,
        "name",
    );
    let unknown = a
        .post(
            &admin_page(&app, "/groups/nope"),
            &[("name", "X"), (&ma, "on")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&app).await, n);
    // order: move the first top-level item down
    let before = top_order(&app).await;
    let first = all.iter().find(|c| c.name == before[0]).unwrap().id.clone();
    let r = a
        .post(
            &admin_page(&app, &format!("/components/{first}/move")),
            &[("direction", "down")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    n += 1;
    let after = top_order(&app).await;
    assert_eq!(after[0], before[1]);
    assert_eq!(after[1], before[0]);
    let r = a
        .post(
            &admin_page(&app, &format!("/components/{first}/move")),
            &[("direction", "sideways")],
        )
        .await;
    refused(&r, "Choose up or down.");
    assert_eq!(audit_count(&app).await, n);
    assert_eq!(top_order(&app).await, after);
    // delete Website: a confirmation page first (a GET changes nothing), then the POST
    let confirm = a
        .get(&admin_page(&app, &format!("/components/{web}/delete")))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text.contains(&format!(
        "action=\"/admin/pages/{}/components/{web}/delete\"",
        app.page.id
    )));
    assert_eq!(audit_count(&app).await, n);
    let r = a
        .post(&admin_page(&app, &format!("/components/{web}/delete")), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    n += 1;
    assert!(!app.public("/", &[]).await.text.contains("Website"));
    assert!(
        !summary(&app).await["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "Website")
    );
    let again = a
        .post(&admin_page(&app, &format!("/components/{web}/delete")), &[])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&app).await, n);
}

async fn admin_page_settings_save_and_refuse_bad_or_stale_forms(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let a = owner(&app).await;
    let form = a.get(&admin_page(&app, "/settings")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text.contains("value=\"Acme Cloud\""));
    let version = hidden(&form.text, "version");
    let n = audit_count(&app).await;
    let post = |fields: Vec<(&'static str, String)>| {
        let (a, app) = (&a, &app);
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            a.post(&admin_page(app, "/settings"), &f).await
        }
    };
    let good = |name: &str, zone: &str, green: &str, v: &str| {
        vec![
            ("name", name.to_owned()),
            ("slug", "acme".to_owned()),
            ("time_zone", zone.to_owned()),
            ("headline", "We run the cloud".to_owned()),
            ("css_greens", green.to_owned()),
            ("version", v.to_owned()),
        ]
    };
    // Act + Assert: bad input
    let bad_zone = post(good("Kept page name", "Mars/Olympus", "#00aa00", &version)).await;
    refused(&bad_zone, "time_zone");
    assert!(
        bad_zone.text.contains("value=\"Kept page name\""),
        "input kept"
    );
    refused(
        &post(good("", "UTC", "#00aa00", &version)).await,
        "cannot be empty",
    );
    refused(
        &post(good(&"n".repeat(256), "UTC", "#00aa00", &version)).await,
        "too long",
    );
    refused(
        &post(good("Acme", "UTC", "red;}", &version)).await,
        "css_greens",
    );
    assert_eq!(audit_count(&app).await, n, "nothing written");
    assert_eq!(
        app.store
            .get_page(&app.page.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Acme Cloud"
    );
    // the happy path
    let r = post(good("Acme Status", "Europe/Berlin", "#00aa00", &version)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    let page = app.store.get_page(&app.page.id).await.unwrap().unwrap();
    assert_eq!(page.name, "Acme Status");
    assert_eq!(page.zone.name(), "Europe/Berlin");
    assert_eq!(page.settings.css_greens.as_deref(), Some("#00aa00"));
    assert_eq!(page.settings.headline.as_deref(), Some("We run the cloud"));
    let s = summary(&app).await;
    assert_eq!(s["page"]["name"], "Acme Status");
    assert_eq!(s["page"]["time_zone"], "Europe/Berlin");
    assert!(app.public("/", &[]).await.text.contains("Acme Status"));
    // a second tab with the form opened before that change
    let stale = post(good("Other tab", "UTC", "#00aa00", &version)).await;
    refused(&stale, "Someone else changed this page");
    assert_eq!(audit_count(&app).await, n + 1);
    assert_eq!(
        app.store
            .get_page(&app.page.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Acme Status"
    );
    // an incident (another change to the page) does not make the settings form stale
    let fresh = hidden(&a.get(&admin_page(&app, "/settings")).await.text, "version");
    app.incident(json!({"name": "Blip", "status": "investigating"}))
        .await;
    let r = post(good("Acme Status 2", "Europe/Berlin", "#00aa00", &fresh)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
}

/// Posts the settings form with uptime weights `w` (major, partial, degraded).
async fn post_weights(a: &Admin, app: &TestApp, version: &str, w: [&str; 3]) -> Resp {
    let f = [
        ("name", "Acme Cloud"),
        ("slug", "acme"),
        ("time_zone", "UTC"),
        ("major_outage", w[0]),
        ("partial_outage", w[1]),
        ("degraded_performance", w[2]),
        ("version", version),
    ];
    a.post(&admin_page(app, "/settings"), &f).await
}

async fn admin_page_uptime_weights_are_the_pages_own(backend: Backend) {
    // Arrange: two pages; only the first gets weights of its own
    let app = TestApp::spawn(backend).await;
    let a = owner(&app).await;
    let beta = app.new_page("beta").await;
    let key = app.new_key(None, false).await; // an account-wide key: the test key is acme's
    let r = app
        .send_as(
            &key,
            reqwest::Method::PATCH,
            &format!("/v1/pages/{}", beta.id),
            Some(&json!({"page": {"name": "Beta Co"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let version = hidden(&a.get(&admin_page(&app, "/settings")).await.text, "version");
    let n = audit_count(&app).await;
    let post = |w: [&'static str; 3]| post_weights(&a, &app, &version, w);
    let says = |text: &str, major: &str, partial: &str| {
        text.contains(&format!(
            "major outage counts {major}% as down time, a partial outage {partial}%"
        ))
    };
    // Act + Assert: bad input changes nothing
    refused(&post(["1", "", "0"]).await, "Set all three weights");
    refused(&post(["1", "lots", "0"]).await, "Enter a number");
    refused(&post(["1", "1.5", "0"]).await, "between 0 and 1");
    refused(&post(["1", "NaN", "0"]).await, "Enter a number");
    assert_eq!(audit_count(&app).await, n, "nothing written");
    let up = app.public("/p/acme/uptime", &[]).await;
    assert!(says(&up.text, "100", "30"), "{} {}", up.status, up.text);
    // the page's own weights: its uptime page and its v1 object show them, the other page
    // keeps the instance's
    let r = post(["0.9", "0.5", "0.1"]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    assert!(says(
        &app.public("/p/acme/uptime", &[]).await.text,
        "90",
        "50"
    ));
    assert!(says(
        &app.public("/p/beta/uptime", &[]).await.text,
        "100",
        "30"
    ));
    let v1 = app.get(&format!("/v1/pages/{}", app.page.id)).await;
    assert_eq!(
        v1.json()["uptime_weights"],
        json!({"major_outage": 0.9, "partial_outage": 0.5, "degraded_performance": 0.1})
    );
    let form = a.get(&admin_page(&app, "/settings")).await.text;
    assert!(form.contains("value=\"0.5\""), "the form shows them");
    // through the v1 API: out of range refused, null returns to the instance's weights
    let bad = app
        .patch(
            &format!("/v1/pages/{}", app.page.id),
            &json!({"page": {"uptime_weights": {"major_outage": 2, "partial_outage": 0, "degraded_performance": 0}}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.text.contains("page.uptime_weights.major_outage"));
    assert!(says(
        &app.public("/p/acme/uptime", &[]).await.text,
        "90",
        "50"
    ));
    let reset = app
        .patch(
            &format!("/v1/pages/{}", app.page.id),
            &json!({"page": {"uptime_weights": null}}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text);
    assert!(says(
        &app.public("/p/acme/uptime", &[]).await.text,
        "100",
        "30"
    ));
}

both_backends!(
    admin_groups_order_and_component_delete,
    admin_page_settings_save_and_refuse_bad_or_stale_forms,
    admin_page_uptime_weights_are_the_pages_own,
);
