//! The public HTML pages: structure (banner, groups, bars, incidents, history, uptime),
//! page resolution (default page, `/p/<slug>/`, custom domain by `Host`), the 404 page,
//! security headers, private pages, and bad input answered with clean 4xx.

use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, Node, TestApp, counter_sum};
use crate::public_api::seed;

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

async fn the_home_page_shows_status_incidents_components_and_bars(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let s = seed(&app).await;
    // Act
    let r = app.public("/", &[]).await;
    let summary = app.public("/api/v2/summary.json", &[]).await.json();
    // Assert
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    let h = &r.text;
    let desc = summary["status"]["description"].as_str().unwrap();
    let ind = summary["status"]["indicator"].as_str().unwrap();
    assert!(
        h.contains(&format!("data-indicator=\"{ind}\">{desc}</h1>")),
        "banner"
    );
    assert!(h.contains("Active incidents") && h.contains("Elevated errors"));
    assert!(
        h.contains("<strong>looking</strong>"),
        "markdown is rendered"
    );
    assert!(h.contains("Maintenance in progress") && h.contains("Active migration"));
    assert!(h.contains("Scheduled maintenance") && h.contains("Upcoming upgrade"));
    assert!(
        !h.contains("Done maintenance"),
        "completed maintenance is history"
    );
    assert_eq!(count(h, "<details"), 1, "one collapsible group");
    assert!(h.contains("<summary><span class=\"name\">Core</span>"));
    assert!(
        h.contains("<span class=\"name\">CDN</span>"),
        "CDN is under maintenance, so shown"
    );
    // API, Web and the group have 90 bars each; CDN is not showcased.
    assert_eq!(count(h, "<ol class=\"bars\""), 3);
    assert_eq!(count(h, "tabindex=\"0\" class=\"bar "), 270);
    assert!(h.contains("% uptime"));
    assert!(h.contains("Last updated <time"));
    assert!(h.contains("href=\"history.atom\""));
    let _ = (s.web, s.resolved);
}

async fn only_show_if_degraded_hides_an_operational_component(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let c = app.component("Hidden Thing").await;
    let id = c["id"].as_str().unwrap();
    let path = app.page_path(&format!("/components/{id}"));
    app.patch(
        &path,
        &json!({"component": {"only_show_if_degraded": true}}),
    )
    .await;
    // Act
    let hidden = app.public("/", &[]).await.text;
    app.patch(&path, &json!({"component": {"status": "partial_outage"}}))
        .await;
    let shown = app.public("/", &[]).await.text;
    // Assert
    assert!(!hidden.contains("Hidden Thing"));
    assert!(shown.contains("Hidden Thing"));
}

