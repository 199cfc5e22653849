//! The guarded outbound client against hostile networks (RELIABILITY.md rows 2, 4 and 5):
//! a rebinding DNS server, proxy variables in the worker's environment, and receivers that
//! send 10 MB, dribble headers, never answer or present a self-signed certificate.

use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::PageId;
use herald_domain::notification::DeliveryState;
use herald_domain::subscriber::{NewSubscriber, SubscriberInput};
use herald_notify::egress::{
    ClientSettings, EgressPolicy, GuardedClient, Lookup, LookupFuture, SendError,
};
use serde_json::json;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::both_backends;
use crate::helpers::{Backend, TestDb, figure};
use crate::notify_support::{Receiver, Tally};
use crate::process::{Herald, herald_cli};

/// A DNS server under the attacker's control: answers in turn, the last one forever.
#[derive(Debug)]
struct Rebinding {
    answers: Mutex<VecDeque<Vec<IpAddr>>>,
    calls: AtomicUsize,
}

impl Rebinding {
    fn answer(&self, ips: &[&str]) {
        self.answers
            .lock()
            .unwrap()
            .push_back(ips.iter().map(|s| s.parse().unwrap()).collect());
    }
}

impl Lookup for Rebinding {
    fn lookup<'a>(&'a self, _host: &'a str, port: u16) -> LookupFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut q = self.answers.lock().unwrap();
        let ips = if q.len() > 1 {
            q.pop_front().unwrap()
        } else {
            q.front().cloned().unwrap_or_default()
        };
        Box::pin(async move {
            Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect())
        })
    }
}

