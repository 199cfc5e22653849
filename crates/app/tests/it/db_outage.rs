//! Real PostgreSQL outages (RELIABILITY.md row 24), each touching only this test's own
//! connections: PostgreSQL stopped (a proxy between herald and the server closes its port and
//! the test's sessions are terminated), a database not accepting connections (`ALTER
//! DATABASE ... ALLOW_CONNECTIONS false` on a database of the test's own, its sessions
//! terminated), every connection reset, and a server that hangs. Through each: the public page keeps answering
//! 200 with its last snapshot, `/livez` stays up, `/readyz` answers 503, a v1 write or read
//! answers 503 with `Retry-After` (never a 500, never a hang), so does an admin screen (as
//! an HTML page), and once the fault clears
//! writes succeed and show on the page. And the LISTEN connection another node hears
//! changes on comes back after it is killed, catching up on what it missed meanwhile.

use herald_domain::user::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

use crate::admin_support::{self, Admin};
use crate::fault_proxy::{
    FaultProxy, HANG, Mode, OwnDatabase, listening_backends, terminate_backends,
};
use crate::helpers::{Backend, Node, Resp, TestApp, figure, read};

/// The faults: PostgreSQL stopped (its port refuses and its sessions end), a database not
/// accepting connections (`ALLOW_CONNECTIONS false` and its sessions ended), every
/// connection reset, and a server that hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Down,
    NotAccepting,
    Reset,
    Hang,
}

/// A herald on PostgreSQL (on a database of its own for `NotAccepting`) through a fault
/// proxy, its sessions named for this test.
struct Outage {
    app: TestApp,
    proxy: FaultProxy,
    name: String,
    own: Option<OwnDatabase>,
}

impl Outage {
    async fn start(fault: Fault) -> Outage {
        let proxy = FaultProxy::to_postgres().await;
        let name = format!("it_outage_{}", herald_domain::id::generate());
        let own = match fault {
            Fault::NotAccepting => Some(OwnDatabase::create().await),
            _ => None,
        };
        let app = TestApp::spawn_with(Backend::Postgres, |c| {
            let url = own.as_ref().map_or(&c.database_url, |d| &d.url);
            c.database_url = proxy.route(url, &name);
        })
        .await;
        Outage {
            app,
            proxy,
            name,
            own,
        }
    }

    async fn begin(&self, fault: Fault) {
        match fault {
            Fault::Down => {
                self.proxy.set(Mode::Refuse);
                assert!(
                    terminate_backends(&self.name, false).await > 0,
                    "no session"
                );
            }
            Fault::NotAccepting => {
                let own = self.own.as_ref().unwrap();
                own.allow_connections(false).await;
                assert!(own.terminate_sessions().await > 0, "no session");
            }
            Fault::Reset => self.proxy.set(Mode::Reset),
            Fault::Hang => self.proxy.set(Mode::Hang),
        }
    }

    async fn end(&self) {
        self.proxy.set(Mode::Pass);
        if let Some(own) = &self.own {
            own.allow_connections(true).await;
        }
    }
}

