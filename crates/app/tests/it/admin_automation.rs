//! The automation screen, driven through its real forms: integrations and checks listed
//! (type, target, interval, last used, state), created (the URL with its token shown once;
//! bad numbers and bad settings answered 422 beside their field with nothing written),
//! deleted through the confirmation page, and per component which integration last moved
//! it, when and why, and what was held back while an incident was open.

use herald_domain::user::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_support::{Admin, admin_page, user};
use crate::automation_support::post_json;
use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn integrations(app: &TestApp) -> usize {
    app.store
        .list_integrations(&app.page.id)
        .await
        .unwrap()
        .len()
}

async fn admin_automation_lists_creates_and_deletes_integrations_and_shows_what_moved_components(
    backend: Backend,
) {
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
    user(&app, "oncall@example.com", Role::IncidentManager).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let screen = admin_page(&app, "/automation");
    let empty = a.get(&screen).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text);
    assert!(empty.text.contains("No integrations yet."));
    assert!(
        a.get(&admin_page(&app, "")).await.text.contains(&screen),
        "the page's screen links to it"
    );

    // Act + Assert: bad input is answered beside its field, nothing written
    let tls = |days: &'static str| {
        vec![
            ("type", "tls"),
            ("name", "www certificate"),
            ("component_id", web.as_str()),
            ("target", "example.com:443"),
            ("expiry_days", days),
        ]
    };
    let soon = a.post(&screen, &tls("soon")).await;
    assert_eq!(
        soon.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        soon.text
    );
    assert!(
        soon.text.contains("id=\"i-expiry_days-err\""),
        "{}",
        soon.text
    );
    assert!(soon.text.contains("value=\"soon\""), "the input is kept");
    let far = a.post(&screen, &tls("400")).await;
    assert_eq!(far.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        far.text.contains("expiry_days must be between 0 and 365"),
        "{}",
        far.text
    );
    let no_port = a
        .post(
            &screen,
            &[
                ("type", "tcp"),
                ("name", "db"),
                ("component_id", &web),
                ("target", "db.example.com"),
            ],
        )
        .await;
    assert_eq!(no_port.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_port.text.contains("id=\"i-target-err\""),
        "{}",
        no_port.text
    );
    let no_csrf = a
        .post_with(
            &screen,
            &[("type", "webhook"), ("name", "x")],
            &[("Origin", &a.base), ("Sec-Fetch-Site", "same-origin")],
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(integrations(&app).await, 0, "nothing was written");

    // A webhook: its URL with the token, once
    let made = a
        .post(&screen, &[("type", "webhook"), ("name", "Deploy <hook>")])
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    let at = made.text.find("/hooks/").expect("the hook URL is shown");
    let start = made.text[..at].rfind('>').unwrap() + 1;
    let end = at + made.text[at..].find('<').unwrap();
    let url = made.text[start..end]
        .replace("&amp;", "&")
        .replace("&#61;", "=");
    assert!(url.contains("token=hrli_"), "{url}");
    let token = url.split("token=").nth(1).unwrap().to_owned();
    assert!(
        made.text.contains("Deploy &#60;hook&#62;"),
        "names are escaped"
    );
    assert!(!made.text.contains("Deploy <hook>"));
    let again = a.get(&screen).await;
    assert!(!again.text.contains(&token), "the token is shown only once");
    // A TCP check with its settings
    let tcp = a
        .post(
            &screen,
            &[
                ("type", "tcp"),
                ("name", "db port"),
                ("component_id", &web),
                ("target", "127.0.0.1:9"),
                ("interval_seconds", "30"),
                ("down_status", "partial_outage"),
            ],
        )
        .await;
    assert_eq!(tcp.status, StatusCode::OK, "{}", tcp.text);
    assert_eq!(integrations(&app).await, 2);
    let listed = a.get(&screen).await.text;
    for want in ["webhook", "tcp", "127.0.0.1:9", "every 30 s", "never"] {
        assert!(listed.contains(want), "{want} missing: {listed}");
    }

    // The webhook moves API; an incident then holds its next change back
    let moved = post_json(
        &app,
        &url,
        &json!({"component": "API", "status": "major_outage", "message": "5xx above 10%"}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    app.incident(
        json!({"name": "API errors", "status": "investigating", "component_ids": [api],
        "components": {api.as_str(): "major_outage"}}),
    )
    .await;
    let held = post_json(
        &app,
        &url,
        &json!({"component": "API", "status": "operational", "message": "error rate normal"}),
    )
    .await;
    assert_eq!(
        held.json()["held_back"][0]["to"],
        "operational",
        "{}",
        held.text
    );
    let shown = a.get(&screen).await.text;
    let row = &shown[shown.find("<td>API</td>").expect("API's row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("Deploy &#60;hook&#62;"), "{row}");
    assert!(row.contains("5xx above 10%"), "{row}");
    assert!(
        row.contains("Operational by Deploy &#60;hook&#62; (error rate normal)"),
        "{row}"
    );
    assert!(shown.contains("(2 requests)"), "last used: {shown}");

    // An incident manager sees the screen but no form, and cannot post one
    let m = Admin::login(&app, "oncall@example.com").await;
    let seen = m.get(&screen).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.text.contains("db port") && !seen.text.contains("Add integration"));
    let refused = m
        .post(&screen, &[("type", "webhook"), ("name", "sneaky")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // Delete through the confirmation page; the URL stops working
    let id = app.store.list_integrations(&app.page.id).await.unwrap()[0]
        .id
        .clone();
    let del = admin_page(&app, &format!("/automation/{id}/delete"));
    let confirm = a.get(&del).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text.contains("Delete integration"));
    assert_eq!(integrations(&app).await, 2, "a GET deletes nothing");
    let gone = a.post(&del, &[]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.text);
    assert_eq!(integrations(&app).await, 1);
    let dead = post_json(
        &app,
        &url,
        &json!({"component": "API", "status": "operational"}),
    )
    .await;
    assert_eq!(dead.status, StatusCode::NOT_FOUND);
    let after = a.get(&screen).await.text;
    assert!(
        after.contains("a deleted integration"),
        "what it did stays visible"
    );
}

async fn the_admin_form_sets_the_incident_an_integration_opens(backend: Backend) {
    // Arrange: a page with an incident template
    let app = TestApp::spawn(backend).await;
    let t = app
        .post(
            &app.page_path("/incident_templates"),
            &json!({"template": {"name": "Alert fired", "title": "Elevated errors", "body": "Looking into it."}}),
        )
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.text);
    let template = t.json()["id"].as_str().unwrap().to_owned();
    user(&app, "owner@example.com", Role::Owner).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let screen = admin_page(&app, "/automation");
    let form = a.get(&screen).await.text;
    assert!(
        form.contains(&format!(
            "<option value=\"{template}\">Alert fired</option>"
        )),
        "the form offers the page's templates: {form}"
    );
    // Act + Assert: a template not of this page is answered beside its field, nothing written
    let bad = a
        .post(
            &screen,
            &[
                ("type", "webhook"),
                ("name", "Deploys"),
                ("template_id", "nosuchtempl1"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(
        bad.text.contains("id=\"i-template_id-err\""),
        "{}",
        bad.text
    );
    assert!(integrations(&app).await == 0);
    // Act + Assert: the template and publish are stored as the API's `incident`
    let ok = a
        .post(
            &screen,
            &[
                ("type", "webhook"),
                ("name", "Deploys"),
                ("template_id", template.as_str()),
                ("publish", "on"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let drafts = a
        .post(
            &screen,
            &[
                ("type", "webhook"),
                ("name", "Drafts"),
                ("template_id", template.as_str()),
            ],
        )
        .await;
    assert_eq!(drafts.status, StatusCode::OK, "{}", drafts.text);
    let all = app.store.list_integrations(&app.page.id).await.unwrap();
    let incident = |name: &str| {
        all.iter()
            .find(|i| i.name == name)
            .unwrap()
            .config
            .incident
            .clone()
            .map(|r| (r.template_id, r.publish))
    };
    assert_eq!(incident("Deploys"), Some((template.clone(), true)));
    assert_eq!(incident("Drafts"), Some((template, false)));
}

both_backends!(
    admin_automation_lists_creates_and_deletes_integrations_and_shows_what_moved_components,
    the_admin_form_sets_the_incident_an_integration_opens,
);
