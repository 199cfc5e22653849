//! The components (groups, order, delete), page settings, incident templates, incident
//! delete and maintenance-time screens: each happy path checked through the store and the
//! public page, each bad input sent back as a form with a message and nothing written, one
//! audit entry per action.

use herald_domain::component::display_order;
use herald_domain::user::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_security::new_template;
use crate::admin_support::{Admin, admin_page, audit_count, user};
use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp};

async fn owner(app: &TestApp) -> Admin {
    user(app, "owner@example.com", Role::Owner).await;
    Admin::login(app, "owner@example.com").await
}

async fn summary(app: &TestApp) -> serde_json::Value {
    app.public("/api/v2/summary.json", &[]).await.json()
}

/// Top-level names in the order the page shows them.
async fn top_order(app: &TestApp) -> Vec<String> {
    let all = app.store.list_components(&app.page.id).await.unwrap();
    display_order(&all)
        .into_iter()
        .filter(|c| c.group_id.is_none())
        .map(|c| c.name.clone())
        .collect()
}

/// The value of the hidden `name` field of a form page.
fn hidden(html: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let at = html.find(&pat).expect("the field") + pat.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

fn refused(r: &Resp, message: &str) {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains(message), "{message:?} missing: {}", r.text);
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

async fn admin_templates_are_kept_and_start_incidents(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    user(&app, "manager@example.com", Role::IncidentManager).await;
    let a = Admin::login(&app, "manager@example.com").await;
    let list = admin_page(&app, "/templates");
    let mut n = audit_count(&app).await;
    // Act + Assert: bad input
    let long_body = "b".repeat(25_001);
    refused(
        &a.post(
            &list,
            &[("name", ""), ("title", "Kept title"), ("body", "x")],
        )
        .await,
        "name",
    );
    let r = a
        .post(
            &list,
            &[("name", "Kept"), ("title", "T"), ("body", &long_body)],
        )
        .await;
    refused(&r, "too long");
    refused(
        &a.post(&list, &[("name", "Kept"), ("title", ""), ("body", "x")])
            .await,
        "title",
    );
    assert_eq!(audit_count(&app).await, n);
    assert!(
        app.store
            .list_templates(&app.page.id)
            .await
            .unwrap()
            .is_empty()
    );
    // create
    let r = a
        .post(
            &list,
            &[
                ("name", "Database down"),
                ("title", "Database outage"),
                ("body", "We are investigating the **database**."),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    n += 1;
    let t = app.store.list_templates(&app.page.id).await.unwrap()[0].clone();
    assert_eq!(t.title, "Database outage");
    // the incident form starts from it
    let form = a
        .get(&admin_page(
            &app,
            &format!("/incidents/new?template={}", t.id),
        ))
        .await;
    assert!(
        form.text.contains("value=\"Database outage\""),
        "{}",
        form.text
    );
    assert!(form.text.contains("We are investigating the **database**."));
    // edit
    let edit = a
        .get(&admin_page(&app, &format!("/templates/{}", t.id)))
        .await;
    assert_eq!(edit.status, StatusCode::OK);
    let version = hidden(&edit.text, "version");
    let path = admin_page(&app, &format!("/templates/{}", t.id));
    refused(
        &a.post(
            &path,
            &[("name", ""), ("title", "x"), ("version", &version)],
        )
        .await,
        "name",
    );
    assert_eq!(audit_count(&app).await, n);
    let r = a
        .post(
            &path,
            &[
                ("name", "Database down (v2)"),
                ("title", "Database outage"),
                ("body", "Looking."),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    n += 1;
    let got = app
        .store
        .get_template(&app.page.id, &t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.name, "Database down (v2)");
    assert_eq!(got.body, "Looking.");
    // a second tab's stale form
    let stale = a
        .post(
            &path,
            &[("name", "Other tab"), ("title", "T"), ("version", &version)],
        )
        .await;
    refused(&stale, "Someone else changed this template");
    assert_eq!(audit_count(&app).await, n);
    // delete, after a confirmation page
    let other = new_template(&app, "Other").await;
    n = audit_count(&app).await;
    let confirm = a
        .get(&admin_page(&app, &format!("/templates/{other}/delete")))
        .await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert_eq!(audit_count(&app).await, n);
    let r = a
        .post(
            &admin_page(&app, &format!("/templates/{other}/delete")),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    let left = app.store.list_templates(&app.page.id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, t.id);
    let unknown = a
        .post(
            &admin_page(&app, &format!("/templates/{other}/delete")),
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&app).await, n + 1);
}

async fn admin_incident_delete_asks_then_posts(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let id = app
        .incident(json!({"name": "Gone soon", "status": "investigating", "body": "x"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    user(&app, "manager@example.com", Role::IncidentManager).await;
    let a = Admin::login(&app, "manager@example.com").await;
    let n = audit_count(&app).await;
    let path = admin_page(&app, &format!("/incidents/{id}/delete"));
    // Act: the incident page links to a confirmation page; the GET changes nothing
    let shown = a.get(&admin_page(&app, &format!("/incidents/{id}"))).await;
    assert!(shown.text.contains(&path), "{}", shown.text);
    let confirm = a.get(&path).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text.contains("Delete incident"));
    assert!(
        app.store
            .get_incident(&app.page.id, &id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(audit_count(&app).await, n);
    assert_eq!(summary(&app).await["incidents"][0]["name"], "Gone soon");
    let r = a.post(&path, &[]).await;
    // Assert
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(audit_count(&app).await, n + 1);
    assert!(
        app.store
            .get_incident(&app.page.id, &id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(summary(&app).await["incidents"], json!([]));
    assert!(!app.public("/", &[]).await.text.contains("Gone soon"));
    let again = a.post(&path, &[]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(audit_count(&app).await, n + 1);
}

async fn admin_maintenance_times_are_in_the_page_time_zone(backend: Backend) {
    // Arrange: a page in Berlin (UTC+1 in January)
    let app = TestApp::spawn(backend).await;
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"time_zone": "Europe/Berlin"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let a = owner(&app).await;
    // Act
    let form = a.get(&admin_page(&app, "/maintenance/new")).await;
    let r = a
        .post(
            &admin_page(&app, "/maintenance/new"),
            &[
                ("name", "Upgrade"),
                ("scheduled_for", "2099-01-02T10:00"),
                ("scheduled_until", "2099-01-02T11:30"),
            ],
        )
        .await;
    // Assert
    assert!(
        form.text.contains("Starts (Europe/Berlin)"),
        "{}",
        form.text
    );
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let id = crate::admin_support::location_id(&r);
    let i = app
        .store
        .get_incident(&app.page.id, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        i.scheduled_for.unwrap().to_rfc3339(),
        "2099-01-02T09:00:00+00:00"
    );
    assert_eq!(
        i.scheduled_until.unwrap().to_rfc3339(),
        "2099-01-02T10:30:00+00:00"
    );
    let shown = a.get(&admin_page(&app, &format!("/incidents/{id}"))).await;
    assert!(
        shown
            .text
            .contains("2099-01-02 10:00 – 2099-01-02 11:30 CET"),
        "{}",
        shown.text
    );
}

async fn admin_preview_and_script_are_served_safely(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    user(&app, "viewer@example.com", Role::Viewer).await;
    let a = Admin::login(&app, "viewer@example.com").await;
    let n = audit_count(&app).await;
    // Act
    let r = a
        .post(
            "/admin/preview",
            &[(
                "body",
                "**bold** <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))",
            )],
        )
        .await;
    let forged = a
        .post_with(
            "/admin/preview",
            &[("body", "x")],
            &[("Sec-Fetch-Site", "same-origin")],
        )
        .await;
    let js = a.get("/admin/admin.js").await;
    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("<strong>bold</strong>"), "{}", r.text);
    assert!(!r.text.contains("<script"), "{}", r.text);
    assert!(!r.text.contains("<img"), "{}", r.text);
    assert!(!r.text.contains("javascript:"), "{}", r.text);
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text.contains("/admin/preview"));
    assert_eq!(audit_count(&app).await, n);
}

both_backends!(
    admin_groups_order_and_component_delete,
    admin_page_settings_save_and_refuse_bad_or_stale_forms,
    admin_templates_are_kept_and_start_incidents,
    admin_incident_delete_asks_then_posts,
    admin_maintenance_times_are_in_the_page_time_zone,
    admin_preview_and_script_are_served_safely,
);
