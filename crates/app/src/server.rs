//! Starting herald: open the store, migrate, and serve until told to stop.

use anyhow::Context;
use herald_domain::clock::Clock;
use herald_store::{DbOptions, Store};
use herald_web::public::SnapshotOptions;
use herald_web::{AppState, WebConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use herald_worker::{Metrics, Runner};
use tokio::task::JoinSet;

use crate::config::{Config, Role};
use crate::jobs;

/// Opens (and, unless disabled, migrates) the database named in `config`.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let opts = DbOptions {
        max_connections: config.db_max_connections,
        acquire_timeout: Duration::from_millis(config.db_acquire_timeout_ms.max(1)),
    };
    let store = Store::connect(&config.database_url, &opts)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    if config.migrate {
        store.migrate().await?;
    } else if let Some(why) = store.schema_status().await?.refusal() {
        // Not migrating must not mean running on a schema this build cannot handle.
        return Err(herald_store::StoreError::Incompatible(why).into());
    }
    Ok(store)
}

/// The listening socket systemd passed (socket activation), adopted by [`adopt_systemd_socket`].
static INHERITED: std::sync::Mutex<Option<std::net::TcpListener>> = std::sync::Mutex::new(None);

/// Adopts the listening socket passed by systemd's socket activation (`LISTEN_FDS=1`, the
/// socket as fd 3, `LISTEN_PID` this process), for [`bind`] to use instead of binding
/// `listen`. The socket outlives herald's restarts: connections arriving while no herald
/// runs wait in its backlog, so a restart refuses none. Call it first thing in `main`,
/// before any thread starts: it removes the two variables from the environment (so child
/// processes do not take the socket too).
pub fn adopt_systemd_socket() -> std::io::Result<()> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(());
    }
    if fds.len() > 1 {
        return Err(std::io::Error::other(format!(
            "systemd passed {} sockets; herald listens on one (ListenStream= once)",
            fds.len()
        )));
    }
    let listener = fds
        .take_tcp_listener(0)?
        .ok_or_else(|| std::io::Error::other("the socket systemd passed is not a TCP listener"))?;
    if let Ok(mut slot) = INHERITED.lock() {
        *slot = Some(listener);
    }
    Ok(())
}

/// Binds `config.listen` (or takes the socket systemd passed) and says which address it got: the port the system picks for `:0`
/// becomes `config.listen` (so also the default `public_url`), and `ready_file`, if given,
/// receives the address once the socket accepts connections (written whole, then renamed
/// into place). Whoever starts herald reads the file rather than guessing a free port that
/// another process could take first.
pub async fn bind(config: &mut Config, ready_file: Option<&Path>) -> anyhow::Result<TcpListener> {
    let inherited = INHERITED
        .lock()
        .map_err(|_| anyhow::anyhow!("inherited socket lock poisoned"))?
        .take();
    let listener = match inherited {
        Some(std_listener) => {
            std_listener.set_nonblocking(true)?;
            tracing::info!("listening on the socket systemd passed (LISTEN_FDS)");
            TcpListener::from_std(std_listener)?
        }
        None => TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?,
    };
    let addr = listener.local_addr()?;
    config.listen = addr.to_string();
    if let Some(path) = ready_file {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, format!("{addr}\n"))
            .and_then(|()| std::fs::rename(&tmp, path))
            .with_context(|| format!("cannot write the ready file {}", path.display()))?;
    }
    Ok(listener)
}

/// Runs herald on `listener` until `shutdown` is cancelled: the HTTP surface, and unless
/// the role is `web`, the job runner, the reconcilers and the job-notification relay. At
/// shutdown `/readyz` first answers 503 for `shutdown_drain_ms`; then the HTTP server stops
/// accepting and finishes in-flight requests and the runner drains its jobs.
pub async fn run(
    config: &Config,
    store: Store,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Stopping takes two steps: when `shutdown` fires, `/readyz` turns 503 while requests
    // are still served for `shutdown_drain_ms` (balancers take the node out); then `stop`
    // closes the listener, in-flight requests and jobs finish, and `run` returns.
    let asked = shutdown;
    let shutdown = CancellationToken::new();
    let metrics = Arc::new(Metrics::new());
    let mut background = JoinSet::new();
    let runner = if config.role == Role::Web {
        None
    } else {
        let rc = jobs::runner_config(config);
        let node = rc.worker_id.clone();
        let notifier = Arc::new(jobs::notifier(config, &store, clock.as_ref()).await?);
        let runner = Runner::new(
            store.clone(),
            clock.clone(),
            jobs::registry(notifier),
            rc,
            metrics.clone(),
        );
        let status = runner.status();
        background.spawn(runner.run(shutdown.clone()));
        let driver = jobs::driver(config, &store, clock.clone(), &node, metrics.clone())?;
        background.spawn(driver.run(shutdown.clone()));
        let (s, stop) = (store.clone(), shutdown.clone());
        background.spawn(async move { s.relay_job_notifications(stop.cancelled_owned()).await });
        Some(status)
    };
    let web = WebConfig {
        public_url: config.public_url(),
        listen: config.listen.clone(),
        api_requests_per_minute: config.api_requests_per_minute,
        egress: herald_notify::egress::EgressPolicy::parse(&config.egress_allow)
            .map_err(|e| anyhow::anyhow!(e))?,
        default_page: config.default_page.clone(),
        client_ip_header: config.client_ip_header.clone(),
        uptime_weights: config.uptime_weights()?,
        snapshots: SnapshotOptions {
            refresh_every: Duration::from_secs(config.snapshot_refresh_secs),
            poll_every: Duration::from_millis(config.snapshot_poll_ms),
            remote_gap: Duration::from_millis(config.snapshot_remote_gap_ms),
            listen: config.snapshot_listen,
            cache_bytes: config.snapshot_cache_mb << 20,
        },
    };
    let snapshot_options = web.snapshots.clone();
    let state = AppState::new(store.clone(), clock, web, metrics, runner);
    {
        let (stop, state) = (shutdown.clone(), state.clone());
        let drain = Duration::from_millis(config.shutdown_drain_ms);
        tokio::spawn(async move {
            asked.cancelled().await;
            state.start_draining();
            if !drain.is_zero() {
                tracing::info!(
                    drain_ms = drain.as_millis() as u64,
                    "draining: /readyz answers 503, requests are still served"
                );
                tokio::time::sleep(drain).await;
            }
            stop.cancel();
        });
    }
    tracing::info!(addr = %listener.local_addr()?, role = ?config.role, backend = ?store.backend(), "herald is serving");
    let stop = shutdown.clone();
    let stopped = async move { stop.cancelled().await };
    match config.role {
        Role::Worker => herald_web::serve_health(listener, state, stopped).await?,
        Role::All | Role::Web => {
            // Public pages are served from snapshots: render them all before accepting.
            if let Err(e) = state.publisher().tick_all().await {
                tracing::warn!(error = %e, "could not render the public pages at start; the poll will retry");
            }
            herald_web::public::spawn_tasks(
                state.publisher().clone(),
                &snapshot_options,
                shutdown.clone(),
            );
            herald_web::serve(listener, state, stopped).await?
        }
    }
    while background.join_next().await.is_some() {}
    store.close().await;
    Ok(())
}
