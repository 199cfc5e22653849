//! Herald's HTTP surface: the route table, the Statuspage-compatible management API, the
//! public status page (served from in-memory snapshots, see [`public`]) and (in later
//! modules) the admin UI. Handlers are thin: they extract, call one store or domain
//! function, and shape the response.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod error;
pub mod extract;
pub mod health;
mod middleware;
pub mod public;
mod ratelimit;
pub mod routes;
mod server;
pub mod state;
pub mod subscriptions;

pub use state::{AppState, WebConfig};

use std::future::Future;
use tokio::net::TcpListener;

/// Serves only health and metrics (a worker-only node).
pub async fn serve_health(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, routes::health_router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves herald on `listener` until `shutdown` resolves, then finishes in-flight requests.
/// Public pages are answered from their snapshots; render them first
/// ([`public::Publisher::tick_all`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let snapshots = state.snapshots().clone();
    let assets = state.assets().clone();
    server::run(listener, snapshots, assets, routes::router(state), shutdown).await
}
