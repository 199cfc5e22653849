//! The components screen (groups, order, delete) and page settings: each happy path checked
//! through the store and the public page, each bad input sent back as a form with a message
//! and nothing written, one audit entry per action.

use herald_domain::component::display_order;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_screens::{hidden, owner, refused, summary};
use crate::admin_support::{admin_page, audit_count};
use crate::both_backends;
use crate::helpers::{Backend, TestApp};

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

both_backends!(
    admin_groups_order_and_component_delete,
    admin_page_settings_save_and_refuse_bad_or_stale_forms,
);
