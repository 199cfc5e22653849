//! CSRF (RELIABILITY.md row 15) and the role matrix: every admin route × every role.

use herald_domain::id::IncidentId;
use herald_domain::user::Role;
use reqwest::StatusCode;
use std::collections::BTreeSet;

use crate::admin_routes::{Targets, new_routes, routes};
use crate::admin_support::{Admin, admin_page, audit_count, client, user};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, read};

async fn incident_count(app: &TestApp) -> usize {
    app.store
        .list_incidents(
            &app.page.id,
            &herald_store::IncidentQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .len()
}

async fn admin_csrf_cross_site_posts_are_refused(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    user(&app, "owner@example.com", Role::Owner).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let path = admin_page(&app, "/incidents/new");
    let form = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("name".to_owned(), "Forged".to_owned()),
            ("status".to_owned(), "investigating".to_owned()),
            ("body".to_owned(), "x".to_owned()),
        ]
    };
    let as_refs = |v: &Vec<(String, String)>| -> Vec<(String, String)> { v.clone() };
    let audit_before = audit_count(&app).await;
    let send = |fields: Vec<(String, String)>, headers: Vec<(&'static str, String)>| {
        let a = &a;
        let path = path.clone();
        async move {
            let mut rb = a
                .client
                .post(format!("{}{path}", a.base))
                .header("Cookie", &a.cookie)
                .form(&fields);
            for (k, v) in headers {
                rb = rb.header(k, v);
            }
            read(rb.send().await.unwrap()).await
        }
    };
    // Act
    let cross_site = send(
        as_refs(&form(&a.csrf)),
        vec![
            ("Sec-Fetch-Site", "cross-site".to_owned()),
            ("Origin", "https://evil.example".to_owned()),
        ],
    )
    .await;
    let same_site = send(
        as_refs(&form(&a.csrf)),
        vec![("Sec-Fetch-Site", "same-site".to_owned())],
    )
    .await;
    let foreign_origin = send(
        as_refs(&form(&a.csrf)),
        vec![("Origin", "https://evil.example".to_owned())],
    )
    .await;
    let null_origin = send(as_refs(&form(&a.csrf)), vec![("Origin", "null".to_owned())]).await;
    let no_token = send(
        form("").into_iter().filter(|(k, _)| k != "csrf").collect(),
        vec![("Sec-Fetch-Site", "same-origin".to_owned())],
    )
    .await;
    let wrong_token = send(form("0123456789012345678901234567890123456789"), vec![]).await;
    let other = Admin::login(&app, "owner@example.com").await;
    let token_of_other_session = send(form(&other.csrf), vec![]).await;
    // Assert
    for (what, r) in [
        ("cross-site", &cross_site),
        ("same-site", &same_site),
        ("foreign origin", &foreign_origin),
        ("null origin", &null_origin),
        ("no token", &no_token),
        ("wrong token", &wrong_token),
        ("another session's token", &token_of_other_session),
    ] {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
    }
    assert_eq!(incident_count(&app).await, 0, "nothing changed");
    // the second login wrote one entry (user.login); the refused posts none
    assert_eq!(audit_count(&app).await, audit_before + 1);
    // and the same form from herald's own page works
    let ok = send(
        form(&a.csrf),
        vec![
            ("Sec-Fetch-Site", "same-origin".to_owned()),
            ("Origin", a.base.clone()),
        ],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    assert_eq!(incident_count(&app).await, 1);
}

fn rank(r: Role) -> u8 {
    match r {
        Role::Viewer => 0,
        Role::IncidentManager => 1,
        Role::Owner => 2,
    }
}

async fn admin_role_matrix(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    for (email, role) in [
        ("viewer@example.com", Role::Viewer),
        ("manager@example.com", Role::IncidentManager),
        ("owner@example.com", Role::Owner),
    ] {
        user(&app, email, role).await;
    }
    let member = app
        .store
        .find_user_by_email("viewer@example.com")
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    let mut targets = Targets::new(&app, member).await;
    let anonymous = client();
    for role in [Role::Viewer, Role::IncidentManager, Role::Owner] {
        targets.renew(&app, &format!("{role:?}")).await;
        let a = Admin::login(
            &app,
            &format!(
                "{}@example.com",
                match role {
                    Role::Viewer => "viewer",
                    Role::IncidentManager => "manager",
                    Role::Owner => "owner",
                }
            ),
        )
        .await;
        for (method, path, fields, needs) in routes(&app, &targets) {
            // Act
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let before = audit_count(&app).await;
            let r = if method == "GET" {
                a.get(&path).await
            } else {
                a.post(&path, &fields).await
            };
            let wrote = audit_count(&app).await - before;
            // Assert
            let allowed = rank(role) >= rank(needs);
            if allowed {
                assert!(
                    r.status.is_success()
                        || r.status == StatusCode::SEE_OTHER
                        || r.status == StatusCode::UNPROCESSABLE_ENTITY,
                    "{role:?} {method} {path}: {} {}",
                    r.status,
                    r.text
                );
                if let Some(loc) = r.headers.get("location") {
                    assert_ne!(loc, "/admin/login", "{role:?} {method} {path}");
                }
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {method} {path}: {}",
                    r.text
                );
                assert_eq!(wrote, 0, "{role:?} {method} {path} wrote while refused");
            }
            // Without a session every route sends the browser to sign in, changing nothing.
            let before = audit_count(&app).await;
            let anon = read(
                anonymous
                    .request(method.parse().unwrap(), app.url(&path))
                    .form(&fields)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(
                anon.status,
                StatusCode::SEE_OTHER,
                "anonymous {method} {path}"
            );
            assert_eq!(anon.headers["location"], "/admin/login");
            assert_eq!(audit_count(&app).await, before);
        }
    }
}

