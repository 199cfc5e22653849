//! The test harness: a real herald server on port 0 against a fresh SQLite file or a fresh
//! PostgreSQL schema, with a page and an API key, and one helper per HTTP verb.

use herald::config::Config;
use herald_domain::actor::Actor;
use herald_domain::apikey;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::PageId;
use herald_domain::page::{NewPage, Page};
use herald_store::{DbOptions, Store};
use reqwest::StatusCode;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Prints a measured figure as `figure <name> <seconds>` for `bench/reliability.sh`, which
/// judges it against its target. Tests never assert latency: on a shared machine running
/// several tests at once a slow moment is not a bug.
pub fn figure(name: &str, took: std::time::Duration) {
    eprintln!("figure {name} {:.4}", took.as_secs_f64());
}

/// `(METHOD, path template)` for every `.route(...)` of a route table's source text, the
/// path under `prefix` (`p` is `/pages/{page_id}`): lets a test cover every route of a table
/// without a hand-kept list.
pub fn route_table(table: &str, prefix: &str) -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for chunk in table.split(".route(").skip(1) {
        let literal = if chunk.trim_start().starts_with("p,") {
            "{p}"
        } else {
            chunk.split('"').nth(1).unwrap()
        };
        let path = literal
            .replace("{p}", "/pages/{page_id}")
            .replace("{{", "{")
            .replace("}}", "}");
        let path = format!("{prefix}{}", path.trim_end_matches('/'));
        for m in ["get", "post", "patch", "put", "delete"] {
            // `get(` as a call, not the end of a longer name
            let called = chunk.match_indices(&format!("{m}(")).any(|(i, _)| {
                !chunk[..i]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if called {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `async fn name(Backend)` once per backend, as `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

/// The PostgreSQL server tests use (CI and this machine: trust auth on 127.0.0.1).
pub fn pg_url() -> String {
    std::env::var("HERALD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh, empty database for one test; dropped (schema or file) with it.
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
    schema: Option<String>,
}

impl TestDb {
    /// Creates the database. A missing PostgreSQL fails the test loudly.
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("herald.db").display()),
                _dir: dir,
                schema: None,
            },
            Backend::Postgres => {
                let schema = format!("it_{}", herald_domain::id::generate());
                let admin = sqlx::PgPool::connect(&pg_url()).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for the tests ({}): {e}", pg_url())
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&admin)
                    .await
                    .expect("create schema");
                admin.close().await;
                let sep = if pg_url().contains('?') { '&' } else { '?' };
                TestDb {
                    url: format!("{}{sep}options[search_path]={schema}", pg_url()),
                    _dir: dir,
                    schema: Some(schema),
                }
            }
        }
    }

    /// Every byte the database holds, as text: the SQLite files, or every row of every
    /// table of the PostgreSQL schema. For "nothing secret is stored" checks.
    pub async fn dump(&self) -> String {
        match &self.schema {
            None => {
                let path = self.url.trim_start_matches("sqlite://");
                let mut out = Vec::new();
                for suffix in ["", "-wal"] {
                    if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                        out.extend(bytes);
                    }
                }
                String::from_utf8_lossy(&out).into_owned()
            }
            Some(schema) => {
                let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
                let tables: Vec<String> = sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1")
                    .bind(schema)
                    .fetch_all(&pool)
                    .await
                    .expect("tables");
                let mut out = String::new();
                for t in tables {
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT t::text FROM {schema}.{t} t"
                    )))
                    .fetch_all(&pool)
                    .await
                    .expect("rows");
                    out += &rows.join("\n");
                }
                pool.close().await;
                out
            }
        }
    }

    /// Runs one statement of raw SQL on this database, outside herald: for tests that break
    /// the schema under a running herald (a column gone) to see how it copes.
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.schema {
            None => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect");
                sqlx::query(sql).execute(&pool).await.expect("execute");
                pool.close().await;
            }
            Some(_) => {
                let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
                sqlx::query(sql).execute(&pool).await.expect("execute");
                pool.close().await;
            }
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, &DbOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = self.schema.take() {
            pg_cleanup(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Runs one clean-up statement on the test server from a `Drop` (which runs inside the
/// test's runtime, so a thread with its own runtime does it); failures are ignored.
pub fn pg_cleanup(sql: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            let pool = sqlx::PgPool::connect(&pg_url()).await.ok()?;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .ok()?;
            pool.close().await;
            Some(())
        })
    })
    .join();
}

/// A running herald with one page and a read-write key scoped to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub page: Page,
    /// A read-write key for `page`.
    pub key: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    pub db: TestDb,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `error` sentence of an error body.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

impl TestApp {
    /// Starts herald on `backend` with default settings (a high rate limit).
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts herald after letting `configure` change the settings.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_with_clock(backend, Arc::new(SystemClock), configure).await
    }

    /// Starts herald on `clock` (a `ManualClock` to compress time) after letting
    /// `configure` change the settings.
    pub async fn spawn_with_clock(
        backend: Backend,
        clock: Arc<dyn Clock>,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let db = TestDb::new(backend).await;
        let mut config = Config {
            database_url: db.url.clone(),
            listen: "127.0.0.1:0".to_owned(),
            api_requests_per_minute: 100_000,
            ..Config::default()
        };
        configure(&mut config);
        let store = herald::server::open_store(&config)
            .await
            .expect("open store");
        let page = store
            .create_page(
                &NewPage::parse("Acme Cloud", "acme", None).unwrap(),
                &Actor::cli(),
                clock.now(),
            )
            .await
            .expect("page");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        // A test may name the public URL (a host name, https); else it is this server.
        config
            .public_url
            .get_or_insert_with(|| format!("http://{addr}"));
        let shutdown = CancellationToken::new();
        {
            let (config, store, shutdown) = (config.clone(), store.clone(), shutdown.clone());
            tokio::spawn(async move {
                herald::server::run(&config, store, listener, clock, shutdown)
                    .await
                    .expect("server");
            });
        }
        let mut app = TestApp {
            addr,
            store,
            page,
            key: String::new(),
            client: reqwest::Client::new(),
            shutdown,
            db,
        };
        app.key = app.new_key(Some(&[app.page.id.clone()]), false).await;
        app
    }

    /// A new key: for `pages` (None: every page), read-only or not.
    pub async fn new_key(&self, pages: Option<&[PageId]>, read_only: bool) -> String {
        let k = apikey::generate();
        self.store
            .create_key(
                "test",
                &k,
                read_only,
                pages,
                &Actor::cli(),
                SystemClock.now(),
            )
            .await
            .expect("key");
        k.secret
    }

    /// Creates another page.
    pub async fn new_page(&self, slug: &str) -> Page {
        self.store
            .create_page(
                &NewPage::parse(slug, slug, None).unwrap(),
                &Actor::cli(),
                SystemClock.now(),
            )
            .await
            .expect("page")
    }

    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `/v1/pages/<page id>` + `rest`.
    pub fn page_path(&self, rest: &str) -> String {
        format!("/v1/pages/{}{rest}", self.page.id)
    }

    /// Sends a request with this app's key.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Resp {
        self.send_as(&self.key, method, path, body).await
    }

    /// Sends a request with `key` (as `Authorization: OAuth <key>`).
    pub async fn send_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Resp {
        let mut rb = self
            .client
            .request(method, self.url(path))
            .header("Authorization", format!("OAuth {key}"));
        if let Some(b) = body {
            rb = rb.json(b);
        }
        read(rb.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Creates a component and returns it.
    pub async fn component(&self, name: &str) -> Value {
        let r = self
            .post(
                &self.page_path("/components"),
                &serde_json::json!({"component": {"name": name}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()
    }

    /// Creates an incident from the fields of `incident` and returns it.
    pub async fn incident(&self, incident: Value) -> Value {
        let r = self
            .post(
                &self.page_path("/incidents"),
                &serde_json::json!({ "incident": incident }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Reads a response whole.
pub async fn read(r: reqwest::Response) -> Resp {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Resp {
        status,
        headers,
        text,
    }
}

/// The sum of a counter's series (`name{...} value` lines) in a `/metrics` text.
pub fn counter_sum(metrics: &str, name: &str) -> u64 {
    let series = format!("{name}{{");
    metrics
        .lines()
        .filter(|l| l.starts_with(&series))
        .map(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .expect("a counter value") as u64
        })
        .sum()
}

/// Sends `head` (a request's head, and any first bytes of its body) to the app on a new
/// connection and returns the answer's status line: for bodies refused from their announced
/// length, before they are sent.
pub async fn status_after_head(app: &TestApp, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// Redactions for snapshots of v1 objects: ids and timestamps vary, their shape does not.
/// Timestamps are checked to have Statuspage's shape (3 fractional digits and `Z`) before
/// being replaced.
#[macro_export]
macro_rules! assert_v1_snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({sort_maps => false}, {
            insta::assert_json_snapshot!($name, $value, {
                ".**.id" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.page_id" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.group_id" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.incident_id" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.code" => insta::dynamic_redaction($crate::helpers::redact_id),
                ".**.shortlink" => insta::dynamic_redaction(|v, _| $crate::helpers::redact_str(v, "[shortlink]")),
                ".**.page_url" => insta::dynamic_redaction(|v, _| $crate::helpers::redact_str(v, "[page_url]")),
                ".**.created_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.updated_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.started_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.display_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.resolved_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.monitoring_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.scheduled_for" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.scheduled_until" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.published_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.postmortem_published_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.postmortem_body_last_updated_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.body_updated_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.body_draft_updated_at" => insta::dynamic_redaction($crate::helpers::redact_ts),
                ".**.start_date" => insta::dynamic_redaction(|v, _| $crate::helpers::redact_str(v, "[date]")),
            });
        });
    };
}

use insta::internals::{Content, ContentPath};

/// Replaces a string (keeping `null` visible in the snapshot).
pub fn redact_str(value: Content, with: &str) -> Content {
    if value.as_str().is_some() {
        Content::from(with)
    } else {
        value
    }
}

/// Replaces an id after checking it is one herald could have issued.
pub fn redact_id(value: Content, _path: ContentPath<'_>) -> Content {
    if let Some(s) = value.as_str() {
        assert!(
            herald_domain::id::looks_valid(s),
            "id {s:?} is not 12 lowercase base-36 characters"
        );
    }
    redact_str(value, "[id]")
}

/// Replaces a timestamp after checking its shape.
pub fn redact_ts(value: Content, _path: ContentPath<'_>) -> Content {
    if let Some(s) = value.as_str() {
        assert!(
            is_statuspage_timestamp(s),
            "timestamp {s:?} is not ISO 8601 with 3 fractional digits and an offset"
        );
    }
    redact_str(value, "[ts]")
}

/// `2020-12-03T08:11:21.385Z` or `2019-06-24T06:07:14.473-07:00`.
pub fn is_statuspage_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let head = b.len() >= 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[20..23].iter().all(u8::is_ascii_digit);
    let tail = &s[23.min(s.len())..];
    head && (tail == "Z"
        || (tail.len() == 6
            && (tail.starts_with('+') || tail.starts_with('-'))
            && &tail[3..4] == ":"))
}

/// A herald server on an existing database (another node, or a store seeded by the test).
pub struct Node {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
}

impl Node {
    /// Starts a server on `database_url` after letting `configure` change the settings.
    pub async fn start(database_url: &str, configure: impl FnOnce(&mut Config)) -> Node {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut config = Config {
            database_url: database_url.to_owned(),
            listen: "127.0.0.1:0".to_owned(),
            api_requests_per_minute: 100_000,
            public_url: Some(format!("http://{addr}")),
            ..Config::default()
        };
        configure(&mut config);
        let store = herald::server::open_store(&config)
            .await
            .expect("open store");
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            herald::server::run(&config, store, listener, Arc::new(SystemClock), stop)
                .await
                .expect("server");
        });
        Node {
            addr,
            client: reqwest::Client::new(),
            shutdown,
        }
    }

    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GETs `path` without credentials.
    pub async fn get(&self, path: &str) -> Resp {
        read(
            self.client
                .get(self.url(path))
                .send()
                .await
                .expect("request"),
        )
        .await
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    /// GETs a public `path` without credentials, with extra headers.
    pub async fn public(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut rb = self.client.get(self.url(path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        read(rb.send().await.expect("request")).await
    }
}
