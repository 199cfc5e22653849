//! Real parts for the notification tests: an SMTP server (aiosmtpd, in the compat venv) as
//! the mail sink, HTTP receivers on loopback, and waits on the job queue.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use herald_store::{JobState, Store};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::compat::{compat_python, repo_root};

/// One message the sink received.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    /// Header names lower-cased, folded lines joined.
    pub headers: BTreeMap<String, String>,
    pub raw: String,
}

impl Mail {
    fn parse(raw: String) -> Mail {
        let mut headers = BTreeMap::new();
        let head = raw.split("\r\n\r\n").next().unwrap_or_default();
        let mut last: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(k) = &last {
                    let v: &mut String = headers.get_mut(k).unwrap();
                    v.push(' ');
                    v.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                headers.insert(k.clone(), v.trim().to_owned());
                last = Some(k);
            }
        }
        Mail {
            to: headers.get("x-rcpt-to").cloned().unwrap_or_default(),
            headers,
            raw,
        }
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The first link in the message that contains `part`.
    pub fn link(&self, part: &str) -> Option<String> {
        // Quoted-printable soft breaks would split links: undo them first.
        let text = self.raw.replace("=\r\n", "").replace("=3D", "=");
        text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '\''))
            .find(|w| w.starts_with("http") && w.contains(part))
            .map(|w| w.trim_end_matches(['.', ')', ',']).to_owned())
    }
}

/// aiosmtpd on a loopback port, writing what it receives to a temporary directory.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
    _stdin: ChildStdin,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(compat_python())
            .arg(repo_root().join("tests/notify/smtp_sink.py"))
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the sink prints its port");
        SmtpSink {
            port,
            dir,
            child,
            _stdin: stdin,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in order.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files.iter().map(|p| Mail::parse(read_lossy(p))).collect()
    }

    /// Waits (up to 30 s) for a message to `to` that `matches`.
    pub async fn wait_for(&self, to: &str, matches: impl Fn(&Mail) -> bool) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(m) = self.mails().into_iter().find(|m| m.to == to && matches(m)) {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no such mail to {to}; got: {:#?}",
                self.mails()
                    .iter()
                    .map(|m| (m.to.clone(), m.header("subject").to_owned()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lossy(p: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned()
}

/// A request a receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

/// An HTTP server on loopback that records every request and answers with the status its
/// path names (`/status/410/...` → 410; anything else → 200).
pub struct Receiver {
    pub addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let seen = hits.clone();
        let app = axum::Router::new().fallback(
            move |_m: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                async move {
                    let path = uri.path().to_owned();
                    let status = path
                        .strip_prefix("/status/")
                        .and_then(|r| r.split('/').next())
                        .and_then(|s| s.parse::<u16>().ok())
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .unwrap_or(StatusCode::OK);
                    seen.lock().unwrap().push(Hit {
                        path,
                        headers,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    status
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    /// Waits (up to 30 s) for `n` requests to `path`.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Hit> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let hits = self.hits(path);
            if hits.len() >= n {
                return hits;
            }
            assert!(
                Instant::now() < deadline,
                "{path} got {} requests, expected {n}",
                hits.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Waits (up to 30 s) until no job of `kind` is waiting or running: every event so far has
/// been fanned out (or every delivery attempted).
pub async fn wait_idle(store: &Store, kind: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut busy = 0;
        for state in [JobState::Scheduled, JobState::Available, JobState::Running] {
            busy += store
                .list_jobs(state, 1000)
                .await
                .unwrap()
                .iter()
                .filter(|j| j.kind == kind)
                .count();
        }
        if busy == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{busy} {kind} jobs still pending"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A listener that records who connected, in the order the kernel completed the
/// connections, and answers each with `reply` (if any) before closing.
pub struct Tally {
    pub addr: SocketAddr,
    peers: Arc<Mutex<Vec<SocketAddr>>>,
}

impl Tally {
    pub async fn start(listener: tokio::net::TcpListener, reply: Option<&'static [u8]>) -> Tally {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = listener.local_addr().unwrap();
        let peers: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
        let seen = peers.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, peer)) = listener.accept().await {
                seen.lock().unwrap().push(peer);
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    let _ = sock.read(&mut buf).await;
                    if let Some(r) = reply {
                        let _ = sock.write_all(r).await;
                    }
                });
            }
        });
        Tally { addr, peers }
    }

    /// Connections accepted so far.
    pub fn count(&self) -> usize {
        self.peers.lock().unwrap().len()
    }

    /// How many connections were made before now: connects a marker and waits until it is
    /// accepted. Connections complete in order, so every connection opened before this call
    /// has been counted by then: a positive sign that the moment has passed, where a sleep
    /// would only hope so.
    pub async fn count_before_marker(&self) -> usize {
        let marker = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let me = marker.local_addr().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(i) = self.peers.lock().unwrap().iter().position(|p| *p == me) {
                return i;
            }
            assert!(Instant::now() < deadline, "the marker was never accepted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