async fn incident_pages_history_and_uptime(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let s = seed(&app).await;
    let r = app
        .put(
            &app.page_path(&format!("/incidents/{}/postmortem", s.resolved)),
            &json!({"postmortem": {"body_draft": "## Cause\n\nA *bad* cable."}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app
        .put(
            &app.page_path(&format!("/incidents/{}/postmortem/publish", s.resolved)),
            &json!({"postmortem": {}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Act
    let incident = app.public(&format!("/incidents/{}", s.resolved), &[]).await;
    let history = app.public("/history", &[]).await;
    let history1 = app.public("/history?page=1", &[]).await;
    let uptime = app.public("/uptime", &[]).await;
    let uptime2 = app.public("/p/acme/uptime?page=2", &[]).await;
    // Assert
    assert_eq!(incident.status, StatusCode::OK);
    assert!(incident.text.contains("Old outage"));
    assert!(incident.text.contains("Postmortem") && incident.text.contains("<h4>Cause</h4>"));
    assert!(incident.text.contains("Affected components: Web"));
    assert!(
        incident.text.contains("href=\"../history\""),
        "links are relative"
    );
    assert_eq!(history.status, StatusCode::OK);
    assert!(history.text.contains("Old outage") && history.text.contains("Elevated errors"));
    assert_eq!(history.text, history1.text);
    assert_eq!(uptime.status, StatusCode::OK);
    assert!(uptime.text.contains("How uptime is computed"));
    assert!(
        uptime
            .text
            .contains("major outage counts 100% as down time, a partial outage 30%")
    );
    assert_eq!(uptime2.status, StatusCode::OK);
    assert!(uptime2.text.contains("href=\"uptime?page=1\""));
}

async fn pages_resolve_by_default_slug_and_host(b: Backend) {
    // Arrange: two pages, the second with a custom domain
    let app = TestApp::spawn(b).await;
    let other = app.new_page("beta").await;
    let r = app
        .patch(
            &format!("/v1/pages/{}", other.id),
            &json!({"page": {"domain": "status.beta.example", "name": "Beta Co"}}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "the test key is scoped to acme"
    );
    let key = app.new_key(None, false).await;
    let r = app
        .send_as(
            &key,
            reqwest::Method::PATCH,
            &format!("/v1/pages/{}", other.id),
            Some(&json!({"page": {"domain": "status.beta.example", "name": "Beta Co"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Act
    let root = app.public("/", &[]).await;
    let acme = app.public("/p/acme/", &[]).await;
    let beta = app.public("/p/beta/", &[]).await;
    let by_host = app.public("/", &[("host", "status.beta.example")]).await;
    let by_host_upper = app
        .public("/", &[("host", "STATUS.Beta.example:443")])
        .await;
    let api_by_host = app
        .public("/api/v2/status.json", &[("host", "status.beta.example")])
        .await;
    let redirect = app
        .client
        .get(app.url("/p/acme"))
        .header("x", "y")
        .send()
        .await
        .unwrap();
    let configured = Node::start(&app.db.url, |c| c.default_page = Some("beta".into())).await;
    // Assert
    assert_eq!(
        root.status,
        StatusCode::NOT_FOUND,
        "two pages and no default"
    );
    assert!(acme.text.contains("Acme Cloud"));
    assert!(beta.text.contains("Beta Co"));
    assert!(by_host.text.contains("Beta Co"));
    assert!(by_host_upper.text.contains("Beta Co"));
    assert_eq!(api_by_host.json()["page"]["name"], "Beta Co");
    assert_eq!(
        api_by_host.json()["page"]["url"],
        "https://status.beta.example"
    );
    assert_eq!(redirect.url().path(), "/p/acme/", "followed the redirect");
    assert!(configured.get("/").await.text.contains("Beta Co"));
    // Health answers on every host (herald's own surface only on herald's: security_hosts.rs).
    assert_eq!(app.public("/livez", &[]).await.status, StatusCode::OK);
    assert_eq!(
        app.public("/livez", &[("host", "status.beta.example")])
            .await
            .status,
        StatusCode::OK
    );
}

/// A request path, its extra headers, and the status it must get.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], StatusCode);

async fn not_found_and_bad_input_are_clean(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    seed(&app).await;
    let cases: &[Case] = &[
        ("/incidents/doesnotexist", &[], StatusCode::NOT_FOUND),
        ("/p/nope/", &[], StatusCode::NOT_FOUND),
        ("/p/acme/nothing-here", &[], StatusCode::NOT_FOUND),
        ("/p/acme/../../etc/passwd", &[], StatusCode::NOT_FOUND),
        (
            "/p/acme/%2e%2e/%2e%2e/etc/passwd",
            &[],
            StatusCode::NOT_FOUND,
        ),
        ("/history?page=-1", &[], StatusCode::BAD_REQUEST),
        ("/history?page=0", &[], StatusCode::BAD_REQUEST),
        ("/history?page=abc", &[], StatusCode::BAD_REQUEST),
        (
            "/history?page=99999999999999999999999",
            &[],
            StatusCode::BAD_REQUEST,
        ),
        ("/history?page=4000", &[], StatusCode::NOT_FOUND),
        ("/uptime?page=5", &[], StatusCode::NOT_FOUND),
        ("/assets/../Cargo.toml", &[], StatusCode::NOT_FOUND),
        ("/", &[("host", "bad host name!")], StatusCode::BAD_REQUEST),
        ("/", &[("host", "..")], StatusCode::OK),
        ("/", &[("host", "unknown.example")], StatusCode::OK),
    ];
    for (path, headers, want) in cases {
        // Act
        let r = app.public(path, headers).await;
        // Assert
        assert_eq!(r.status, *want, "{path} {headers:?}: {}", r.text);
    }
    let nf = app.public("/p/acme/nothing-here", &[]).await;
    assert!(nf.text.contains("Page not found") && nf.text.contains("Acme Cloud"));
    assert_eq!(nf.headers["content-type"], "text/html; charset=utf-8");
}

async fn security_headers_on_every_html_page(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    let s = seed(&app).await;
    for path in [
        "/".to_owned(),
        "/history".to_owned(),
        "/uptime".to_owned(),
        format!("/incidents/{}", s.open),
        "/nope/../p/acme/x".to_owned(),
    ] {
        // Act
        let r = app.public(&path, &[]).await;
        // Assert
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"));
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(!csp.contains("script-src"), "no script is allowed at all");
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        assert!(r.headers.contains_key("referrer-policy"));
        assert!(!r.text.contains("<script"), "{path} has a script tag");
    }
    let css_link = app.public("/", &[]).await.text;
    let href = css_link
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let css = app.public(&href, &[]).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let _ = (s.api, s.cdn);
}

async fn private_pages_publish_nothing(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    app.incident(json!({"name": "Secret incident", "status": "investigating"}))
        .await;
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"viewers_must_be_team_members": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for path in [
        "/p/acme/",
        "/p/acme/api/v2/summary.json",
        "/p/acme/history.atom",
        "/p/acme/history",
        "/p/acme/badge.svg",
    ] {
        // Act
        let r = app.public(path, &[]).await;
        // Assert
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!r.text.contains("Secret"), "{path}");
        assert_eq!(r.headers["cache-control"], "no-store", "{path}");
    }
}

async fn badge_and_embed_script(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    app.patch(
        &app.page_path(""),
        &json!({"page": {"name": "A <b>&</b> \"B\""}}),
    )
    .await;
    // Act
    let badge = app.public("/badge.svg", &[]).await;
    let js = app.public("/embed/script.js", &[]).await;
    // Assert
    assert_eq!(badge.headers["content-type"], "image/svg+xml");
    assert!(badge.text.contains("All Systems Operational"));
    assert!(
        badge
            .text
            .contains("A &lt;b&gt;&amp;&lt;/b&gt; &quot;B&quot;"),
        "{}",
        badge.text
    );
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text.contains("summary.json") && js.text.contains("textContent"));
    assert!(!js.text.contains("innerHTML"));
}

async fn a_write_compresses_what_it_changed_not_the_whole_home_page(b: Backend) {
    // Arrange: a page whose "past incidents" list is long (eighty incidents of the last
    // days, resolved, with long names), and one open incident
    let app = TestApp::spawn(b).await;
    for n in 0..80 {
        app.incident(json!({
            "name": format!("Resolved incident number {n} with a name long enough to weigh in the list of past incidents"),
            "status": "resolved",
            "body": "Fixed.",
        }))
        .await;
    }
    let open = app
        .incident(json!({"name": "Open one", "status": "investigating", "body": "Looking."}))
        .await;
    let home = app.public("/", &[]).await.text;
    let compressed = "herald_snapshot_compressed_bytes_total";
    let before = counter_sum(&app.get("/metrics").await.text, compressed);
    // Act: one update of the open incident (a new timeline entry, a new last-updated time)
    let r = app
        .patch(
            &app.page_path(&format!("/incidents/{}", open["id"].as_str().unwrap())),
            &json!({"incident": {"body": "Found it."}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Assert: the render compressed the incident's pieces and the documents' envelopes,
    // not the past-incident list (each of its days is a piece, and none changed)
    let made = counter_sum(&app.get("/metrics").await.text, compressed) - before;
    let list = home
        .find("Past incidents")
        .map(|at| (home.len() - at) as u64)
        .unwrap();
    assert!(list > 10_000, "the list is long: {list} bytes");
    assert!(
        made < list / 2,
        "one update compressed {made} new bytes; the past-incident list alone is {list}"
    );
    assert!(app.public("/", &[]).await.text.contains("Found it."));
}

both_backends!(
    a_write_compresses_what_it_changed_not_the_whole_home_page,
    the_home_page_shows_status_incidents_components_and_bars,
    only_show_if_degraded_hides_an_operational_component,
    incident_pages_history_and_uptime,
    pages_resolve_by_default_slug_and_host,
    not_found_and_bad_input_are_clean,
    security_headers_on_every_html_page,
    private_pages_publish_nothing,
    badge_and_embed_script,
);
