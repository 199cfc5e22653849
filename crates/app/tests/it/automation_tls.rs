//! TLS certificate expiry checks against loopback TLS servers the test starts with
//! certificates it generates (rcgen, under a CA the reconciler trusts): a certificate far
//! from its end keeps the component operational, one ending within `expiry_days` moves it
//! (after `failures_before_change` runs), and time given to the reconciler by the test
//! walks a certificate towards its end and past it. An untrusted certificate fails the
//! check, and so does a target outside the egress policy; bad settings are a 422 naming
//! the field.

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use herald::config::Role;
use herald_domain::clock::{Clock, SystemClock};
use herald_notify::checks::Automation;
use herald_notify::egress::{ClientSettings, EgressPolicy, GuardedClient};
use herald_notify::tls_expiry::TlsRoots;
use herald_worker::Reconciler;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use reqwest::StatusCode;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use std::sync::Arc;

use crate::automation_support::integration;
use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// A certificate authority the test's reconciler trusts.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca() -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let pem = params.self_signed(&key).unwrap().pem();
    Ca {
        issuer: Issuer::new(params, key),
        pem,
    }
}

fn ymd(t: DateTime<Utc>) -> (i32, u8, u8) {
    (
        t.year(),
        u8::try_from(t.month()).unwrap(),
        u8::try_from(t.day()).unwrap(),
    )
}

/// Starts a TLS server on loopback presenting a certificate for 127.0.0.1 that ends on
/// `not_after`'s day, signed by `ca` (or self-signed when `ca` is `None`); returns
/// `127.0.0.1:port`.
#[expect(
    deprecated,
    reason = "herald's TLS checks use ring (see tls_expiry.rs)"
)]
async fn tls_server(ca: Option<&Ca>, not_after: DateTime<Utc>) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let (y, m, d) = ymd(not_after);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(y, m, d);
    let cert = match ca {
        Some(ca) => params.signed_by(&key, &ca.issuer).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            // A failed handshake (the client refusing the certificate) is the client's news.
            tokio::spawn(async move { drop(acceptor.accept(tcp).await) });
        }
    });
    addr.to_string()
}

fn reconciler(app: &TestApp, ca: &Ca) -> Automation {
    let policy = EgressPolicy::parse("127.0.0.0/8").unwrap();
    let mut roots = TlsRoots::empty();
    assert_eq!(roots.add_pem(ca.pem.as_bytes()).unwrap(), 1);
    Automation {
        store: app.store.clone(),
        client: GuardedClient::new(policy, &ClientSettings::default()).unwrap(),
        tls_roots: roots,
    }
}

