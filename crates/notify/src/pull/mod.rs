//! Pulling metrics from providers: the `metrics-poll` reconciler (leader-only on
//! PostgreSQL, like every reconciler) and retention pruning.
//!
//! Every `metrics_poll_secs` the poller asks each enabled provider, for each of its metrics,
//! the range from the metric's watermark (the newest bucket it holds) to now, bounded by 28
//! days and cut into chunks the provider accepts (`providers::chunk_buckets`), and stores
//! each chunk as it arrives (`Store::record_poll`), so after any gap — herald or its workers
//! down, the provider down, the network cut — the next successful poll fills all of it, and
//! a poll cut short keeps what it got. No provider is special-cased out of the backfill.
//!
//! Isolation: metrics are polled concurrently (at most [`CONCURRENCY`] at once), each
//! request is bounded by the guarded client's timeout and each metric's whole poll by the
//! poll interval; a provider that hangs, fails or answers garbage gets its error recorded
//! on its own metrics (`last_error`, `last_error_at`) and nothing else waits for it.

pub mod providers;

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::metric::points::{BUCKET_SECS, bucket_of};
use herald_domain::metric::{Metric, Provider};
use herald_store::Store;
use herald_worker::handler::BoxFuture;
use herald_worker::reconcile::Reconciler;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

use crate::egress::GuardedClient;

/// Metrics polled at once.
pub const CONCURRENCY: usize = 8;

/// The poller.
#[derive(Clone)]
pub struct MetricsPoll {
    pub store: Store,
    pub http: GuardedClient,
    pub every: Duration,
}

impl std::fmt::Debug for MetricsPoll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsPoll")
            .field("every", &self.every)
            .finish()
    }
}

/// How one metric's poll went.
#[derive(Debug, Default, Clone, Copy)]
struct Polled {
    points: usize,
    failed: bool,
}

impl MetricsPoll {
    /// Polls every pulled metric once, as of `now`.
    pub async fn poll_all(&self, now: DateTime<Utc>) -> Result<String, String> {
        let work = self
            .store
            .pulled_metrics()
            .await
            .map_err(|e| e.to_string())?;
        let gate = Arc::new(Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (p, metrics) in work {
            let p = Arc::new(p);
            for m in metrics {
                let (me, p, gate) = (self.clone(), p.clone(), gate.clone());
                tasks.spawn(async move {
                    let Ok(_permit) = gate.acquire_owned().await else {
                        return Polled::default();
                    };
                    let deadline = me.every.max(Duration::from_secs(5));
                    match tokio::time::timeout(deadline, me.poll_one(&p, &m, now)).await {
                        Ok(r) => r,
                        Err(_) => {
                            me.failed(&m, "the poll took longer than the poll interval; it continues next time", now)
                                .await;
                            Polled { points: 0, failed: true }
                        }
                    }
                });
            }
        }
        let (mut metrics, mut points, mut failed) = (0, 0, 0);
        while let Some(r) = tasks.join_next().await {
            let r = r.unwrap_or(Polled {
                points: 0,
                failed: true,
            });
            metrics += 1;
            points += r.points;
            failed += usize::from(r.failed);
        }
        Ok(if metrics == 0 {
            String::new()
        } else {
            format!("polled {metrics} metrics: {points} points, {failed} failed")
        })
    }

    async fn failed(&self, m: &Metric, why: &str, now: DateTime<Utc>) {
        tracing::warn!(metric.id = %m.id, page.id = %m.page_id, error = %why, "metric poll failed");
        if let Err(e) = self.store.record_poll_error(&m.id, why, now).await {
            tracing::warn!(metric.id = %m.id, error = %e, "could not record the metric's poll error");
        }
    }

    /// Polls one metric from its watermark to `now`, chunk by chunk.
    async fn poll_one(&self, p: &Provider, m: &Metric, now: DateTime<Utc>) -> Polled {
        let end = bucket_of(now).timestamp();
        let mut from = m.poll_from(now).timestamp();
        let chunk = providers::chunk_buckets(p.kind).max(1);
        let mut got = Polled::default();
        while from <= end {
            let to = (from + (chunk - 1) * BUCKET_SECS).min(end);
            match providers::fetch(&self.http, p, m, from, to).await {
                Ok(points) => {
                    got.points += points.len();
                    let upto = DateTime::from_timestamp(to, 0).unwrap_or(now);
                    if let Err(e) = self.store.record_poll(&m.id, &points, upto, now).await {
                        self.failed(m, &format!("could not store the points: {e}"), now)
                            .await;
                        got.failed = true;
                        return got;
                    }
                }
                Err(why) => {
                    self.failed(m, &why, now).await;
                    got.failed = true;
                    return got;
                }
            }
            from = to + BUCKET_SECS;
        }
        got
    }
}

impl Reconciler for MetricsPoll {
    fn name(&self) -> &'static str {
        "metrics-poll"
    }

    fn period(&self) -> Duration {
        self.every
    }

    fn reconcile(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(self.poll_all(now))
    }
}

/// Deletes points and rollups older than any chart shows (31 days: the month chart's 30
/// and a day's margin).
#[derive(Debug, Clone)]
pub struct PruneMetrics {
    pub store: Store,
}

impl Reconciler for PruneMetrics {
    fn name(&self) -> &'static str {
        "prune-metrics"
    }

    fn period(&self) -> Duration {
        Duration::from_secs(3600)
    }

    fn reconcile(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            let before = (now - TimeDelta::days(31)).timestamp();
            let n = self
                .store
                .prune_metric_points(before)
                .await
                .map_err(|e| e.to_string())?;
            Ok(if n > 0 {
                format!("pruned {n} metric points")
            } else {
                String::new()
            })
        })
    }
}