/// Polls `path` until its status is `want`; returns the response.
async fn until_status(app: &TestApp, path: &str, want: StatusCode) -> Resp {
    let started = Instant::now();
    loop {
        let r = app.public(path, &[]).await;
        if r.status == want {
            return r;
        }
        assert!(
            started.elapsed() < HANG,
            "{path} still {}: {}",
            r.status,
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts an incident; the response and how long it took (a client timeout catches hangs).
async fn post_incident(app: &TestApp, name: &str) -> (Resp, Duration) {
    let started = Instant::now();
    let r = app
        .client
        .post(app.url(&app.page_path("/incidents")))
        .header("Authorization", format!("OAuth {}", app.key))
        .timeout(HANG)
        .json(&json!({"incident": {"name": name, "status": "investigating"}}))
        .send()
        .await
        .expect("the API answered instead of hanging");
    (read(r).await, started.elapsed())
}

async fn through_an_outage(fault: Fault) {
    // Arrange: a page with an incident, rendered, and a ready node
    let outage = Outage::start(fault).await;
    let app = &outage.app;
    app.incident(json!({"name": "Before the outage", "status": "investigating"}))
        .await;
    until_status(app, "/readyz", StatusCode::OK).await;
    let home = app.public("/", &[]).await;
    let summary = app.public("/api/v2/summary.json", &[]).await;
    assert!(summary.text.contains("Before the outage"));
    admin_support::user(app, "oncall@example.com", Role::Owner).await;
    let admin = Admin::login(app, "oncall@example.com").await;
    let screen = admin_support::admin_page(app, "");
    // Act
    outage.begin(fault).await;
    // Assert: a write answers 503 with Retry-After, not 500 and not a hang
    let (write, took) = post_incident(app, "During the outage").await;
    figure(&format!("outage_{fault:?}_write_answered"), took);
    assert_eq!(
        write.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{fault:?}: {}",
        write.text
    );
    assert_eq!(write.headers["retry-after"], "5");
    assert!(
        write.error().contains("temporarily unavailable"),
        "{}",
        write.text
    );
    let list = app.get(&app.page_path("/incidents")).await;
    assert_eq!(
        list.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        list.text
    );
    assert_eq!(list.headers["retry-after"], "5");
    // ...and so does an admin screen, as a page in the admin's look, never a 500
    let page = admin.get(&screen).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{fault:?}: {}",
        page.text
    );
    assert_eq!(page.headers["retry-after"], "5");
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        page.headers
    );
    assert!(
        page.text.contains("Temporarily unavailable"),
        "{}",
        page.text
    );
    assert!(page.text.contains("/admin/admin.css"), "{}", page.text);
    // ...readiness is red, naming the database, while the process is live
    let ready = until_status(app, "/readyz", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(
        ready.json()["checks"]["database"]["ok"],
        false,
        "{}",
        ready.text
    );
    assert_eq!(app.public("/livez", &[]).await.status, StatusCode::OK);
    // ...and the public page keeps serving its last snapshot, every time
    for _ in 0..20 {
        let h = app.public("/", &[]).await;
        assert_eq!(h.status, StatusCode::OK);
        assert_eq!(h.text, home.text);
        let s = app.public("/api/v2/summary.json", &[]).await;
        assert_eq!(s.status, StatusCode::OK);
        assert_eq!(s.text, summary.text);
    }
    // Act: the database is back
    outage.end().await;
    // Assert: writes succeed again and show on the page at once; ready again
    let started = Instant::now();
    loop {
        let (r, _) = post_incident(app, "After the outage").await;
        if r.status == StatusCode::CREATED {
            break;
        }
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
        assert!(started.elapsed() < HANG, "writes never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = app.public("/api/v2/summary.json", &[]).await;
    assert!(after.text.contains("After the outage"), "{}", after.text);
    assert!(!after.text.contains("During the outage"));
    until_status(app, "/readyz", StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_postgresql_stopped() {
    through_an_outage(Fault::Down).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_the_database_does_not_accept_connections() {
    through_an_outage(Fault::NotAccepting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_every_connection_reset() {
    through_an_outage(Fault::Reset).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_the_database_hangs() {
    through_an_outage(Fault::Hang).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listen_connection_comes_back_after_it_is_killed() {
    // Arrange: node A takes writes; node B hears of them only through LISTEN (its version
    // poll and periodic re-render are an hour apart)
    let app = TestApp::spawn(Backend::Postgres).await;
    let name = format!("it_listen_{}", herald_domain::id::generate());
    let sep = if app.db.url.contains('?') { '&' } else { '?' };
    let b_url = format!("{}{sep}application_name={name}", app.db.url);
    let b = Node::start(&b_url, |c| {
        c.snapshot_poll_ms = 3_600_000;
        c.snapshot_refresh_secs = 3600;
    })
    .await;
    let first = wait_for_listener(&name, &[]).await;
    seen_on(&app, &b, "Heard through NOTIFY").await;
    // Act: an administrator (or a failover) ends B's LISTEN session
    assert_eq!(terminate_backends(&name, true).await, 1);
    // Assert: B listens again on a new session, and hears the next write through it
    wait_for_listener(&name, &first).await;
    seen_on(&app, &b, "Heard after the listener came back").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_made_while_a_node_cannot_listen_reaches_it_once_it_can() {
    // Arrange: node B reaches PostgreSQL through a proxy and hears of writes only through
    // LISTEN (its version poll and periodic re-render an hour apart); node A writes directly
    let app = TestApp::spawn(Backend::Postgres).await;
    let proxy = FaultProxy::to_postgres().await;
    let name = format!("it_gap_{}", herald_domain::id::generate());
    let b = Node::start(&proxy.route(&app.db.url, &name), |c| {
        c.snapshot_poll_ms = 3_600_000;
        c.snapshot_refresh_secs = 3600;
    })
    .await;
    let first = wait_for_listener(&name, &[]).await;
    // Act: B's PostgreSQL goes away; a write commits meanwhile (its NOTIFY reaches no one
    // of B's); then B's PostgreSQL comes back
    proxy.set(Mode::Refuse);
    assert!(terminate_backends(&name, false).await > 0, "no session");
    app.incident(json!({"name": "Written while B was deaf", "status": "investigating"}))
        .await;
    proxy.set(Mode::Pass);
    // Assert: once B listens again it has caught up, without waiting for its hourly poll
    wait_for_listener(&name, &first).await;
    let started = Instant::now();
    while !b
        .get("/api/v2/summary.json")
        .await
        .text
        .contains("Written while B was deaf")
    {
        assert!(started.elapsed() < HANG, "the write never reached node B");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until a session named `name` listens whose pid is not in `old`; returns the pids.
async fn wait_for_listener(name: &str, old: &[i32]) -> Vec<i32> {
    let started = Instant::now();
    loop {
        let pids = listening_backends(name).await;
        if pids.iter().any(|p| !old.contains(p)) {
            return pids;
        }
        assert!(started.elapsed() < HANG, "no new LISTEN session: {pids:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts an incident named `name` on `app` and waits until node `b` shows it.
async fn seen_on(app: &TestApp, b: &Node, name: &str) {
    app.incident(json!({"name": name, "status": "investigating"}))
        .await;
    let started = Instant::now();
    while !b.get("/api/v2/summary.json").await.text.contains(name) {
        assert!(started.elapsed() < HANG, "{name:?} never reached node B");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
