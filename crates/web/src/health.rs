//! Health and metrics: `/livez` (the process is up), `/readyz` (the whole work flow is
//! healthy) and `/metrics` (Prometheus).
//!
//! Readiness covers what failed in Statuspage's 2017 incident: besides the database and the
//! schema version, a node that runs workers is ready only while each of its queue fetchers
//! has looked for work in the last 30 s, its heartbeat is younger than 30 s, and no due job
//! has waited longer than 60 s. A deployment whose workers never activate is therefore
//! reported unready within a minute, and `herald verify` refuses it.

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use herald_store::Store;
use herald_worker::metrics::{HttpLabels, RouteLabels};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::state::AppState;

/// A worker loop or heartbeat older than this is not ready.
pub const WORKER_STALE: Duration = Duration::from_secs(30);
/// A due job waiting longer than this makes a worker node unready.
pub const BACKLOG_STALE: Duration = Duration::from_secs(60);

/// `/livez`: the process answers.
pub async fn livez() -> &'static str {
    "ok"
}

/// One readiness check.
#[derive(Debug, Serialize)]
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

/// `/readyz`'s body.
#[derive(Debug, Serialize)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    pub checks: BTreeMap<&'static str, Check>,
}

fn check(ok: bool, detail: impl Into<String>) -> Check {
    Check {
        ok,
        detail: detail.into(),
    }
}

async fn database_checks(store: &Store, checks: &mut BTreeMap<&'static str, Check>) -> bool {
    let started = Instant::now();
    match tokio::time::timeout(Duration::from_secs(2), store.ping()).await {
        Ok(Ok(())) => {
            checks.insert(
                "database",
                check(
                    true,
                    format!("reachable in {} ms", started.elapsed().as_millis()),
                ),
            );
        }
        Ok(Err(e)) => {
            checks.insert("database", check(false, format!("unreachable: {e}")));
            return false;
        }
        Err(_) => {
            checks.insert("database", check(false, "no answer within 2 s"));
            return false;
        }
    }
    // On a newer schema this build is ready when every migration it does not know is
    // expand ("schema 8, this build knows 7: compatible"); see `herald_store::SchemaStatus`.
    match store.schema_status().await {
        Ok(s) => checks.insert("schema", check(s.ready(), s.summary())),
        Err(e) => checks.insert("schema", check(false, format!("unknown: {e}"))),
    };
    true
}

/// `/readyz`: 200 when every check passes, else 503; the body names each check.
pub async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let mut checks = BTreeMap::new();
    if app.is_draining() {
        // First step of a graceful stop: balancers take this node out while it still serves.
        checks.insert(
            "shutdown",
            check(false, "draining: this node is shutting down"),
        );
    }
    let db_up = database_checks(app.store(), &mut checks).await;
    if let Some(runner) = app.runner() {
        let now = app.now();
        let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
        checks.insert(
            "worker_loop",
            match runner.stalest_loop(now) {
                Some(age) => check(
                    age < WORKER_STALE,
                    format!("every queue looked for work within {}", secs(age)),
                ),
                None => check(false, "the workers have not started claiming jobs"),
            },
        );
        checks.insert(
            "worker_heartbeat",
            match runner.heartbeat_age(now) {
                Some(age) => check(
                    age < WORKER_STALE,
                    format!("last heartbeat {} ago", secs(age)),
                ),
                None => check(false, "no heartbeat yet"),
            },
        );
        if db_up {
            checks.insert(
                "job_backlog",
                match app.store().oldest_due_job().await {
                    Ok(Some(t)) => {
                        let age = (now - t).to_std().unwrap_or_default();
                        check(
                            age < BACKLOG_STALE,
                            format!("the oldest due job has waited {}", secs(age)),
                        )
                    }
                    Ok(None) => check(true, "no job is waiting"),
                    Err(e) => check(false, format!("unknown: {e}")),
                },
            );
        }
    }
    let ready = checks.values().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            status: if ready { "ready" } else { "not_ready" },
            checks,
        }),
    )
}

/// `/metrics`: OpenMetrics text. Shared gauges are read from the database at each scrape.
pub async fn metrics(State(app): State<AppState>) -> Response {
    if let Err(e) = app.metrics().refresh(app.store(), app.now()).await {
        tracing::warn!(error = %e, "metrics: could not read queue state");
    }
    // Served from memory: exported even when the database is down, which is when it matters.
    for s in app.snapshots().ages(app.now()) {
        app.metrics()
            .snapshot_age
            .get_or_create(&herald_worker::metrics::PageLabels { page: s.slug })
            .set(s.age_seconds);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics().encode(),
    )
        .into_response()
}

/// The method label of a request: one of the methods herald routes, or `other`. Anyone can
/// invent methods (`curl -X M1`); labelling them as sent would add series without bound.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware counting requests and their latency by route template and method, both from
/// bounded sets: a route herald declares (never the raw path) or `unmatched`, and a known
/// method or `other`.
pub async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method()).to_owned();
    let started = Instant::now();
    let resp = next.run(req).await;
    let m = app.metrics();
    m.http_requests
        .get_or_create(&HttpLabels {
            method: method.clone(),
            route: route.clone(),
            status: resp.status().as_u16(),
        })
        .inc();
    m.http_duration
        .get_or_create(&RouteLabels { method, route })
        .observe(started.elapsed().as_secs_f64());
    resp
}
