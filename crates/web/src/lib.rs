//! Herald's HTTP surface: the route table, the Statuspage-compatible management API, and
//! (in later modules) the public pages and the admin UI. Handlers are thin: they extract,
//! call one store or domain function, and shape the response.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod extract;
pub mod health;
mod middleware;
mod ratelimit;
pub mod routes;
pub mod state;

pub use state::{AppState, WebConfig};

use std::future::Future;
use std::net::SocketAddr;
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
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = tower::ServiceExt::map_request(routes::router(state), middleware::strip_json_suffix);
    axum::serve(
        listener,
        axum::ServiceExt::into_make_service_with_connect_info::<SocketAddr>(app),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
