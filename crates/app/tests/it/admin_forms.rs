//! Admin forms: bad input comes back with the input kept and a message per field, nothing
//! half-saved; every action writes exactly one audit entry; the public page and
//! summary.json show a change as soon as the form is answered.

use herald_domain::id::{ComponentId, IncidentId};
use herald_domain::user::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_support::{Admin, admin_page, audit_count, location_id, user};
use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn counts(app: &TestApp) -> (usize, usize) {
    let incidents = app
        .store
        .list_incidents(
            &app.page.id,
            &herald_store::IncidentQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    (incidents.len(), audit_count(app).await)
}

async fn admin_bad_input_is_sent_back_with_messages(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    user(&app, "manager@example.com", Role::IncidentManager).await;
    let a = Admin::login(&app, "manager@example.com").await;
    let new = admin_page(&app, "/incidents/new");
    let field = format!("component.{api}");
    let before = counts(&app).await;
    let long = "x".repeat(25_001);
    let long_name = "n".repeat(256);
    // Act
    let empty = a
        .post(
            &new,
            &[
                ("name", "  "),
                ("status", "investigating"),
                ("body", "kept text <b>"),
            ],
        )
        .await;
    let oversize = a
        .post(
            &new,
            &[
                ("name", "Kept name"),
                ("status", "investigating"),
                ("body", &long),
            ],
        )
        .await;
    let long_title = a
        .post(&new, &[("name", &long_name), ("status", "investigating")])
        .await;
    let unknown = a
        .post(
            &new,
            &[
                ("name", "Kept"),
                ("status", "investigating"),
                ("component.zzzzzzzzzzzz", "major_outage"),
                (&field, "major_outage"),
            ],
        )
        .await;
    let bad_status = a
        .post(&new, &[("name", "Kept"), ("status", "exploded")])
        .await;
    let backwards = a
        .post(
            &admin_page(&app, "/maintenance/new"),
            &[
                ("name", "Window"),
                ("scheduled_for", "2099-01-02T10:00"),
                ("scheduled_until", "2099-01-02T09:00"),
            ],
        )
        .await;
    let garbled = a
        .post(
            &admin_page(&app, "/maintenance/new"),
            &[
                ("name", "Window"),
                ("scheduled_for", "tomorrow"),
                ("scheduled_until", ""),
            ],
        )
        .await;
    // Assert
    for r in [
        &empty,
        &oversize,
        &long_title,
        &unknown,
        &bad_status,
        &backwards,
        &garbled,
    ] {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(
            r.text.contains("class=\"field-error\"") || r.text.contains("class=\"error\""),
            "{}",
            r.text
        );
    }
    assert!(empty.text.contains("Give it a name."));
    assert!(!empty.text.contains("kept text <b>"), "escaped");
    assert!(
        empty.text.contains("kept text &#60;b&#62;"),
        "input kept, escaped"
    );
    assert!(oversize.text.contains("too long") && oversize.text.contains("value=\"Kept name\""));
    assert!(long_title.text.contains("aria-invalid=\"true\""));
    assert!(unknown.text.contains("does not exist"), "{}", unknown.text);
    assert!(
        unknown
            .text
            .contains("<option value=\"major_outage\" selected>"),
        "choice kept"
    );
    assert!(bad_status.text.contains("Choose a status."));
    assert!(
        backwards.text.contains("must be after"),
        "{}",
        backwards.text
    );
    assert!(backwards.text.contains("value=\"2099-01-02T10:00\""));
    assert!(
        garbled.text.contains("YYYY-MM-DDTHH:MM")
            && garbled.text.contains("Enter a date and time.")
    );
    assert_eq!(counts(&app).await, before, "nothing saved");
    let c = app
        .store
        .get_component(&app.page.id, &ComponentId::from(&api))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.status.as_str(),
        "operational",
        "no component half-changed"
    );
}