async fn status_of(app: &TestApp, id: &str) -> String {
    app.get(&app.page_path(&format!("/components/{id}")))
        .await
        .json()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn last_error(app: &TestApp, check: &str) -> String {
    app.get(&app.page_path(&format!("/integrations/{check}")))
        .await
        .json()["check_state"]["last_error"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

async fn a_tls_check_degrades_its_component_when_the_certificate_nears_its_end(b: Backend) {
    // Arrange: two servers, one certificate with a year left, one with 10 days
    let app = TestApp::spawn_with(b, |c| c.role = Role::Web).await;
    let ca = ca();
    let t0 = SystemClock.now();
    let far = tls_server(Some(&ca), t0 + TimeDelta::days(365)).await;
    let soon = tls_server(Some(&ca), t0 + TimeDelta::days(10)).await;
    let www = app.component("Website").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let api = app.component("API").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let www_check = integration(
        &app,
        json!({"type": "tls", "name": "www certificate", "component_id": www, "target": far,
        "interval_seconds": 3600}),
    )
    .await;
    let api_check = integration(
        &app,
        json!({"type": "tls", "name": "api certificate", "component_id": api, "target": soon,
        "interval_seconds": 3600, "expiry_days": 14, "failures_before_change": 2}),
    )
    .await;
    let got = app
        .get(&app.page_path(&format!("/integrations/{}", www_check.id)))
        .await
        .json();
    assert_eq!(got["check"]["expiry_days"], 14, "the default: {got}");
    assert_eq!(got["check"]["down_status"], "degraded_performance", "{got}");
    let r = reconciler(&app, &ca);
    // Checks are first due when they are made: time runs from after that.
    let t1 = SystemClock.now();
    let at = |hours: i64| t1 + TimeDelta::hours(hours);
    // Act and assert: a year left is fine; 10 days left fails, twice in a row moves it
    r.reconcile(at(0)).await.unwrap();
    assert_eq!(status_of(&app, &www).await, "operational");
    assert_eq!(last_error(&app, &www_check.id).await, "");
    assert_eq!(
        status_of(&app, &api).await,
        "operational",
        "one failure is not enough"
    );
    let why = last_error(&app, &api_check.id).await;
    assert!(why.contains("expires on") && why.contains("14"), "{why}");
    r.reconcile(at(1)).await.unwrap();
    assert_eq!(status_of(&app, &api).await, "degraded_performance");
    assert_eq!(status_of(&app, &www).await, "operational");
    // The reconciler's time, not the system's, decides: 352 days on, www's certificate has
    // less than 14 days left; past its end the handshake itself refuses it.
    r.reconcile(at(352 * 24)).await.unwrap();
    assert_eq!(status_of(&app, &www).await, "degraded_performance");
    r.reconcile(at(367 * 24)).await.unwrap();
    let why = last_error(&app, &www_check.id).await;
    assert!(
        why.contains("TLS handshake") && why.contains("expired"),
        "{why}"
    );
}

async fn a_tls_check_fails_on_an_untrusted_certificate_or_no_tls(b: Backend) {
    // Arrange: a self-signed certificate no root vouches for, and a port that speaks no TLS
    let app = TestApp::spawn_with(b, |c| c.role = Role::Web).await;
    let ca = ca();
    let t0 = SystemClock.now();
    let rogue = tls_server(None, t0 + TimeDelta::days(365)).await;
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_addr = plain.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = plain.accept().await {
            held.push(s); // accepts and says nothing: the handshake times out
        }
    });
    let a = app.component("Shop").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = app.component("Blog").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rogue_check = integration(
        &app,
        json!({"type": "tls", "name": "shop", "component_id": a, "target": rogue,
        "down_status": "partial_outage"}),
    )
    .await;
    let silent_check = integration(
        &app,
        json!({"type": "tls", "name": "blog", "component_id": c, "target": plain_addr,
        "timeout_seconds": 1}),
    )
    .await;
    // Outside the egress policy (which allows 127.0.0.0/8 only): refused before connecting
    let inside = app.component("Intranet").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut blocked = Vec::new();
    for (name, target) in [("private", "10.0.0.1:443"), ("local", "localhost:443")] {
        blocked.push(
            integration(
                &app,
                json!({"type": "tls", "name": name, "component_id": inside, "target": target}),
            )
            .await,
        );
    }
    // Act
    reconciler(&app, &ca)
        .reconcile(SystemClock.now())
        .await
        .unwrap();
    // Assert
    assert_eq!(status_of(&app, &a).await, "partial_outage");
    let why = last_error(&app, &rogue_check.id).await;
    assert!(
        why.contains("TLS handshake") && why.contains("certificate"),
        "{why}"
    );
    assert_eq!(status_of(&app, &c).await, "degraded_performance");
    let why = last_error(&app, &silent_check.id).await;
    assert!(why.contains("no TLS handshake within 1 s"), "{why}");
    for b in &blocked {
        let why = last_error(&app, &b.id).await;
        assert!(why.starts_with("blocked: "), "{why}");
    }
    assert_eq!(status_of(&app, &inside).await, "degraded_performance");
}

async fn a_tls_check_with_bad_settings_is_refused_naming_the_field(b: Backend) {
    // Arrange
    let app = TestApp::spawn(b).await;
    app.component("Website").await;
    let base = json!({"type": "tls", "name": "cert", "component_id": "Website",
        "target": "example.com:443"});
    let with = |k: &str, v: serde_json::Value| {
        let mut i = base.clone();
        i[k] = v;
        json!({ "integration": i })
    };
    // Act and assert
    for (k, v, field) in [
        ("expiry_days", json!(400), "integration.expiry_days"),
        ("expiry_days", json!(-1), "integration.expiry_days"),
        ("expiry_days", json!("soon"), "integration.expiry_days"),
        ("expiry_days", json!(1.5), "integration.expiry_days"),
        ("expiry_days", json!({"days": 3}), "integration.expiry_days"),
        ("target", json!("example.com"), "integration.target"),
        (
            "target",
            json!("https://example.com/"),
            "integration.target",
        ),
    ] {
        let r = app
            .post(&app.page_path("/integrations"), &with(k, v.clone()))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{k}={v}: {}",
            r.text
        );
        assert_eq!(r.json()["field"], field, "{k}={v}: {}", r.text);
        assert!(
            r.json()["error"].as_str().unwrap().contains(field),
            "{}",
            r.text
        );
    }
    let list = app.get(&app.page_path("/integrations")).await.json();
    assert_eq!(list, json!([]), "nothing was written");
    let ok = app
        .post(
            &app.page_path("/integrations"),
            &with("expiry_days", json!(30)),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    assert_eq!(ok.json()["check"]["expiry_days"], 30);
}

both_backends!(
    a_tls_check_degrades_its_component_when_the_certificate_nears_its_end,
    a_tls_check_fails_on_an_untrusted_certificate_or_no_tls,
    a_tls_check_with_bad_settings_is_refused_naming_the_field,
);
