//! Hosts: no page can take over herald's shared host, `/p/<slug>/` answers whatever the
//! `Host`, a request carries exactly one valid `Host`, a tenant's custom domain serves only
//! its page, and behind https every response carries HSTS (issue 12's security probe).

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_backends;
use crate::helpers::{Backend, Node, Resp, TestApp, read};
use herald::config::Role;

/// Sends `request` as raw bytes and returns the status line's code.
async fn raw_status(app: &TestApp, request: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let mut got = Vec::new();
    while !got.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "the connection closed before a status line");
        got.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&got);
    line.split(' ').nth(1).unwrap().parse().unwrap()
}

/// POSTs a form to `path` for the host `host`.
async fn post_form(app: &TestApp, path: &str, host: &str, fields: &[(&str, &str)]) -> Resp {
    read(
        app.client
            .post(app.url(path))
            .header("host", host)
            .form(fields)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Gives page `page_id` the custom domain `domain`, through the API.
async fn give_domain(app: &TestApp, page_id: &str, domain: &str) {
    let key = app.new_key(None, false).await;
    let r = app
        .send_as(
            &key,
            Method::PATCH,
            &format!("/v1/pages/{page_id}"),
            Some(&json!({"page": {"domain": domain}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn a_page_key_cannot_take_over_the_shared_host(b: Backend) {
    // Arrange: herald reached as status.herald.test; a second page with its own key
    let app = TestApp::spawn_with(b, |c| {
        c.public_url = Some("https://status.herald.test".to_owned());
    })
    .await;
    let beta = app.new_page("beta").await;
    let beta_key = app
        .new_key(Some(std::slice::from_ref(&beta.id)), false)
        .await;
    let beta_path = format!("/v1/pages/{}", beta.id);
    // Act: beta's key tries every spelling of an address that reaches herald, and herald's
    // own host name
    let takeovers = [
        "127.0.0.1",
        "127.0.0.1.",
        "127.1",
        "0x7f.1",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "2130706433",
        "017700000001",
        "[::1]",
        "::ffff:127.0.0.1",
        "status.herald.test",
        "STATUS.Herald.Test.",
    ];
    for domain in takeovers {
        let r = app
            .send_as(
                &beta_key,
                Method::PATCH,
                &beta_path,
                Some(&json!({"page": {"domain": domain}})),
            )
            .await;
        // Assert: refused, naming the field, and nothing changed
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{domain}: {}",
            r.text
        );
        assert_eq!(r.json()["field"], "page.domain", "{domain}");
    }
    let beta_now = app.store.get_page(&beta.id).await.unwrap().unwrap();
    assert_eq!(beta_now.domain, None);
    // A page saved with an address before the rule existed does not take herald's host
    // either: with two pages and no default, `/` stays herald's "no page here".
    app.store
        .update_page(
            &beta.id,
            &herald_domain::actor::Actor::cli(),
            herald_domain::clock::Clock::now(&herald_domain::clock::SystemClock),
            |p| {
                let mut p = p.clone();
                p.domain = Some("127.0.0.1".to_owned());
                Ok(p)
            },
        )
        .await
        .unwrap();
    // (the snapshot shows the change once its page URL names the address)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = app.public("/p/beta/api/v2/summary.json", &[]).await;
        if r.status == StatusCode::OK && r.json()["page"]["url"] == "https://127.0.0.1" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never re-rendered");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let root = app.public("/", &[]).await;
    assert_eq!(root.status, StatusCode::NOT_FOUND, "{}", root.text);
    // A real domain of its own is still fine.
    let ok = app
        .send_as(
            &beta_key,
            Method::PATCH,
            &beta_path,
            Some(&json!({"page": {"domain": "status.beta.example"}})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
}

async fn p_slug_answers_for_its_page_whatever_the_host(b: Backend) {
    // Arrange: beta owns a custom domain; every request below names that domain as Host
    let app = TestApp::spawn(b).await;
    let beta = app.new_page("beta").await;
    give_domain(&app, beta.id.as_str(), "status.beta.example").await;
    let host = [("host", "status.beta.example")];
    // Act + Assert: acme's public outputs under /p/acme/ are acme's
    for path in [
        "/p/acme/",
        "/p/acme/history",
        "/p/acme/history.atom",
        "/p/acme/badge.svg",
    ] {
        let r = app.public(path, &host).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert!(r.text.contains("Acme Cloud"), "{path} is not acme's");
    }
    let summary = app.public("/p/acme/api/v2/summary.json", &host).await;
    assert_eq!(summary.json()["page"]["id"], app.page.id.as_str());
    // ...and so is its subscribe form
    let sub = post_form(
        &app,
        "/p/acme/subscriptions",
        "status.beta.example",
        &[("subscriber[email]", "ops@example.com")],
    )
    .await;
    assert_eq!(sub.status, StatusCode::OK, "{}", sub.text);
    assert!(sub.text.contains("Acme Cloud"), "{}", sub.text);
    // The custom domain's own root is still beta's
    assert!(app.public("/", &host).await.text.contains("beta"));
}

async fn a_request_needs_exactly_one_valid_host(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let host = format!("Host: {}\r\n", app.addr);
    // Act + Assert
    let none = raw_status(&app, "GET /livez HTTP/1.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(none, 400, "HTTP/1.1 without Host");
    let two = raw_status(
        &app,
        &format!("GET /livez HTTP/1.1\r\n{host}Host: other.example\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(two, 400, "two Host headers");
    let two_public = raw_status(
        &app,
        &format!("GET / HTTP/1.1\r\n{host}{host}Connection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(two_public, 400, "two Host headers on a public path");
    let bad = raw_status(
        &app,
        "GET / HTTP/1.1\r\nHost: bad host name!\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(bad, 400, "a Host that is no host name");
    let one = raw_status(
        &app,
        &format!("GET /livez HTTP/1.1\r\n{host}Connection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(one, 200);
    let old = raw_status(&app, "GET /livez HTTP/1.0\r\n\r\n").await;
    assert_eq!(old, 200, "HTTP/1.0 may leave Host out");
}

async fn a_custom_domain_serves_its_page_and_nothing_of_herald_s_own(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    give_domain(&app, app.page.id.as_str(), "status.acme.example").await;
    let host = [("host", "status.acme.example")];
    // Act + Assert: herald's own surface is not there
    for path in [
        "/admin/login",
        "/admin",
        "/metrics",
        "/v1/pages",
        "/docs/webhooks.md",
    ] {
        let r = app.public(path, &host).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
    }
    let login = post_form(
        &app,
        "/admin/login",
        "status.acme.example",
        &[("email", "a@example.com"), ("password", "x")],
    )
    .await;
    assert_eq!(login.status, StatusCode::NOT_FOUND, "{}", login.text);
    // ...but the page, its subscribe form and health are
    assert!(app.public("/", &host).await.text.contains("Acme Cloud"));
    assert_eq!(app.public("/livez", &host).await.status, StatusCode::OK);
    let sub = post_form(
        &app,
        "/subscriptions",
        "status.acme.example",
        &[("subscriber[email]", "ops@example.com")],
    )
    .await;
    assert_eq!(sub.status, StatusCode::OK, "{}", sub.text);
    // ...and herald's own host still has all of it
    assert_eq!(app.public("/metrics", &[]).await.status, StatusCode::OK);
    assert_eq!(app.public("/admin/login", &[]).await.status, StatusCode::OK);
}

async fn every_response_carries_hsts_behind_https(b: Backend) {
    // Arrange
    let app = TestApp::spawn_with(b, |c| {
        c.public_url = Some("https://status.herald.test".to_owned());
    })
    .await;
    let etag = app.public("/", &[]).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    // Act: snapshot answers, 304, routed answers, errors of every kind
    let mut answers = Vec::new();
    for (path, headers) in [
        ("/", vec![]),
        ("/", vec![("if-none-match", etag.as_str())]),
        ("/p/acme/", vec![]),
        ("/p/acme", vec![]),
        ("/api/v2/summary.json", vec![]),
        ("/history?page=0", vec![]),
        ("/p/nope/", vec![]),
        ("/livez", vec![]),
        ("/metrics", vec![]),
        ("/v1/pages", vec![]),
        ("/v1/nothing", vec![]),
        ("/admin/login", vec![]),
        ("/no/such/path", vec![]),
    ] {
        let r = app.public(path, &headers).await;
        answers.push((format!("GET {path} {headers:?} → {}", r.status), r.headers));
    }
    let v1 = app.get("/v1/pages").await;
    answers.push(("GET /v1/pages with a key".into(), v1.headers));
    let post = read(app.client.post(app.url("/p/acme/")).send().await.unwrap()).await;
    answers.push((format!("POST /p/acme/ → {}", post.status), post.headers));
    // ...and a worker-only node's health endpoints
    let worker = Node::start(&app.db.url, |c| {
        c.role = Role::Worker;
        c.public_url = Some("https://status.herald.test".to_owned());
    })
    .await;
    for path in ["/livez", "/metrics", "/nothing"] {
        let r = worker.get(path).await;
        answers.push((format!("worker GET {path} → {}", r.status), r.headers));
    }
    // Assert
    for (what, headers) in answers {
        assert_eq!(
            headers
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{what}"
        );
    }
}

both_backends!(
    a_page_key_cannot_take_over_the_shared_host,
    p_slug_answers_for_its_page_whatever_the_host,
    a_request_needs_exactly_one_valid_host,
    a_custom_domain_serves_its_page_and_nothing_of_herald_s_own,
    every_response_carries_hsts_behind_https,
);
