//! Herald's Prometheus metrics, every tier's, in one registry served at `/metrics`.
//!
//! Counters and histograms are recorded where things happen (HTTP middleware, the job
//! runner, the reconciler driver); gauges that describe shared state (queue depths, the
//! oldest due job, worker heartbeats, reconciler successes) are read from the database at
//! scrape time by [`Metrics::refresh`], so every node reports the same truth.

use chrono::{DateTime, Utc};
use herald_store::{QueueStats, Store};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type FGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub queue: String,
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub queue: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueStateLabels {
    pub queue: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NameLabels {
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub name: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PageLabels {
    pub page: String,
}

fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

/// Every metric family.
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub jobs: Family<JobLabels, Counter>,
    pub job_duration: Family<KindLabels, Histogram, fn() -> Histogram>,
    pub job_wait: Family<QueueLabels, Histogram, fn() -> Histogram>,
    pub queue_depth: Family<QueueStateLabels, Gauge>,
    pub queue_oldest_due_age: Family<QueueLabels, FGauge>,
    pub worker_heartbeat_age: Family<NameLabels, FGauge>,
    pub reconciler_last_success: Family<NameLabels, FGauge>,
    pub reconciler_runs: Family<OutcomeLabels, Counter>,
    pub snapshot_age: Family<PageLabels, FGauge>,
    pub snapshot_renders: Family<PageLabels, Counter>,
    pub snapshot_compressed: Family<PageLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every family registered, under the `herald` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("herald");
        let m = Self {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency),
            jobs: Family::default(),
            job_duration: Family::new_with_constructor(latency),
            job_wait: Family::new_with_constructor(latency),
            queue_depth: Family::default(),
            queue_oldest_due_age: Family::default(),
            worker_heartbeat_age: Family::default(),
            reconciler_last_success: Family::default(),
            reconciler_runs: Family::default(),
            snapshot_age: Family::default(),
            snapshot_renders: Family::default(),
            snapshot_compressed: Family::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "http_requests",
            "HTTP requests by method, route and status",
            m.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            m.http_duration.clone(),
        );
        r.register(
            "jobs",
            "Job attempts by queue, kind and outcome (completed, retried, discarded, fenced)",
            m.jobs.clone(),
        );
        r.register(
            "job_duration_seconds",
            "How long job attempts ran",
            m.job_duration.clone(),
        );
        r.register(
            "job_wait_seconds",
            "From a job becoming due to a worker starting it",
            m.job_wait.clone(),
        );
        r.register(
            "queue_depth",
            "Unfinished jobs by queue and state",
            m.queue_depth.clone(),
        );
        r.register(
            "queue_oldest_due_age_seconds",
            "How long the oldest available job of each queue has waited",
            m.queue_oldest_due_age.clone(),
        );
        r.register(
            "worker_heartbeat_age_seconds",
            "Seconds since each worker process last heartbeat",
            m.worker_heartbeat_age.clone(),
        );
        r.register(
            "reconciler_last_success_timestamp_seconds",
            "When each reconciler last succeeded (Unix time)",
            m.reconciler_last_success.clone(),
        );
        r.register(
            "reconciler_runs",
            "Reconciler runs by name and outcome",
            m.reconciler_runs.clone(),
        );
        r.register(
            "snapshot_age_seconds",
            "Age of each public page's in-memory snapshot",
            m.snapshot_age.clone(),
        );
        r.register(
            "snapshot_renders",
            "Snapshots of each public page rendered and installed (writes, other nodes' changes, the passing of time)",
            m.snapshot_renders.clone(),
        );
        r.register(
            "snapshot_compressed_bytes",
            "Bytes of each public page's text compressed into new pieces by its renders (what writes cost in compression)",
            m.snapshot_compressed.clone(),
        );
        Self { registry, ..m }
    }

    /// Counts one snapshot of the page `slug` rendered and installed, which compressed
    /// `compressed` bytes into new pieces.
    pub fn snapshot_rendered(&self, slug: &str, compressed: u64) {
        let page = PageLabels {
            page: slug.to_owned(),
        };
        self.snapshot_renders.get_or_create(&page).inc();
        self.snapshot_compressed
            .get_or_create(&page)
            .inc_by(compressed);
    }

    /// Counts one finished job attempt.
    pub fn job_outcome(&self, queue: &str, kind: &str, outcome: &str) {
        self.jobs
            .get_or_create(&JobLabels {
                queue: queue.to_owned(),
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Reads the shared gauges from the database.
    pub async fn refresh(&self, store: &Store, now: DateTime<Utc>) -> herald_store::Result<()> {
        let age = |t: DateTime<Utc>| (now - t).num_milliseconds().max(0) as f64 / 1000.0;
        let stats = store.queue_stats().await?;
        self.queue_depth.clear();
        self.queue_oldest_due_age.clear();
        // Every known queue is reported, at zero when empty: an absent series cannot alert.
        let mut queues: Vec<QueueStats> = herald_store::kinds::queues()
            .into_iter()
            .map(|q| QueueStats {
                queue: q.to_owned(),
                ..QueueStats::default()
            })
            .collect();
        for s in stats {
            match queues.iter_mut().find(|q| q.queue == s.queue) {
                Some(q) => *q = s,
                None => queues.push(s),
            }
        }
        for q in &queues {
            for (state, n) in [
                ("available", q.available),
                ("scheduled", q.scheduled),
                ("retryable", q.retryable),
                ("running", q.running),
            ] {
                self.queue_depth
                    .get_or_create(&QueueStateLabels {
                        queue: q.queue.clone(),
                        state: state.to_owned(),
                    })
                    .set(n);
            }
            self.queue_oldest_due_age
                .get_or_create(&QueueLabels {
                    queue: q.queue.clone(),
                })
                .set(q.oldest_due.map(age).unwrap_or(0.0));
        }
        self.worker_heartbeat_age.clear();
        for (id, at) in store.worker_heartbeats().await? {
            self.worker_heartbeat_age
                .get_or_create(&NameLabels { name: id })
                .set(age(at));
        }
        for run in store.reconciler_runs().await? {
            if let Some(t) = run.last_success_at {
                self.reconciler_last_success
                    .get_or_create(&NameLabels { name: run.name })
                    .set(t.timestamp_millis() as f64 / 1000.0);
            }
        }
        Ok(())
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
