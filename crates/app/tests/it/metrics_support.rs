//! Real and emulated metrics providers for the metrics tests: a loopback exporter whose
//! value is a known function of time, a real Prometheus (Debian's `prometheus`) scraping it
//! with its history backfilled by `promtool`, and loopback emulations of Datadog's v1 query
//! API and New Relic's NerdGraph NRQL API in their documented shapes, serving the same
//! function, which a test can take down (500s) and bring back.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use herald_domain::clock::{Clock, SystemClock};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The exporter's value at unix second `t`: a saw tooth, different in every 30 s bucket.
pub fn f(t: f64) -> f64 {
    (t.rem_euclid(3600.0) / 10.0).floor()
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Starts the exporter: `GET /metrics` answers `herald_test_value <f(now)>`.
pub async fn exporter() -> SocketAddr {
    let app = Router::new().route(
        "/metrics",
        get(|| async {
            let now = SystemClock.now().timestamp_millis() as f64 / 1000.0;
            format!(
                "# TYPE herald_test_value gauge\nherald_test_value {}\n",
                f(now)
            )
        }),
    );
    serve(app).await
}

/// A Prometheus server of the test's own, killed when dropped.
pub struct Prometheus {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus scraping `target` every second, with the exporter's values every
    /// 15 s from `history_from` to `history_to` (unix seconds) backfilled into its storage,
    /// as if it had scraped them then.
    pub async fn start(target: SocketAddr, history_from: i64, history_to: i64) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let om = dir.path().join("history.om");
        let mut text = String::from("# TYPE herald_test_value gauge\n");
        let mut t = history_from;
        while t <= history_to {
            text.push_str(&format!(
                "herald_test_value{{instance=\"{target}\",job=\"herald-test\"}} {} {t}\n",
                f(t as f64)
            ));
            t += 15;
        }
        text.push_str("# EOF\n");
        std::fs::write(&om, text).unwrap();
        let out = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&om)
            .arg(&data)
            .output()
            .expect("promtool (Debian package prometheus; scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = dir.path().join("prometheus.yml");
        let mut c = std::fs::File::create(&config).unwrap();
        write!(
            c,
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: herald-test\n    static_configs:\n      - targets: ['{target}']\n"
        )
        .unwrap();
        let mut child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--web.listen-address=127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("prometheus");
        let stderr = child.stderr.take().unwrap();
        let addr = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stderr).lines();
            let found = lines.by_ref().map_while(Result::ok).find_map(|l| {
                (l.contains("msg=\"Listening on\""))
                    .then(|| l.rsplit("address=").next().unwrap().trim().to_owned())
            });
            // Keep reading so Prometheus never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            found
        })
        .await
        .unwrap()
        .expect("Prometheus said where it listens");
        let p = Prometheus {
            child,
            url: format!("http://{addr}"),
            _dir: dir,
        };
        let client = reqwest::Client::new();
        loop {
            let ready = client.get(format!("{}/-/ready", p.url)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        p
    }

    /// `query_range` of `q` from `start` to `end` at a 30 s step: (timestamp, value) of its
    /// one series.
    pub async fn query_range(&self, q: &str, start: i64, end: i64) -> Vec<(i64, f64)> {
        let body: Value = reqwest::Client::new()
            .get(format!("{}/api/v1/query_range", self.url))
            .query(&[
                ("query", q),
                ("start", &start.to_string()),
                ("end", &end.to_string()),
                ("step", "30s"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let result = body["data"]["result"].as_array().unwrap();
        assert!(result.len() <= 1, "{body}");
        result
            .first()
            .map(|s| {
                s["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        (
                            p[0].as_f64().unwrap() as i64,
                            p[1].as_str().unwrap().parse().unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An emulated provider API (Datadog or New Relic) on loopback, serving [`f`] at 30 s
/// resolution from `since` on. `down` makes it answer 500 with an HTML body.
#[derive(Clone)]
pub struct Emulated {
    pub url: String,
    pub down: Arc<AtomicBool>,
    /// Requests seen, for checking credentials arrived.
    pub seen_keys: Arc<std::sync::Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct EmuState {
    since: i64,
    down: Arc<AtomicBool>,
    seen_keys: Arc<std::sync::Mutex<Vec<String>>>,
}

fn outage() -> axum::response::Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "text/html")],
        "<html><body>Internal Server Error</body></html>",
    )
        .into_response()
}

/// Datadog v1 `GET /api/v1/query?from=&to=&query=` (seconds), answering
/// `{"status":"ok","series":[{"pointlist":[[ms, value], ...]}]}`.
async fn datadog_query(
    State(s): State<EmuState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    if s.down.load(Ordering::SeqCst) {
        return outage();
    }
    let key = headers
        .get("DD-API-KEY")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let app = headers
        .get("DD-APPLICATION-KEY")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    s.seen_keys.lock().unwrap().push(format!("{key}/{app}"));
    let (from, to): (i64, i64) = (q["from"].parse().unwrap(), q["to"].parse().unwrap());
    let query = q.get("query").cloned().unwrap_or_default();
    if query.contains(" by {") {
        let series = json!({"pointlist": [[from * 1000, 1.0]]});
        return Json(json!({"status": "ok", "series": [series, series]})).into_response();
    }
    let now = SystemClock.now().timestamp();
    let mut points = Vec::new();
    let mut t = from - from.rem_euclid(30);
    while t <= to.min(now) {
        if t >= from && t >= s.since {
            points.push(json!([t * 1000, f(t as f64)]));
        }
        t += 30;
    }
    Json(json!({"status": "ok", "res_type": "time_series", "from_date": from * 1000, "to_date": to * 1000,
        "query": query, "series": [{"metric": query, "pointlist": points, "interval": 30}]}))
    .into_response()
}

/// New Relic NerdGraph `POST /graphql`: `nrql(query: "... SINCE <ms> UNTIL <ms> TIMESERIES
/// 30 seconds")` answering `{"data":{"actor":{"account":{"nrql":{"results":[{"beginTimeSeconds",
/// "endTimeSeconds", "<function>": value}]}}}}}`.
async fn newrelic_graphql(
    State(s): State<EmuState>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    if s.down.load(Ordering::SeqCst) {
        return outage();
    }
    let key = headers
        .get("API-Key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    s.seen_keys.lock().unwrap().push(key);
    let nrql = body["variables"]["nrql"].as_str().unwrap_or("").to_owned();
    let num = |word: &str| -> Option<i64> {
        let at = nrql.find(word)? + word.len();
        nrql[at..].split_whitespace().next()?.parse().ok()
    };
    let (Some(since), Some(until)) = (num("SINCE "), num("UNTIL ")) else {
        return Json(
            json!({"errors": [{"message": "NRQL Syntax error: SINCE/UNTIL"}], "data": null}),
        )
        .into_response();
    };
    if !nrql.contains("TIMESERIES 30 seconds") {
        return Json(json!({"errors": [{"message": "expected TIMESERIES 30 seconds"}]}))
            .into_response();
    }
    let (from, to) = (since / 1000, until / 1000);
    if (to - from) / 30 > 366 {
        return Json(json!({"errors": [{"message": "too many buckets (max 366)"}]}))
            .into_response();
    }
    let now = SystemClock.now().timestamp();
    let mut results = Vec::new();
    let mut t = from;
    while t < to && t <= now {
        let v = (t >= s.since).then(|| f(t as f64));
        let mut r = json!({"beginTimeSeconds": t, "endTimeSeconds": t + 30, "average.duration": v});
        if nrql.contains("FACET") {
            r["facet"] = json!("host-a");
        }
        results.push(r);
        t += 30;
    }
    Json(json!({"data": {"actor": {"account": {"nrql": {"results": results}}}}})).into_response()
}

impl Emulated {
    /// Datadog's v1 query API.
    pub async fn datadog(since: i64) -> Emulated {
        Self::start(
            since,
            Router::new().route("/api/v1/query", get(datadog_query)),
        )
        .await
    }

    /// New Relic's NerdGraph.
    pub async fn newrelic(since: i64) -> Emulated {
        Self::start(
            since,
            Router::new().route("/graphql", post(newrelic_graphql)),
        )
        .await
    }

    async fn start(since: i64, routes: Router<EmuState>) -> Emulated {
        let st = EmuState {
            since,
            down: Arc::default(),
            seen_keys: Arc::default(),
        };
        let addr = serve(routes.with_state(st.clone())).await;
        Emulated {
            url: format!("http://{addr}"),
            down: st.down,
            seen_keys: st.seen_keys,
        }
    }
}
