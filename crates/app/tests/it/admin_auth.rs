//! Admin sign-in: sessions, lockout, sign-out (everywhere), password change, cookies and
//! security headers.

use herald_domain::user::Role;
use reqwest::StatusCode;

use crate::admin_support::{Admin, PASSWORD, audit_count, client, login_raw, user};
use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp};

async fn admin_sign_in_sets_a_safe_cookie_and_stores_only_its_hash(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    user(&app, "Owner@Example.com", Role::Owner).await;
    // Act
    let r = login_raw(&app, "owner@example.com", PASSWORD).await;
    // Assert
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.headers["location"], "/admin");
    let set = r.headers["set-cookie"].to_str().unwrap();
    assert!(set.starts_with("herald_admin="), "{set}");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/admin"] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    assert!(!set.contains("Secure"), "plain http: no Secure: {set}");
    let token = set
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("herald_admin=");
    assert!(
        !app.db.dump().await.contains(token),
        "the token is stored in clear"
    );
    let admin = Admin::login(&app, "owner@example.com").await;
    let home = admin.get("/admin").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text.contains("Acme Cloud"), "{}", home.text);
}

async fn admin_pages_need_a_session(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    // Act
    let r = crate::helpers::read(client().get(app.url("/admin")).send().await.unwrap()).await;
    let forged = crate::helpers::read(
        client()
            .get(app.url("/admin"))
            .header("Cookie", "herald_admin=made-up")
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Assert
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/admin/login");
    assert_eq!(forged.headers["location"], "/admin/login");
}

async fn admin_login_locks_after_five_failures(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    user(&app, "ops@example.com", Role::IncidentManager).await;
    // Act
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            login_raw(&app, "ops@example.com", "wrong password!")
                .await
                .status,
        );
    }
    let right_but_locked = login_raw(&app, "ops@example.com", PASSWORD).await;
    let unknown = login_raw(&app, "nobody@example.com", "wrong password!").await;
    // Assert
    assert_eq!(&statuses[..4], &[StatusCode::UNAUTHORIZED; 4]);
    assert_eq!(statuses[4], StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right_but_locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(right_but_locked.headers.get("set-cookie").is_none());
    assert!(right_but_locked.text.contains("Too many failed attempts"));
    assert!(
        right_but_locked.text.contains("value=\"ops@example.com\""),
        "email kept"
    );
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

async fn admin_logout_and_logout_everywhere_end_sessions(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    user(&app, "owner@example.com", Role::Owner).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let b = Admin::login(&app, "owner@example.com").await;
    let c = Admin::login(&app, "owner@example.com").await;
    // Act
    let out = a.post("/admin/logout", &[]).await;
    let a_after = a.get("/admin").await;
    let b_before = b.get("/admin").await;
    let everywhere = b.post("/admin/logout-everywhere", &[]).await;
    // Assert
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(a_after.status, StatusCode::SEE_OTHER);
    assert_eq!(b_before.status, StatusCode::OK);
    assert_eq!(everywhere.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/admin").await.status, StatusCode::SEE_OTHER);
    assert_eq!(c.get("/admin").await.status, StatusCode::SEE_OTHER);
}

async fn admin_password_change(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    user(&app, "owner@example.com", Role::Owner).await;
    let a = Admin::login(&app, "owner@example.com").await;
    let other = Admin::login(&app, "owner@example.com").await;
    let before = audit_count(&app).await;
    // Act
    let wrong = a
        .post(
            "/admin/password",
            &[
                ("current", "not it at all"),
                ("password", "short"),
                ("confirm", "shorter"),
            ],
        )
        .await;
    let after_wrong = audit_count(&app).await;
    let ok = a
        .post(
            "/admin/password",
            &[
                ("current", PASSWORD),
                ("password", "a much better passphrase"),
                ("confirm", "a much better passphrase"),
            ],
        )
        .await;
    // Assert
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    for m in [
        "not your current password",
        "at least 10 characters",
        "differ",
    ] {
        assert!(wrong.text.contains(m), "missing {m:?}: {}", wrong.text);
    }
    assert_eq!(after_wrong, before, "a refused change writes nothing");
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(audit_count(&app).await, before + 1);
    assert_eq!(
        a.get("/admin").await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        other.get("/admin").await.status,
        StatusCode::SEE_OTHER,
        "others end"
    );
    assert_eq!(
        login_raw(&app, "owner@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_raw(&app, "owner@example.com", "a much better passphrase")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

async fn admin_responses_carry_security_headers(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    user(&app, "viewer@example.com", Role::Viewer).await;
    let a = Admin::login(&app, "viewer@example.com").await;
    // Act
    let pages = [
        crate::helpers::read(client().get(app.url("/admin/login")).send().await.unwrap()).await,
        a.get("/admin").await,
        a.get("/admin/audit").await,
        a.get(&format!("/admin/pages/{}", app.page.id)).await,
    ];
    // Assert
    for r in pages {
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            csp.contains("object-src 'none'") && csp.contains("base-uri"),
            "{csp}"
        );
        // Scripts only from herald's own file: never inline, never eval.
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        assert_eq!(r.headers["referrer-policy"], "same-origin");
        assert_eq!(r.headers["x-frame-options"], "DENY");
        assert_eq!(r.headers["cache-control"], "no-store");
        // The only script tag loads the external file (no inline code).
        assert_eq!(
            r.text.matches("<script").count(),
            r.text
                .matches("<script src=\"/admin/admin.js\" defer></script>")
                .count(),
            "{}",
            r.text
        );
    }
}

async fn admin_expired_sessions_are_refused(backend: Backend) {
    // Arrange: a session that ran out an hour ago
    let app = TestApp::spawn(backend).await;
    user(&app, "owner@example.com", Role::Owner).await;
    let (u, _) = app
        .store
        .find_user_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    let now = herald_domain::clock::Clock::now(&herald_domain::clock::SystemClock);
    app.store
        .create_admin_session(
            &u,
            &herald_domain::apikey::hash("expired-token"),
            "csrf",
            now - chrono::TimeDelta::hours(1),
            &herald_domain::actor::Actor::cli(),
            now - chrono::TimeDelta::hours(13),
        )
        .await
        .unwrap();
    // Act
    let r = crate::helpers::read(
        client()
            .get(app.url("/admin"))
            .header("Cookie", "herald_admin=expired-token")
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Assert
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/admin/login");
}

/// A sign-in from client address `ip`, as a proxy names it in X-Real-IP.
async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> Resp {
    crate::helpers::read(
        client()
            .post(app.url("/admin/login"))
            .header("Origin", app.url(""))
            .header("X-Real-IP", ip)
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn admin_login_is_rate_limited_per_address_across_accounts(backend: Backend) {
    // Arrange: behind a proxy that names the client in X-Real-IP
    let app = TestApp::spawn_with(backend, |c| {
        c.client_ip_header = Some("x-real-ip".to_owned());
    })
    .await;
    user(&app, "owner@example.com", Role::Owner).await;
    let attempt = |ip: &'static str, email: String, password: &'static str| {
        let app = &app;
        async move { login_from(app, ip, &email, password).await }
    };
    // Act: one address tries 30 different accounts (no account reaches its own lockout)
    for i in 0..30 {
        let r = attempt("203.0.113.7", format!("nobody{i}@example.com"), "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let blocked = attempt("203.0.113.7", "owner@example.com".to_owned(), PASSWORD).await;
    let elsewhere = attempt("198.51.100.9", "owner@example.com".to_owned(), PASSWORD).await;
    // Assert: the address is refused even with the right password; another address is not
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        blocked.text
    );
    assert!(
        blocked.text.contains("Too many sign-in attempts"),
        "{}",
        blocked.text
    );
    assert!(!blocked.headers.contains_key("set-cookie"));
    assert_eq!(
        elsewhere.status,
        StatusCode::SEE_OTHER,
        "{}",
        elsewhere.text
    );
}

async fn a_lockout_keeps_out_the_failing_address_not_the_account_s_owner(backend: Backend) {
    // Arrange: behind a proxy that names the client in X-Real-IP; the on-call engineer
    let app = TestApp::spawn_with(backend, |c| {
        c.client_ip_header = Some("x-real-ip".to_owned());
    })
    .await;
    user(&app, "oncall@example.com", Role::IncidentManager).await;
    let attempt = |ip: &'static str, password: &'static str| {
        let app = &app;
        async move { login_from(app, ip, "oncall@example.com", password).await }
    };
    // Act: someone elsewhere fails five times on the engineer's account
    for _ in 0..5 {
        attempt("203.0.113.66", "guess").await;
    }
    let attacker = attempt("203.0.113.66", PASSWORD).await;
    let engineer = attempt("198.51.100.20", PASSWORD).await;
    // Assert: the failing address is locked out, even with the right password; the engineer,
    // from their own address, signs in
    assert_eq!(
        attacker.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        attacker.text
    );
    assert!(!attacker.headers.contains_key("set-cookie"));
    assert_eq!(engineer.status, StatusCode::SEE_OTHER, "{}", engineer.text);
    assert!(engineer.headers.contains_key("set-cookie"));
}

both_backends!(
    a_lockout_keeps_out_the_failing_address_not_the_account_s_owner,
    admin_login_is_rate_limited_per_address_across_accounts,
    admin_expired_sessions_are_refused,
    admin_sign_in_sets_a_safe_cookie_and_stores_only_its_hash,
    admin_pages_need_a_session,
    admin_login_locks_after_five_failures,
    admin_logout_and_logout_everywhere_end_sessions,
    admin_password_change,
    admin_responses_carry_security_headers,
);
