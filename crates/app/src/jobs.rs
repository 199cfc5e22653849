//! The job handlers and reconcilers this binary runs, and the runner's settings.

use herald_domain::clock::Clock;
use herald_notify::Notifier;
use herald_notify::egress::{ClientSettings, EgressPolicy, GuardedClient};
use herald_notify::email::Mailer;
use herald_notify::limits::Destinations;
use herald_notify::links::Links;
use herald_notify::pull::{MetricsPoll, PruneMetrics};
use herald_notify::sms::{Sms, SmsSettings};
use herald_store::Store;
use herald_worker::reconcilers::{Maintenance, PruneJobs, Subscribers};
use herald_worker::{Driver, Metrics, Registry, RunnerConfig};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;

/// Every job kind's handler.
pub fn registry(notifier: Arc<Notifier>) -> Registry {
    let mut r = Registry::default();
    herald_worker::canary::register(&mut r);
    herald_notify::register(&mut r, notifier);
    r
}

/// The notification machinery from the configuration: the guarded HTTP client, SMTP and
/// SMS senders, and the key signing links in messages (generated once per installation and
/// kept in the database, so every node signs alike).
pub async fn notifier(
    config: &Config,
    store: &Store,
    clock: &dyn Clock,
) -> anyhow::Result<Notifier> {
    let policy = EgressPolicy::parse(&config.egress_allow).map_err(|e| anyhow::anyhow!(e))?;
    let total = Duration::from_millis(config.delivery_timeout_ms);
    let settings = ClientSettings {
        proxy: config.egress_proxy.clone(),
        total_timeout: total,
        connect_timeout: ClientSettings::default().connect_timeout.min(total),
        ..ClientSettings::default()
    };
    let http = GuardedClient::new(policy, &settings).map_err(|e| anyhow::anyhow!(e))?;
    let mailer = match &config.smtp_url {
        Some(url) => Some(Mailer::new(url, &config.smtp_from).map_err(|e| anyhow::anyhow!(e))?),
        None => None,
    };
    let sms = match (
        &config.sms_url,
        &config.sms_account_sid,
        &config.sms_auth_token,
        &config.sms_from,
    ) {
        (Some(base_url), Some(account_sid), Some(auth_token), Some(from)) => Some(
            Sms::new(SmsSettings {
                base_url: base_url.clone(),
                account_sid: account_sid.clone(),
                auth_token: auth_token.clone(),
                from: from.clone(),
            })
            .map_err(|e| anyhow::anyhow!(e))?,
        ),
        _ => None,
    };
    let key = store
        .instance_secret(
            herald_notify::links::LINK_KEY,
            herald_notify::signing::new_secret,
            clock.now(),
        )
        .await?;
    Ok(Notifier {
        base_url: config.public_url(),
        links: Links::new(&key),
        http,
        mailer,
        sms,
        destinations: Arc::new(Destinations::new(config.delivery_per_destination)),
    })
}

/// The runner's settings from the configuration.
pub fn runner_config(config: &Config) -> RunnerConfig {
    RunnerConfig {
        worker_id: config
            .worker_id
            .clone()
            .unwrap_or_else(herald_domain::id::generate),
        hostname: std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned()),
        default_concurrency: config.worker_concurrency,
        ack_batch: config.worker_ack_batch,
        poll_interval: Duration::from_millis(config.worker_poll_ms.max(10)),
        heartbeat_interval: Duration::from_millis(config.worker_heartbeat_ms.max(10)),
        stale_after: Duration::from_millis(config.worker_stale_ms),
        sweep_interval: Duration::from_millis((config.worker_stale_ms / 4).clamp(100, 5000)),
        never_claim: config.obeyed_fault() == Some("worker_never_claims"),
        ..RunnerConfig::default()
    }
}

/// Every reconciler.
pub fn driver(
    config: &Config,
    store: &Store,
    clock: Arc<dyn Clock>,
    node: &str,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Driver> {
    let mut d = Driver::new(store.clone(), clock, node, metrics);
    d.add(MetricsPoll {
        store: store.clone(),
        http: metrics_client(config)?,
        every: Duration::from_secs(config.metrics_poll_secs),
    });
    d.add(PruneMetrics {
        store: store.clone(),
    });
    d.add(herald_notify::checks::Automation {
        store: store.clone(),
        client: check_client(config)?,
        tls_roots: check_roots(config)?,
    });
    d.add(Maintenance {
        store: store.clone(),
    });
    d.add(PruneJobs {
        store: store.clone(),
    });
    d.add(Subscribers {
        store: store.clone(),
    });
    Ok(d)
}

/// The guarded client the metrics poller asks providers through: the operator's egress
/// rules (`egress_allow` opens a private Prometheus), its own timeout, room for a month of
/// points in one answer.
pub fn metrics_client(config: &Config) -> anyhow::Result<GuardedClient> {
    let policy = EgressPolicy::parse(&config.egress_allow).map_err(|e| anyhow::anyhow!(e))?;
    let total = Duration::from_millis(config.metrics_timeout_ms);
    let settings = ClientSettings {
        proxy: config.egress_proxy.clone(),
        total_timeout: total,
        connect_timeout: ClientSettings::default().connect_timeout.min(total),
        body_cap: 32 << 20,
    };
    GuardedClient::new(policy, &settings).map_err(|e| anyhow::anyhow!(e))
}

/// The guarded client built-in checks go out through: the egress policy of deliveries, and
/// 64 KiB of a body kept for `body_contains`.
pub fn check_client(config: &Config) -> anyhow::Result<GuardedClient> {
    let policy = EgressPolicy::parse(&config.egress_allow).map_err(|e| anyhow::anyhow!(e))?;
    let settings = ClientSettings {
        proxy: config.egress_proxy.clone(),
        body_cap: 64 * 1024,
        ..ClientSettings::default()
    };
    GuardedClient::new(policy, &settings).map_err(|e| anyhow::anyhow!(e))
}

/// The roots TLS expiry checks trust: the system's, and `check_ca_file`'s if set.
pub fn check_roots(config: &Config) -> anyhow::Result<herald_notify::tls_expiry::TlsRoots> {
    let mut roots = herald_notify::tls_expiry::TlsRoots::system();
    if let Some(path) = &config.check_ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("configuration: check_ca_file {path}: {e}"))?;
        roots
            .add_pem(&pem)
            .map_err(|e| anyhow::anyhow!("configuration: check_ca_file {path}: {e}"))?;
    }
    Ok(roots)
}
