//! The incident templates, incident delete and maintenance-time screens, the markdown
//! preview and the script: each happy path checked through the store and the public page,
//! each bad input sent back as a form with a message and nothing written, one audit entry
//! per action.

use herald_domain::id::IncidentId;
use herald_domain::user::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_routes::new_template;
use crate::admin_support::{Admin, admin_page, audit_count, user};
use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp};

pub async fn owner(app: &TestApp) -> Admin {
    user(app, "owner@example.com", Role::Owner).await;
    Admin::login(app, "owner@example.com").await
}

pub async fn summary(app: &TestApp) -> serde_json::Value {
    app.public("/api/v2/summary.json", &[]).await.json()
}

/// The value of the hidden `name` field of a form page.
pub fn hidden(html: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let at = html.find(&pat).expect("the field") + pat.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

pub fn refused(r: &Resp, message: &str) {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains(message), "{message:?} missing: {}", r.text);
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
    // a template that is not the page's is not an empty form
    let unknown = a
        .get(&admin_page(&app, "/incidents/new?template=zzzzzzzzzzzz"))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
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
            .get_incident(&app.page.id, &IncidentId::from(&id))
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
            .get_incident(&app.page.id, &IncidentId::from(&id))
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
        .get_incident(&app.page.id, &IncidentId::from(&id))
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
    admin_templates_are_kept_and_start_incidents,
    admin_incident_delete_asks_then_posts,
    admin_maintenance_times_are_in_the_page_time_zone,
    admin_preview_and_script_are_served_safely,
);
