//! The automation reconciler: applies automation changes whose flap window ended, notices
//! heartbeats that missed their deadline, and runs the built-in checks that are due
//! (HTTP(S) through the guarded egress client, TCP connects and TLS handshakes to addresses
//! the egress policy permits; a TLS check reads the certificate's expiry, `tls_expiry.rs`). Each result is one store write (`Store::record_check`) that moves the check's
//! component when a run of failures or successes flips it. On PostgreSQL one node leads it.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::automation::checks::CheckConfig;
use herald_domain::automation::{Integration, IntegrationKind};
use herald_store::{CheckResult, Store};
use herald_worker::Reconciler;
use herald_worker::handler::BoxFuture;
use std::time::{Duration, Instant};

use crate::egress::{GuardedClient, SendError};
use crate::tls_expiry::{TlsRoots, certificate_not_after, split_target};

/// Runs heartbeats' deadlines, checks and deferred automation changes.
#[derive(Debug, Clone)]
pub struct Automation {
    pub store: Store,
    /// The guarded client checks go out through.
    pub client: GuardedClient,
    /// The roots TLS expiry checks trust.
    pub tls_roots: TlsRoots,
}

/// Checks run at once, at most.
const PARALLEL: usize = 16;

impl Automation {
    /// Runs one check (a heartbeat past its deadline fails without running anything).
    pub async fn run_check(
        &self,
        i: &Integration,
        cfg: &CheckConfig,
        now: DateTime<Utc>,
    ) -> CheckResult {
        let every = TimeDelta::seconds(i64::from(cfg.interval_seconds));
        let timeout = Duration::from_secs(u64::from(cfg.timeout_seconds));
        let target = cfg.target.as_deref().unwrap_or("");
        let outcome = match i.kind {
            IntegrationKind::Heartbeat => Err(format!(
                "no ping for {} s",
                cfg.interval_seconds + cfg.grace_seconds
            )),
            IntegrationKind::Http => {
                let started = Instant::now();
                match self.client.get_within(target, timeout).await {
                    Ok(r) => cfg.judge_http(r.status, started.elapsed(), &r.body),
                    Err(SendError::Blocked(b)) => Err(format!("blocked: {b}")),
                    Err(SendError::Failed(f)) => Err(f),
                }
            }
            IntegrationKind::Tcp => self.tcp(target, timeout).await,
            IntegrationKind::Tls => {
                let policy = self.client.policy();
                match certificate_not_after(policy, &self.tls_roots, target, timeout, now).await {
                    Ok(not_after) => cfg.judge_expiry(not_after, now),
                    Err(e) => Err(e),
                }
            }
            IntegrationKind::Alertmanager | IntegrationKind::Webhook => Ok(()),
        };
        CheckResult {
            outcome,
            next_due: now + every,
        }
    }

    async fn tcp(&self, target: &str, timeout: Duration) -> Result<(), String> {
        let (host, port) = split_target(target)?;
        let addrs = self
            .client
            .policy()
            .resolve(host, port)
            .await
            .map_err(|b| format!("blocked: {b}"))?;
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addrs[..])).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("connect: {e}")),
            Err(_) => Err(format!("no connection within {} s", timeout.as_secs())),
        }
    }
}

impl Reconciler for Automation {
    fn name(&self) -> &'static str {
        "automation"
    }

    fn period(&self) -> Duration {
        Duration::from_secs(2)
    }

    fn reconcile(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            let applied = self
                .store
                .apply_due_automation(now)
                .await
                .map_err(|e| e.to_string())?;
            let due = self
                .store
                .due_checks(now)
                .await
                .map_err(|e| e.to_string())?;
            let mut ran = 0;
            let mut moved = 0;
            for chunk in due.chunks(PARALLEL) {
                let mut set = tokio::task::JoinSet::new();
                for i in chunk {
                    let (me, i) = (self.clone(), i.clone());
                    set.spawn(async move {
                        let cfg = i.config.check.clone()?;
                        let result = me.run_check(&i, &cfg, now).await;
                        Some(me.store.record_check(&i.page_id, &i.id, result, now).await)
                    });
                }
                while let Some(r) = set.join_next().await {
                    match r {
                        Ok(Some(Ok(out))) => {
                            ran += 1;
                            moved += out.changed.len();
                        }
                        Ok(Some(Err(e))) => return Err(e.to_string()),
                        Ok(None) | Err(_) => {}
                    }
                }
            }
            Ok(if ran + applied.len() > 0 {
                format!(
                    "{ran} checks run, {moved} components moved, {} deferred changes applied",
                    applied.len()
                )
            } else {
                String::new()
            })
        })
    }
}
