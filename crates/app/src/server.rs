//! Starting herald: open the store, migrate, and serve until told to stop.

use herald_domain::clock::Clock;
use herald_store::{DbOptions, Store};
use herald_web::{AppState, WebConfig};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Role};

/// Opens (and, unless disabled, migrates) the database named in `config`.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let opts = DbOptions {
        max_connections: config.db_max_connections,
        ..DbOptions::default()
    };
    let store = Store::connect(&config.database_url, &opts)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    if config.migrate {
        store.migrate().await?;
    }
    Ok(store)
}

/// Runs herald on `listener` until `shutdown` is cancelled.
pub async fn run(
    config: &Config,
    store: Store,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let web = WebConfig {
        public_url: config.public_url(),
        api_requests_per_minute: config.api_requests_per_minute,
    };
    let state = AppState::new(store.clone(), clock, web);
    tracing::info!(addr = %listener.local_addr()?, role = ?config.role, backend = ?store.backend(), "herald is serving");
    let stop = shutdown.clone();
    let stopped = async move { stop.cancelled().await };
    match config.role {
        Role::Worker => herald_web::serve_health(listener, stopped).await?,
        Role::All | Role::Web => herald_web::serve(listener, state, stopped).await?,
    }
    store.close().await;
    Ok(())
}