async fn admin_stale_form_from_a_second_tab_is_refused(backend: Backend) {
    // Arrange: two tabs open on one incident
    let app = TestApp::spawn(backend).await;
    user(&app, "manager@example.com", Role::IncidentManager).await;
    let a = Admin::login(&app, "manager@example.com").await;
    let created = a
        .post(
            &admin_page(&app, "/incidents/new"),
            &[
                ("name", "DB slow"),
                ("status", "investigating"),
                ("body", "Looking"),
            ],
        )
        .await;
    let id = location_id(&created);
    let path = admin_page(&app, &format!("/incidents/{id}"));
    let tab = a.get(&path).await.text;
    let version = {
        let at = tab.find("name=\"version\" value=\"").unwrap() + 22;
        tab[at..at + tab[at..].find('"').unwrap()].to_owned()
    };
    let first = a
        .post(
            &format!("{path}/updates"),
            &[
                ("status", "identified"),
                ("body", "Found it"),
                ("version", &version),
            ],
        )
        .await;
    let before = counts(&app).await;
    // Act: the second tab posts the form it rendered before the first update
    let second = a
        .post(
            &format!("{path}/updates"),
            &[
                ("status", "resolved"),
                ("body", "My stale text"),
                ("version", &version),
            ],
        )
        .await;
    // Assert
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text);
    assert_eq!(second.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        second.text.contains("changed since you opened this form"),
        "{}",
        second.text
    );
    assert!(second.text.contains("My stale text"), "input kept");
    assert_eq!(counts(&app).await, before);
    let i = app
        .store
        .get_incident(&app.page.id, &IncidentId::from(&id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(i.status.as_str(), "identified");
    assert_eq!(i.updates.len(), 2);
}

async fn admin_actions_write_one_audit_entry_each_and_show_on_the_public_page(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let web = app.component("Website").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    user(&app, "owner@example.com", Role::Owner).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let summary = || async {
        app.client
            .get(app.url("/api/v2/summary.json"))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    let mut n = audit_count(&app).await;
    let mut one_more = |now: usize, what: &str| {
        assert_eq!(now, n + 1, "{what} wrote {} entries", now as i64 - n as i64);
        n = now;
    };
    let (fa, fw) = (format!("component.{api}"), format!("component.{web}"));
    // Act + Assert, one action at a time
    let r = a
        .post(
            &admin_page(&app, "/incidents/new"),
            &[
                ("name", "Checkout errors"),
                ("status", "investigating"),
                ("body", "We are looking"),
                (&fa, "major_outage"),
                (&fw, "degraded_performance"),
                ("notify", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    one_more(audit_count(&app).await, "create incident");
    let id = location_id(&r);
    let s = summary().await;
    assert_eq!(s["incidents"][0]["name"], "Checkout errors");
    assert_eq!(s["status"]["indicator"], "critical");
    let public = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(public.contains("Checkout errors"));
    let inc = admin_page(&app, &format!("/incidents/{id}"));
    for (status, body) in [("identified", "Bad deploy"), ("resolved", "Rolled back")] {
        let page = a.get(&inc).await.text;
        let at = page.find("name=\"version\" value=\"").unwrap() + 22;
        let version = page[at..at + page[at..].find('"').unwrap()].to_owned();
        let mut f = vec![
            ("status", status),
            ("body", body),
            ("version", version.as_str()),
        ];
        if status == "resolved" {
            f.push((&fa, "operational"));
            f.push((&fw, "operational"));
        }
        let r = a.post(&format!("{inc}/updates"), &f).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        one_more(audit_count(&app).await, status);
        let s = summary().await;
        if status == "resolved" {
            assert_eq!(s["incidents"], json!([]));
            assert_eq!(s["status"]["indicator"], "none");
        } else {
            assert_eq!(s["incidents"][0]["incident_updates"][0]["body"], body);
        }
    }
    let r = a
        .post(
            &format!("{inc}/postmortem"),
            &[("body_draft", "A config push."), ("action", "publish")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    one_more(audit_count(&app).await, "publish postmortem");
    let public = app
        .client
        .get(app.url(&format!("/incidents/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(public.contains("A config push."), "{public}");
    let r = a
        .post(
            &admin_page(&app, "/maintenance/new"),
            &[
                ("name", "DB upgrade"),
                ("scheduled_for", "2099-03-01T01:00"),
                ("scheduled_until", "2099-03-01T03:00"),
                (&fa, "under_maintenance"),
                ("auto_start", "on"),
                ("auto_complete", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    one_more(audit_count(&app).await, "schedule maintenance");
    assert_eq!(
        summary().await["scheduled_maintenances"][0]["name"],
        "DB upgrade"
    );
    let r = a
        .post(
            &admin_page(&app, &format!("/components/{web}/status")),
            &[("status", "partial_outage")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    one_more(audit_count(&app).await, "component status");
    assert_eq!(summary().await["status"]["indicator"], "major");
    let r = a
        .post(&admin_page(&app, "/components"), &[("name", "Search")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    one_more(audit_count(&app).await, "create component");
    let edit = admin_page(&app, &format!("/components/{web}"));
    let blank = a
        .post(&edit, &[("name", " "), ("description", "kept")])
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.text.contains("Give it a name.") && blank.text.contains("value=\"kept\""));
    let r = a
        .post(
            &edit,
            &[("name", "Web site"), ("description", "Marketing pages")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    one_more(audit_count(&app).await, "rename component");
    assert!(
        summary().await["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "Web site")
    );
    let r = a
        .post(
            "/admin/keys",
            &[("name", "deploy bot"), ("read_only", "on")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    one_more(audit_count(&app).await, "create key");
    let at = r.text.find("class=\"secret\">").unwrap() + 15;
    let secret = &r.text[at..at + r.text[at..].find('<').unwrap()];
    assert!(secret.starts_with("hrld_"));
    assert!(
        !a.get("/admin/keys").await.text.contains(secret),
        "shown once"
    );
    assert!(!app.db.dump().await.contains(secret), "stored hashed");
    let key = app
        .store
        .list_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.name == "deploy bot")
        .unwrap();
    let r = a.post(&format!("/admin/keys/{}/revoke", key.id), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    one_more(audit_count(&app).await, "revoke key");
    let r = a
        .post(
            "/admin/team",
            &[
                ("email", "Newbie@Example.com"),
                ("role", "incident_manager"),
                ("password", "a first password"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    one_more(audit_count(&app).await, "add member");
    let dup = a
        .post(
            "/admin/team",
            &[
                ("email", "newbie@example.com"),
                ("role", "viewer"),
                ("password", "a first password"),
            ],
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.text.contains("already a member"), "{}", dup.text);
    let newbie = app
        .store
        .find_user_by_email("newbie@example.com")
        .await
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(newbie.role, Role::IncidentManager);
    let r = a
        .post(
            &format!("/admin/team/{}/role", newbie.id),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    one_more(audit_count(&app).await, "change role");
    let own = a
        .post(
            &format!("/admin/team/{}/role", a_id(&app).await),
            &[("role", "viewer")],
        )
        .await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY);
    // (a refused change writes nothing: the next step's count would be off by one)
    let log = a.get("/admin/audit?action=incident").await;
    assert!(log.text.contains("incident.create"), "{}", log.text);
    assert!(!log.text.contains("api_key.create"), "filtered");
    let r = a.post("/admin/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    one_more(audit_count(&app).await, "logout");
    let entries = app.store.list_audit(None, 100).await.unwrap();
    let mine: Vec<_> = entries.iter().filter(|e| e.actor_type == "user").collect();
    assert!(
        mine.iter()
            .all(|e| e.source_ip.as_deref() == Some("127.0.0.1")),
        "{mine:?}"
    );
}

async fn a_id(app: &TestApp) -> String {
    app.store
        .find_user_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap()
        .0
        .id
}

both_backends!(
    admin_bad_input_is_sent_back_with_messages,
    admin_stale_form_from_a_second_tab_is_refused,
    admin_actions_write_one_audit_entry_each_and_show_on_the_public_page,
);
