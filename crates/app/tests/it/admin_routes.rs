//! The admin route table for the role matrix and the CSRF tests: every route with a form
//! that would succeed (or come back as a 422 form) and the least role it needs, and the
//! things the routes act on.

use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::SubscriberId;
use herald_domain::user::Role;
use serde_json::json;

use crate::admin_support::admin_page;
use crate::helpers::TestApp;

/// (method, path, form fields, least role).
pub type Route = (&'static str, String, Vec<(&'static str, String)>, Role);

/// What the routes act on. The `doomed_*` ones are deleted (or unsubscribed) by the route, so
/// each role gets fresh ones.
pub struct Targets {
    pub component: String,
    pub incident: String,
    pub key: String,
    pub member: String,
    pub group: String,
    pub template: String,
    pub subscriber: SubscriberId,
    pub doomed_component: String,
    pub doomed_incident: String,
    pub doomed_template: String,
    pub doomed_subscriber: SubscriberId,
    pub metric: String,
    pub doomed_integration: String,
    pub doomed_metric: String,
}

/// A component on the page.
pub async fn new_component(app: &TestApp, name: &str) -> String {
    app.component(name).await["id"].as_str().unwrap().to_owned()
}

pub async fn new_incident(app: &TestApp, name: &str) -> String {
    app.incident(json!({"name": name, "status": "resolved", "body": "done"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn new_template(app: &TestApp, name: &str) -> String {
    let t = herald_domain::template::Template::parse(
        &app.page.id,
        &herald_domain::template::TemplateInput {
            name: Some(name.to_owned()),
            title: Some(format!("{name} title")),
            body: Some("template body".to_owned()),
            ..Default::default()
        },
        SystemClock.now(),
    )
    .unwrap();
    app.store
        .create_template(&t, &Actor::cli(), SystemClock.now())
        .await
        .unwrap()
        .id
}

pub async fn new_subscriber(app: &TestApp, email: &str) -> SubscriberId {
    let new = herald_domain::subscriber::NewSubscriber::parse(
        &herald_domain::subscriber::SubscriberInput {
            email: Some(email.to_owned()),
            skip_confirmation_notification: Some(true),
            ..Default::default()
        },
        true,
    )
    .unwrap();
    app.store
        .create_subscriber(
            &app.page.id,
            &new,
            None,
            false,
            &Actor::cli(),
            SystemClock.now(),
        )
        .await
        .unwrap()
        .0
        .id
}

/// A webhook integration on the page.
pub async fn new_integration(app: &TestApp, name: &str) -> String {
    crate::automation_support::integration(app, json!({"type": "webhook", "name": name}))
        .await
        .id
}

/// A pushed metric on the page (with a provider of its own).
pub async fn new_metric(app: &TestApp, name: &str) -> String {
    let p = crate::metrics_api::provider(app, json!({"type": "Self"})).await;
    let m = crate::metrics_api::metric(app, p["id"].as_str().unwrap(), json!({"name": name})).await;
    m["id"].as_str().unwrap().to_owned()
}

impl Targets {
    pub async fn new(app: &TestApp, member: String) -> Targets {
        let component = new_component(app, "API").await;
        let grouped = new_component(app, "Grouped").await;
        let group = app
            .store
            .create_group(
                &app.page.id,
                &herald_domain::component::GroupInput::parse("Core", None, vec![grouped]).unwrap(),
                &Actor::cli(),
                SystemClock.now(),
            )
            .await
            .unwrap()
            .id;
        let mut t = Targets {
            incident: new_incident(app, "Old").await,
            key: app.store.list_keys().await.unwrap()[0].id.clone(),
            template: new_template(app, "Kept").await,
            subscriber: new_subscriber(app, "kept@example.com").await,
            component,
            member,
            group,
            doomed_component: String::new(),
            doomed_incident: String::new(),
            doomed_template: String::new(),
            doomed_subscriber: SubscriberId::default(),
            metric: String::new(),
            doomed_integration: String::new(),
            doomed_metric: String::new(),
        };
        t.metric = new_metric(app, "Kept").await;
        t.renew(app, "first").await;
        t
    }

    /// Fresh things to delete.
    pub async fn renew(&mut self, app: &TestApp, tag: &str) {
        self.doomed_component = new_component(app, &format!("Doomed {tag}")).await;
        self.doomed_incident = new_incident(app, &format!("Doomed {tag}")).await;
        self.doomed_template = new_template(app, &format!("Doomed {tag}")).await;
        self.doomed_subscriber = new_subscriber(app, &format!("doomed-{tag}@example.com")).await;
        self.doomed_integration = new_integration(app, &format!("Doomed {tag}")).await;
        self.doomed_metric = new_metric(app, &format!("Doomed {tag}")).await;
    }
}

/// Every admin route, with a form that would succeed (or come back as a 422 form), and the
/// least role it needs.
pub fn routes(app: &TestApp, t: &Targets) -> Vec<Route> {
    let p = |rest: &str| admin_page(app, rest);
    let (component, incident, key, member) = (&t.component, &t.incident, &t.key, &t.member);
    let mut v = vec![
        ("GET", "/admin".to_owned(), vec![], Role::Viewer),
        ("GET", "/admin/audit".to_owned(), vec![], Role::Viewer),
        ("GET", "/admin/password".to_owned(), vec![], Role::Viewer),
        ("GET", p(""), vec![], Role::Viewer),
        (
            "GET",
            p(&format!("/incidents/{incident}")),
            vec![],
            Role::Viewer,
        ),
        (
            "POST",
            "/admin/preview".to_owned(),
            vec![("body", "**b**".into())],
            Role::Viewer,
        ),
        ("GET", p("/incidents/new"), vec![], Role::IncidentManager),
        ("GET", p("/maintenance/new"), vec![], Role::IncidentManager),
        ("GET", "/admin/keys".to_owned(), vec![], Role::Owner),
        ("GET", "/admin/team".to_owned(), vec![], Role::Owner),
        (
            "POST",
            "/admin/team".to_owned(),
            vec![
                ("email", "new@example.com".into()),
                ("role", "viewer".into()),
                ("password", "a first password".into()),
            ],
            Role::Owner,
        ),
        (
            "POST",
            format!("/admin/team/{member}/role"),
            vec![("role", "viewer".into())],
            Role::Owner,
        ),
        (
            "POST",
            p("/incidents/new"),
            vec![
                ("name", "Matrix".into()),
                ("status", "investigating".into()),
                ("body", "b".into()),
            ],
            Role::IncidentManager,
        ),
        (
            "POST",
            p("/maintenance/new"),
            vec![
                ("name", "Window".into()),
                ("scheduled_for", "2099-01-01T01:00".into()),
                ("scheduled_until", "2099-01-01T02:00".into()),
            ],
            Role::IncidentManager,
        ),
        (
            "POST",
            p(&format!("/incidents/{incident}/updates")),
            vec![
                ("status", "identified".into()),
                ("body", "more".into()),
                ("version", "-1".into()),
            ],
            Role::IncidentManager,
        ),
        (
            "POST",
            p(&format!("/incidents/{incident}/postmortem")),
            vec![("body_draft", "why".into()), ("action", "save".into())],
            Role::IncidentManager,
        ),
        (
            "POST",
            p(&format!("/components/{component}/status")),
            vec![("status", "degraded_performance".into())],
            Role::IncidentManager,
        ),
        (
            "POST",
            p("/components"),
            vec![("name", "New".into())],
            Role::Owner,
        ),
        (
            "GET",
            p(&format!("/components/{component}")),
            vec![],
            Role::Owner,
        ),
        (
            "POST",
            p(&format!("/components/{component}")),
            vec![("name", "API".into()), ("description", "The API".into())],
            Role::Owner,
        ),
        (
            "POST",
            "/admin/keys".to_owned(),
            vec![("name", "k".into())],
            Role::Owner,
        ),
        (
            "POST",
            format!("/admin/keys/{key}/revoke"),
            vec![],
            Role::Owner,
        ),
    ];
    v.extend(new_routes(app, t));
    v
}

/// The routes of the components, settings, subscribers, deliveries, templates, automation,
/// metrics and incident-delete screens.
pub fn new_routes(app: &TestApp, t: &Targets) -> Vec<Route> {
    let p = |rest: &str| admin_page(app, rest);
    let member = format!("member.{}", t.component);
    vec![
        ("GET", p("/components"), vec![], Role::Owner),
        (
            "POST",
            p("/groups"),
            vec![
                ("name", "Matrix group".into()),
                (leak(member.clone()), "on".into()),
            ],
            Role::Owner,
        ),
        (
            "POST",
            p(&format!("/groups/{}", t.group)),
            vec![("name", "Core".into()), (leak(member), "on".into())],
            Role::Owner,
        ),
        (
            "POST",
            p(&format!("/components/{}/move", t.component)),
            vec![("direction", "up".into())],
            Role::Owner,
        ),
        (
            "GET",
            p(&format!("/components/{}/delete", t.doomed_component)),
            vec![],
            Role::Owner,
        ),
        (
            "POST",
            p(&format!("/components/{}/delete", t.doomed_component)),
            vec![],
            Role::Owner,
        ),
        ("GET", p("/settings"), vec![], Role::Owner),
        (
            "POST",
            p("/settings"),
            vec![
                ("name", "Acme Cloud".into()),
                ("slug", "acme".into()),
                ("time_zone", "UTC".into()),
                ("version", "stale".into()),
            ],
            Role::Owner,
        ),
        ("GET", p("/subscribers"), vec![], Role::IncidentManager),
        (
            "GET",
            p(&format!("/subscribers/{}", t.subscriber)),
            vec![],
            Role::IncidentManager,
        ),
        ("GET", p("/subscribers/export.csv"), vec![], Role::Owner),
        // A form without its file: the owner is told to choose one (422).
        ("POST", p("/subscribers/import"), vec![], Role::Owner),
        (
            "POST",
            p("/subscribers"),
            vec![
                ("channel", "email".into()),
                ("email", "added@example.com".into()),
                ("skip_confirmation", "on".into()),
            ],
            Role::Owner,
        ),
        (
            "POST",
            p(&format!("/subscribers/{}/unsubscribe", t.doomed_subscriber)),
            vec![],
            Role::Owner,
        ),
        ("GET", p("/deliveries"), vec![], Role::IncidentManager),
        (
            "POST",
            p("/deliveries/msg_none_none/replay"),
            vec![],
            Role::IncidentManager,
        ),
        ("GET", p("/templates"), vec![], Role::IncidentManager),
        (
            "POST",
            p("/templates"),
            vec![
                ("name", "Matrix template".into()),
                ("title", "T".into()),
                ("body", "B".into()),
            ],
            Role::IncidentManager,
        ),
        (
            "GET",
            p(&format!("/templates/{}", t.template)),
            vec![],
            Role::IncidentManager,
        ),
        (
            "POST",
            p(&format!("/templates/{}", t.template)),
            vec![
                ("name", "Kept".into()),
                ("title", "T".into()),
                ("version", "stale".into()),
            ],
            Role::IncidentManager,
        ),
        (
            "GET",
            p(&format!("/templates/{}/delete", t.doomed_template)),
            vec![],
            Role::IncidentManager,
        ),
        (
            "POST",
            p(&format!("/templates/{}/delete", t.doomed_template)),
            vec![],
            Role::IncidentManager,
        ),
        ("GET", p("/automation"), vec![], Role::IncidentManager),
        (
            "POST",
            p("/automation"),
            vec![("type", "webhook".into()), ("name", "Matrix hook".into())],
            Role::Owner,
        ),
        (
            "GET",
            p(&format!("/automation/{}/delete", t.doomed_integration)),
            vec![],
            Role::Owner,
        ),
        (
            "POST",
            p(&format!("/automation/{}/delete", t.doomed_integration)),
            vec![],
            Role::Owner,
        ),
        ("GET", p("/metrics"), vec![], Role::IncidentManager),
        (
            "POST",
            p("/metrics"),
            vec![("name", "Matrix metric".into())],
            Role::Owner,
        ),
        (
            "GET",
            p(&format!("/metrics/{}/preview.svg", t.metric)),
            vec![],
            Role::IncidentManager,
        ),
        (
            "GET",
            p(&format!("/metrics/{}/delete", t.doomed_metric)),
            vec![],
            Role::Owner,
        ),
        (
            "POST",
            p(&format!("/metrics/{}/delete", t.doomed_metric)),
            vec![],
            Role::Owner,
        ),
        (
            "GET",
            p(&format!("/incidents/{}/delete", t.doomed_incident)),
            vec![],
            Role::IncidentManager,
        ),
        (
            "POST",
            p(&format!("/incidents/{}/delete", t.doomed_incident)),
            vec![],
            Role::IncidentManager,
        ),
    ]
}

/// A field name built at run time, as the `&'static str` the route table holds.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}