fn settings(timeout: Duration) -> ClientSettings {
    ClientSettings {
        connect_timeout: Duration::from_secs(1),
        total_timeout: timeout,
        body_cap: 4096,
        proxy: None,
    }
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

#[tokio::test]
async fn notify_dns_rebinding_never_reaches_the_blocked_address() {
    // Arrange: an allowed address (127.0.0.2, the only range allowed) and a blocked one
    // (127.0.0.1) listening on the same port; a name whose DNS answer the attacker controls
    let mut bound = None;
    for _ in 0..20 {
        let allowed = TcpListener::bind("127.0.0.2:0").await.unwrap();
        let port = allowed.local_addr().unwrap().port();
        if let Ok(blocked) = TcpListener::bind(("127.0.0.1", port)).await {
            bound = Some((allowed, blocked, port));
            break;
        }
    }
    let (allowed, blocked, port) = bound.expect("a port free on both addresses");
    let allowed_hits = Tally::start(allowed, Some(OK)).await;
    let blocked_hits = Tally::start(blocked, Some(OK)).await;
    let dns = Arc::new(Rebinding {
        answers: Mutex::default(),
        calls: AtomicUsize::new(0),
    });
    let policy = EgressPolicy::parse("127.0.0.2/32")
        .unwrap()
        .with_lookup(dns.clone());
    let client = GuardedClient::new(policy, &settings(Duration::from_secs(2))).unwrap();
    let url = format!("http://rebind.test:{port}/hook");
    // Act 1: the first answer is the allowed address
    dns.answer(&["127.0.0.2"]);
    dns.answer(&["127.0.0.1"]);
    let first = client.post_json(&url, &[], b"{}".to_vec()).await;
    // Assert: delivered there, after exactly one lookup
    assert_eq!(first.unwrap().status, 200);
    assert_eq!(allowed_hits.count(), 1);
    assert_eq!(dns.calls.load(Ordering::SeqCst), 1, "resolved once");
    // Act 2: TTL 0, the name now points at loopback
    let second = client.post_json(&url, &[], b"{}".to_vec()).await;
    // Assert: blocked, and nothing connected to the blocked listener
    assert!(matches!(second, Err(SendError::Blocked(_))), "{second:?}");
    // Act 3: one allowed and one blocked record (Sentry's rule: the whole name is refused)
    dns.answer(&["127.0.0.2", "127.0.0.1"]);
    let mixed = client.post_json(&url, &[], b"{}".to_vec()).await;
    assert!(matches!(mixed, Err(SendError::Blocked(_))), "{mixed:?}");
    assert_eq!(
        blocked_hits.count_before_marker().await,
        0,
        "reached the blocked listener"
    );
    assert_eq!(
        allowed_hits.count_before_marker().await,
        1,
        "a name with a blocked record is refused whole, even its allowed address"
    );
}

/// A TLS server with a self-signed certificate (Python's ssl module; certificate from the
/// openssl command line). Killed when dropped.
struct SelfSigned {
    port: u16,
    child: std::process::Child,
    _certs: tempfile::TempDir,
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn self_signed_tls() -> SelfSigned {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(ok.success());
    let script = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    try:
        t = ctx.wrap_socket(c, server_side=True)
        t.recv(65536)
        t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        t.close()
    except Exception:
        c.close()
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&cert)
        .arg(&key)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    SelfSigned {
        port: line.trim().parse().unwrap(),
        child,
        _certs: dir,
    }
}

/// Answers 500 with a 10 MB body.
async fn big_body() -> u16 {
    let big = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = big.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = big.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = sock.read(&mut buf).await;
                let head = "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 10485760\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 65536];
                for _ in 0..160 {
                    if sock.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Sends its headers one byte a second (slowloris).
async fn slowloris() -> u16 {
    let slow = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = slow.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = slow.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = sock.read(&mut buf).await;
                for b in b"HTTP/1.1 200 OK\r\nx-slow: 1111111111111111111111111\r\n\r\n" {
                    if sock.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
    });
    port
}

/// Accepts and never reads or answers.
async fn silent() -> u16 {
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    port
}

/// A bound that only catches a hang (the slowloris receiver alone would take 54 s).
const HANG: Duration = Duration::from_secs(40);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_hostile_receivers_end_by_the_timeout_and_delay_no_one() {
    // Arrange: four hostile receivers and a healthy one
    let big_port = big_body().await;
    let slow_port = slowloris().await;
    let silent_port = silent().await;
    let tls = self_signed_tls();
    let tls_port = tls.port;
    let healthy = Receiver::start().await;
    let hostile_urls = [
        ("10 MB body", format!("http://127.0.0.1:{big_port}/")),
        ("slowloris", format!("http://127.0.0.1:{slow_port}/")),
        ("never answers", format!("http://127.0.0.1:{silent_port}/")),
        ("self-signed TLS", format!("https://127.0.0.1:{tls_port}/")),
    ];
    let policy = EgressPolicy::parse("127.0.0.0/8").unwrap();
    let send = |client: &GuardedClient, url: String| {
        let client = client.clone();
        tokio::spawn(async move {
            let t = Instant::now();
            let r = client.post_json(&url, &[], b"{}".to_vec()).await;
            (t.elapsed(), r)
        })
    };
    // Act 1: every hostile request and 20 healthy ones at once, on one client whose timeout
    // outlasts the test, so a healthy request that waited for a hostile one would wait on
    let patient = GuardedClient::new(policy.clone(), &settings(Duration::from_secs(120))).unwrap();
    let stuck: Vec<_> = hostile_urls
        .iter()
        .map(|(what, url)| (*what, send(&patient, url.clone())))
        .collect();
    let fine: Vec<_> = (0..20)
        .map(|i| send(&patient, healthy.url(&format!("/ok/{i}"))))
        .collect();
    // Assert: every healthy request was answered while the silent and slowloris requests
    // were still open (they cannot end before 54 s)
    let mut slowest = Duration::ZERO;
    for f in fine {
        let (took, r) = f.await.unwrap();
        assert_eq!(r.unwrap().status, 200);
        slowest = slowest.max(took);
    }
    for (what, h) in &stuck {
        if ["slowloris", "never answers"].contains(what) {
            assert!(
                !h.is_finished(),
                "{what} ended before the healthy requests did"
            );
        }
    }
    for (_, h) in stuck {
        h.abort();
    }
    // Act 2: the hostile requests on a client with a 2 s timeout
    let bounded = GuardedClient::new(policy, &settings(Duration::from_secs(2))).unwrap();
    let hostile: Vec<_> = hostile_urls
        .iter()
        .map(|(what, url)| (*what, send(&bounded, url.clone())))
        .collect();
    // Assert: each ends as it should, the hung ones by the timeout (not by their peer)
    for (what, h) in hostile {
        let (took, r) = h.await.unwrap();
        assert!(took < HANG, "{what}: took {took:?}");
        match what {
            "10 MB body" => {
                let reply = r.unwrap();
                assert_eq!(reply.status, 500);
                assert!(
                    reply.body.len() <= 4096,
                    "{what}: kept {} bytes",
                    reply.body.len()
                );
            }
            "slowloris" | "never answers" => assert!(
                matches!(&r, Err(SendError::Failed(e)) if e == "timed out"),
                "{what}: {r:?} (the timeout must end it)"
            ),
            _ => assert!(
                matches!(&r, Err(SendError::Failed(e)) if e.contains("certificate")),
                "{what}: {r:?} (a failure, retried later)"
            ),
        }
        figure(
            &format!("hostile_{}_ended", what.replace([' ', '-'], "_")),
            took,
        );
    }
    drop(tls);
    figure("hostile_beside_slowest_healthy", slowest);
}

/// The proxy variables a worker must not follow.
const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

async fn notify_proxy_variables_in_the_environment_are_ignored(b: Backend) {
    // Arrange: a "proxy" listener that counts connections, a webhook receiver and an
    // emulated SMS API, and a herald process whose environment points every proxy
    // variable at the listener
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let proxied = Tally::start(proxy, None).await;
    let rx = Receiver::start().await;
    let db = TestDb::new(b).await;
    let store = db.store().await;
    let (ok, page, _, _) = herald_cli(
        &db.url,
        &["pages", "create", "--name", "Acme", "--slug", "acme"],
    )
    .await;
    assert!(ok);
    let page = page.trim().to_owned();
    let (ok, key, _, _) = herald_cli(&db.url, &["keys", "create", "--page", &page]).await;
    assert!(ok);
    let key = key.trim().to_owned();
    for input in [
        SubscriberInput {
            endpoint: Some(rx.url("/hook")),
            email: Some("ops@example.com".into()),
            ..SubscriberInput::default()
        },
        SubscriberInput {
            phone_number: Some("+15557654321".into()),
            skip_confirmation_notification: Some(true),
            ..SubscriberInput::default()
        },
    ] {
        store
            .create_subscriber(
                &PageId::from(&page),
                &NewSubscriber::parse(&input, true).unwrap(),
                Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                false,
                &Actor::cli(),
                SystemClock.now(),
            )
            .await
            .unwrap();
    }
    let sms_url = rx.url("");
    let mut env: Vec<(&str, &str)> = vec![
        ("HERALD_EGRESS_ALLOW", "127.0.0.0/8"),
        ("HERALD_WORKER_POLL_MS", "200"),
        ("HERALD_SMS_URL", &sms_url),
        ("HERALD_SMS_ACCOUNT_SID", "AC123"),
        ("HERALD_SMS_AUTH_TOKEN", "tok"),
        ("HERALD_SMS_FROM", "+15550001111"),
    ];
    env.extend(PROXY_VARS.iter().map(|v| (*v, proxy_url.as_str())));
    let herald = Herald::start(&db.url, "all", &env).await;
    // Act
    let r = reqwest::Client::new()
        .post(format!("{}/v1/pages/{page}/incidents", herald.base))
        .header("Authorization", format!("OAuth {key}"))
        .json(&json!({"incident": {"name": "Proxy test", "status": "investigating"}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // Assert: the webhook and the text went straight to their receivers, none via the proxy
    rx.wait_for("/hook", 1).await;
    rx.wait_for("/2010-04-01/Accounts/AC123/Messages.json", 1)
        .await;
    drop(herald);
    assert_eq!(
        proxied.count_before_marker().await,
        0,
        "a request went to the proxy"
    );
}

both_backends!(notify_proxy_variables_in_the_environment_are_ignored);

async fn notify_hostile_receivers_in_a_real_run_fail_in_time_and_store_little(b: Backend) {
    // Arrange: herald with a 2 s delivery timeout; webhook subscribers at the four hostile
    // receivers and at 20 healthy paths (how long the healthy ones take beside them is
    // measured by `herald-bench hostile`, not asserted here)
    let big_port = big_body().await;
    let slow_port = slowloris().await;
    let silent_port = silent().await;
    let tls = self_signed_tls();
    let tls_port = tls.port;
    let healthy = Receiver::start().await;
    let app = crate::helpers::TestApp::spawn_with(b, |c| {
        c.egress_allow = "127.0.0.0/8".into();
        c.worker_poll_ms = 100;
        c.delivery_timeout_ms = 2000;
    })
    .await;
    let mut hostile = std::collections::HashMap::new();
    for (what, url) in [
        ("10 MB body", format!("http://127.0.0.1:{big_port}/")),
        ("slowloris", format!("http://127.0.0.1:{slow_port}/")),
        ("never answers", format!("http://127.0.0.1:{silent_port}/")),
        ("self-signed TLS", format!("https://127.0.0.1:{tls_port}/")),
    ] {
        let r = app
            .post(
                &app.page_path("/subscribers"),
                &json!({"subscriber": {"endpoint": url, "email": "ops@example.com"}}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
        hostile.insert(r.json()["id"].as_str().unwrap().to_owned(), what);
    }
    for i in 0..20 {
        let r = app
            .post(
                &app.page_path("/subscribers"),
                &json!({"subscriber": {"endpoint": healthy.url(&format!("/ok/{i}")), "email": "ops@example.com"}}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    // Act
    let posted = Instant::now();
    app.incident(json!({"name": "Hostile", "status": "investigating"}))
        .await;
    // Assert: the healthy endpoints get theirs
    for i in 0..20 {
        healthy.wait_for(&format!("/ok/{i}"), 1).await;
    }
    let healthy_done = posted.elapsed();
    // Assert: each hostile attempt is recorded as failed, keeping little
    let deadline = Instant::now() + HANG;
    let failed = loop {
        let done: Vec<herald_store::Delivery> = app
            .store
            .list_deliveries(&app.page.id, None, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| {
                hostile.contains_key(d.subscriber_id.as_str()) && d.state == DeliveryState::Failed
            })
            .collect();
        if done.len() == hostile.len() {
            break done;
        }
        assert!(
            Instant::now() < deadline,
            "only {} hostile attempts ended",
            done.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let all_failed = posted.elapsed();
    for d in &failed {
        let what = hostile[d.subscriber_id.as_str()];
        let error = d.last_error.clone().unwrap_or_default();
        assert!(error.len() <= 4096, "{what}: stored {} bytes", error.len());
        if what == "10 MB body" {
            assert_eq!(d.last_status, Some(500), "{what}: {error}");
        }
        if what == "self-signed TLS" {
            assert!(error.contains("certificate"), "{what}: {error}");
        }
        if what == "slowloris" || what == "never answers" {
            // Ended by the 2 s delivery timeout, not by the peer (54 s, or never).
            assert!(error.contains("timed out"), "{what}: {error}");
        }
        eprintln!("{what}: {error:.120}");
    }
    drop(tls);
    figure("hostile_real_run_healthy_done", healthy_done);
    figure("hostile_real_run_all_failed", all_failed);
}

both_backends!(notify_hostile_receivers_in_a_real_run_fail_in_time_and_store_little);
