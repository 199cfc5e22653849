//! Zero-downtime restarts: socket activation (the socket outlives the process, as with a
//! systemd socket unit) and the drain on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::helpers::{Backend, TestDb, figure};
use crate::process::Herald;
use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::page::NewPage;

/// `tests/deploy/socket_holder.py` running `herald serve` on `db_url`.
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    port: u16,
}

impl Holder {
    fn start(db_url: &str) -> Holder {
        let script = crate::compat::repo_root().join("tests/deploy/socket_holder.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([env!("CARGO_BIN_EXE_herald"), "serve"])
            .env("HERALD_DATABASE_URL", db_url)
            .env("HERALD_CONFIG", "/nonexistent/herald.toml")
            .env("HERALD_API_REQUESTS_PER_MINUTE", "1000000")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the socket holder");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv().expect("the holder says its port");
        let port = first.strip_prefix("port ").unwrap().parse().unwrap();
        Holder {
            child,
            stdin: Some(stdin),
            lines,
            port,
        }
    }

    /// Sends `command` and waits for the holder's line starting with `until`.
    fn command(&mut self, command: &str, until: &str) -> String {
        writeln!(self.stdin.as_mut().unwrap(), "{command}").unwrap();
        self.wait_for(until)
    }

    /// Waits for the holder's next line starting with `until`.
    fn wait_for(&mut self, until: &str) -> String {
        loop {
            let line = self.lines.recv().expect("holder output");
            if line.starts_with(until) {
                return line;
            }
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // Closing its stdin stops the holder (and herald with it).
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Tallies of the load.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    longest_us: AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_socket_activated_node_restarts_under_load_refusing_no_connection() {
    // Arrange: a SQLite node with a page and a key, started with a held socket as fd 3
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let page = store
        .create_page(
            &NewPage::parse("Acme Cloud", "acme", None).unwrap(),
            &Actor::cli(),
            SystemClock.now(),
        )
        .await
        .unwrap();
    let key = apikey::generate();
    store
        .create_key("t", &key, false, None, &Actor::cli(), SystemClock.now())
        .await
        .unwrap();
    store.close().await;
    let mut holder = Holder::start(&db.url);
    holder.command("start", "started");
    let base = format!("http://127.0.0.1:{}", holder.port);
    // Every request on a new connection: each one goes through the listening socket.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Act: public reads and API writes throughout three restarts
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for i in 0..6 {
        let (client, base, tally, stop) =
            (client.clone(), base.clone(), tally.clone(), stop.clone());
        let (key, page) = (key.secret.clone(), page.id.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let started = Instant::now();
                let req = match (i, n % 2) {
                    (0, _) => client
                        .post(format!("{base}/v1/pages/{page}/incidents"))
                        .header("Authorization", format!("OAuth {key}"))
                        .json(&serde_json::json!({"incident": {"name": format!("restart {n}"), "status": "investigating"}})),
                    (_, 0) => client.get(format!("{base}/")),
                    _ => client.get(format!("{base}/api/v2/summary.json")),
                };
                let outcome = match req.send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("status {}", r.status())),
                    Err(e) => Err(format!("{e:?}")),
                };
                let ok = outcome.is_ok();
                if let Err(e) = outcome {
                    tally.errors.lock().unwrap().push(e);
                }
                let took = started.elapsed().as_micros() as u64;
                tally.longest_us.fetch_max(took, Ordering::Relaxed);
                if ok {
                    tally.ok.fetch_add(1, Ordering::Relaxed)
                } else {
                    tally.failed.fetch_add(1, Ordering::Relaxed)
                };
            }
        }));
    }
    for _ in 0..3 {
        let before = tally.ok.load(Ordering::Relaxed);
        // Load flows before each restart (no fixed sleep: wait for answers).
        while tally.ok.load(Ordering::Relaxed) < before + 50 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let exited = holder.command("restart", "exited");
        assert_eq!(exited, "exited 0", "herald did not stop cleanly on SIGTERM");
        holder.wait_for("started");
    }
    let before = tally.ok.load(Ordering::Relaxed);
    while tally.ok.load(Ordering::Relaxed) < before + 50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    // Assert
    let longest = Duration::from_micros(tally.longest_us.load(Ordering::Relaxed));
    figure("restart_longest_wait", longest);
    eprintln!(
        "restart load: {} answered, {} failed, longest wait {longest:?}",
        tally.ok.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed)
    );
    assert_eq!(
        tally.failed.load(Ordering::Relaxed),
        0,
        "requests failed across restarts: {:?}",
        tally.errors.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_turns_readyz_red_for_the_drain_while_requests_are_still_served() {
    // Arrange
    let db = TestDb::new(Backend::Sqlite).await;
    db.store().await.close().await;
    let node = Herald::start(&db.url, "all", &[("HERALD_SHUTDOWN_DRAIN_MS", "600000")]).await;
    assert_eq!(node.get("/readyz").await.0, 200);
    // Act
    node.signal("TERM");
    // Assert: /readyz says it is draining; other requests are still answered
    let (status, body) = loop {
        let (status, body) = node.get("/readyz").await;
        if status != 200 {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("draining"), "{body}");
    assert_eq!(node.get("/livez").await.0, 200);
    let (status, _) = node.get("/api/v2/summary.json").await;
    assert!(
        status == 200 || status == 404,
        "public paths are still served: {status}"
    );
}
