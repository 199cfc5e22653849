//! The public page in headless Chromium: the demo page (screenshots, banner equal to
//! summary.json, axe-core, keyboard tooltips, JavaScript off), the XSS corpus in every
//! user-controlled field, and Atlassian's status widget and herald's embed script on a page
//! of another origin.

use herald_domain::clock::{Clock, SystemClock};
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::run_script;
use crate::helpers::{Backend, Node, Resp, TestApp, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_in_chromium() {
    // Arrange: a database seeded by `herald demo`'s seed, served by a real herald
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let seeded = herald::demo::seed(&store, SystemClock.now()).await.unwrap();
    let node = Node::start(&db.url, |_| {}).await;
    let incidents = store
        .list_incidents(&seeded.page.id, &herald_store::IncidentQuery::default())
        .await
        .unwrap();
    let charts: Vec<String> = store
        .list_metrics(&seeded.page.id, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.display)
        .map(|m| m.name)
        .collect();
    assert!(!charts.is_empty(), "the demo shows no chart");
    let with_postmortem = incidents
        .iter()
        .find(|i| i.postmortem.published_at.is_some())
        .unwrap();
    // Act
    let out = run_script(
        "public_demo.mjs",
        json!({"base": node.url(""), "pages": [
            "/history", "/uptime", format!("/incidents/{}", with_postmortem.id), ["/p/acme/nope", 404]
        ], "charts": charts}),
    )
    .await;
    // Assert
    assert!(out.contains("ok public demo"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_widget_works_cross_origin() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = app.component("API").await;
    app.patch(
        &app.page_path(&format!("/components/{}", c["id"].as_str().unwrap())),
        &json!({"component": {"status": "partial_outage"}}),
    )
    .await;
    app.incident(
        json!({"name": "<img src=x onerror=alert(1)> API errors", "status": "identified"}),
    )
    .await;
    // Act
    let out = run_script("public_widget.mjs", json!({"base": app.url("")})).await;
    // Assert
    assert!(out.contains("ok status widget"), "{out}");
}

/// Script injection attempts (RELIABILITY.md row 12; the markdown sanitiser's corpus and more).
pub const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"><script>window.__xss=1</script>",
    "'><svg onload=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<a href=\"https://ok.example\" onclick=\"alert(1)\">x</a>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<style>body{display:none}</style>",
    "<details open ontoggle=alert(1)>",
    "javascript:alert(1)",
    "]]><script>alert(1)</script>",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_xss_corpus_is_inert_everywhere() {
    // Arrange: hostile text in every field a user controls, each write accepted
    let app = TestApp::spawn(Backend::Sqlite).await;
    let h = |n: usize| HOSTILE[n % HOSTILE.len()].to_owned();
    let accepted = |r: Resp, what: &str, want: StatusCode| {
        assert_eq!(r.status, want, "{what}: {}", r.text);
        r.json()
    };
    let r = app
        .patch(
            &app.page_path(""),
            &json!({"page": {"name": h(0), "headline": h(1), "page_description": h(2),
                "custom_header_text": h(3), "custom_footer_text": h(4)}}),
        )
        .await;
    accepted(r, "page", StatusCode::OK);
    let mut ids = Vec::new();
    for n in 0..4 {
        let c = app.component(&h(n + 5)).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let r = app
            .patch(
                &app.page_path(&format!("/components/{id}")),
                &json!({"component": {"description": h(n + 9)}}),
            )
            .await;
        assert_eq!(
            accepted(r, "component description", StatusCode::OK)["description"],
            h(n + 9)
        );
        ids.push(id);
    }
    let r = app
        .post(
            &app.page_path("/component-groups"),
            &json!({"description": h(13), "component_group": {"name": h(14), "components": [ids[0], ids[1]]}}),
        )
        .await;
    assert_eq!(accepted(r, "group", StatusCode::CREATED)["name"], h(14));
    let mut incidents = Vec::new();
    for (n, x) in HOSTILE.iter().enumerate() {
        let i = app
            .incident(
                json!({"name": x, "status": "investigating", "body": h(n + 1),
                "components": {ids[n % 4].clone(): "partial_outage"}}),
            )
            .await;
        let id = i["id"].as_str().unwrap().to_owned();
        let r = app
            .patch(
                &app.page_path(&format!("/incidents/{id}")),
                &json!({"incident": {"status": if n % 2 == 0 { "resolved" } else { "identified" }, "body": h(n + 2)}}),
            )
            .await;
        assert_eq!(
            accepted(r, "incident update", StatusCode::OK)["incident_updates"][0]["body"],
            h(n + 2)
        );
        incidents.push((id, *x, n % 2 == 1));
    }
    let pm = &incidents[0].0;
    let r = app
        .put(
            &app.page_path(&format!("/incidents/{pm}/postmortem")),
            &json!({"postmortem": {"body_draft": HOSTILE.join("\n\n")}}),
        )
        .await;
    accepted(r, "postmortem draft", StatusCode::OK);
    let r = app
        .put(
            &app.page_path(&format!("/incidents/{pm}/postmortem/publish")),
            &json!({"postmortem": {}}),
        )
        .await;
    accepted(r, "postmortem publish", StatusCode::OK);
    // What each document must show as text: the page's name everywhere; components and
    // groups on the status and uptime pages; incidents where they are listed
    let name = h(0);
    let components: Vec<String> = (5..=8).map(h).collect();
    let open: Vec<&str> = incidents.iter().filter(|i| i.2).map(|i| i.1).collect();
    let all: Vec<&str> = incidents.iter().map(|i| i.1).collect();
    let mut home = vec![name.clone(), h(3), h(4), h(14)];
    home.extend(components.iter().cloned());
    home.extend(open.iter().map(|s| (*s).to_owned()));
    let mut uptime = vec![name.clone()];
    uptime.extend(components.iter().cloned());
    let mut listed = vec![name.clone()];
    listed.extend(all.iter().map(|s| (*s).to_owned()));
    let mut documents = vec![
        json!({"path": "/", "expect": home}),
        json!({"path": "/history", "expect": listed}),
        json!({"path": "/uptime", "expect": uptime}),
        json!({"path": "/history.atom", "expect": listed}),
        json!({"path": "/history.rss", "expect": listed}),
        json!({"path": "/badge.svg", "expect": [name]}),
    ];
    for (id, x, _) in &incidents {
        documents.push(json!({"path": format!("/incidents/{id}"), "expect": [name, x]}));
    }
    // Assert, first on the bytes: JSON carries the text as text
    let summary = app.public("/api/v2/summary.json", &[]).await.json();
    assert_eq!(summary["page"]["name"], HOSTILE[0]);
    let listed_components = app.public("/api/v2/components.json", &[]).await.json();
    for c in &components {
        assert!(
            listed_components["components"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == c.as_str()),
            "{c} not in components.json"
        );
    }
    let listed_incidents = app.public("/api/v2/incidents.json", &[]).await.json();
    assert_eq!(
        listed_incidents["incidents"].as_array().unwrap().len(),
        HOSTILE.len()
    );
    for d in &documents {
        let p = d["path"].as_str().unwrap();
        let r = app.public(p, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{p}");
        let lower = r.text.to_lowercase();
        assert!(!lower.contains("<script"), "{p} has a script tag");
        assert!(
            !lower.contains("href=\"javascript"),
            "{p} has a javascript: link"
        );
    }
    // ...then in Chromium, with the CSP bypassed
    let out = run_script(
        "public_xss.mjs",
        json!({"base": app.url(""), "documents": documents}),
    )
    .await;
    assert!(out.contains("ok xss corpus inert"), "{out}");
}