/// Routes outside the role matrix, and why: each is open to anyone (signing in, the static
/// files) or to every signed-in user on their own account (`admin_auth.rs` covers them).
const OUTSIDE_THE_MATRIX: &[(&str, &str)] = &[
    ("GET", "/admin/admin.css"),
    ("GET", "/admin/admin.js"),
    ("GET", "/admin/login"),
    ("POST", "/admin/login"),
    ("POST", "/admin/logout"),
    ("POST", "/admin/logout-everywhere"),
    ("POST", "/admin/password"),
];

/// `(METHOD, /admin/path template)` for every route of the admin router
/// (`web/src/admin/mod.rs`), read from its source as `openapi.rs` reads `routes.rs`: a route
/// added there is in this list without anyone remembering to add it.
fn routed() -> BTreeSet<(String, String)> {
    let src = include_str!("../../../web/src/admin/mod.rs");
    let table = &src[src.find("pub fn router(").unwrap()..];
    crate::helpers::route_table(&table[..table.find(".layer(").unwrap()], "/admin")
}

/// The route template a concrete `method path` of the matrix belongs to: of the routes with
/// that method whose segments match (a `{placeholder}` matches any), the most literal one
/// (`/incidents/new` is not `/incidents/{incident_id}`).
fn template_of(method: &str, path: &str, templates: &BTreeSet<(String, String)>) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    templates
        .iter()
        .filter(|(m, _)| m == method)
        .filter_map(|(_, t)| {
            let ts: Vec<&str> = t.split('/').collect();
            let fits = ts.len() == segments.len()
                && ts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')));
            let literal = ts.iter().zip(&segments).filter(|(t, s)| t == s).count();
            fits.then_some((literal, t))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, t)| t.clone())
}

#[tokio::test]
async fn the_role_matrix_covers_every_admin_route() {
    // Arrange: the admin router's routes, read from its source
    let app = TestApp::spawn(Backend::Sqlite).await;
    let targets = Targets::new(&app, "nouser".to_owned()).await;
    let all = routed();
    assert!(all.len() >= 50, "{all:?}");
    // Act: the route (template) of every entry of the matrix
    let mut covered = BTreeSet::new();
    for (method, path, _, _) in routes(&app, &targets) {
        let t = template_of(method, &path, &all)
            .unwrap_or_else(|| panic!("{method} {path} is in the matrix but not routed"));
        covered.insert((method.to_owned(), t));
    }
    // Assert: every routed admin route is in the matrix with its least role, or is one of
    // the few open to anyone or to every signed-in user
    let outside: BTreeSet<(String, String)> = OUTSIDE_THE_MATRIX
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = all
        .iter()
        .filter(|r| !covered.contains(*r) && !outside.contains(*r))
        .collect();
    assert!(
        missing.is_empty(),
        "admin routes with no role check in the matrix (add each to admin_routes.rs with the \
         least role it needs): {missing:?}"
    );
    for r in &outside {
        assert!(all.contains(r), "{r:?} is exempted but no longer routed");
        assert!(
            !covered.contains(r),
            "{r:?} is both exempted and in the matrix"
        );
    }
}

async fn admin_get_routes_change_nothing(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let targets = Targets::new(&app, "nouser".to_owned()).await;
    user(&app, "owner@example.com", Role::Owner).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let before = (audit_count(&app).await,);
    // Act
    for (method, path, _, _) in routes(&app, &targets) {
        if method == "GET" {
            assert_eq!(a.get(&path).await.status, StatusCode::OK, "{path}");
        }
    }
    // Assert
    assert_eq!(audit_count(&app).await, before.0);
}

async fn admin_csrf_covers_every_new_screen(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    user(&app, "owner@example.com", Role::Owner).await;
    let targets = Targets::new(&app, "nouser".to_owned()).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let before = audit_count(&app).await;
    for (method, path, fields, _) in new_routes(&app, &targets) {
        if method != "POST" {
            continue;
        }
        let mut f: Vec<(&str, &str)> = vec![("csrf", a.csrf.as_str())];
        f.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
        // Act: a valid session and token, sent from another site / without the token
        let cross = a
            .post_with(
                &path,
                &f,
                &[
                    ("Sec-Fetch-Site", "cross-site"),
                    ("Origin", "https://evil.example"),
                ],
            )
            .await;
        let tokenless = a
            .post_with(&path, &f[1..], &[("Sec-Fetch-Site", "same-origin")])
            .await;
        // Assert
        assert_eq!(
            cross.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            cross.text
        );
        assert_eq!(tokenless.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(audit_count(&app).await, before, "nothing was written");
    let comps = app.store.list_components(&app.page.id).await.unwrap();
    assert!(comps.iter().any(|c| c.id == targets.doomed_component));
    assert!(
        app.store
            .get_incident(&app.page.id, &IncidentId::from(&targets.doomed_incident))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        app.store
            .get_template(&app.page.id, &targets.doomed_template)
            .await
            .unwrap()
            .is_some()
    );
    let s = app
        .store
        .get_subscriber(&app.page.id, &targets.doomed_subscriber)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.state.as_str(), "active");
    assert_eq!(
        app.store
            .get_page(&app.page.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Acme Cloud"
    );
}

both_backends!(
    admin_csrf_covers_every_new_screen,
    admin_csrf_cross_site_posts_are_refused,
    admin_role_matrix,
    admin_get_routes_change_nothing,
);
