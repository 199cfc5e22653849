//! The job runner: one per worker process. For each queue a few claimers share the queue's
//! slots; each claims a batch of due jobs (as many as there are free slots), runs each in
//! its own task under the kind's deadline (a panic or a timeout is a failed attempt), and
//! hands the outcome to the acker, which commits outcomes in batches, a few transactions at
//! a time. Several claims and acknowledgements in flight keep the database busy when each
//! carries one job; claims do not wait for the disk (see `Store::claim_jobs`). Beside them:
//! a heartbeat (so the sweeper on any node knows this process is alive), and housekeeping
//! that promotes due scheduled/retryable jobs and sweeps the jobs of dead workers and of
//! attempts past their deadline.
//!
//! On SQLite, when outcomes are acknowledged one by one (`ack_batch` 1), each
//! acknowledgement also claims the next job of its queue in the same statement
//! (ack-and-fetch) and passes the finished job's slot to it: one write per job on a
//! database with one writer (see [`ack_batch`]).
//!
//! Wake-up is immediate on enqueue (an in-process signal, and PostgreSQL NOTIFY from other
//! nodes via the listener in `app`), with polling as the fallback. Shutdown stops claiming,
//! lets running jobs finish within a grace period, then hands back what is left.

use chrono::{DateTime, Utc};
use herald_domain::clock::Clock;
use herald_store::{Backend, Finish, Job, Outcome, Store, later};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::backoff::retry_delay;
use crate::handler::{JobContext, JobError, Registry};
use crate::metrics::{KindLabels, Metrics, QueueLabels};

/// How the runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// This process's id in the `workers` table.
    pub worker_id: String,
    pub hostname: String,
    /// Concurrent jobs per queue (queues not named use `default_concurrency`).
    pub concurrency: HashMap<String, usize>,
    pub default_concurrency: usize,
    /// Most jobs claimed at once.
    pub batch: i64,
    /// Claims in flight at once per queue (at most the queue's concurrency).
    pub claimers: usize,
    /// How often an idle fetcher looks for work without being woken.
    pub poll_interval: Duration,
    pub heartbeat_interval: Duration,
    /// A worker silent this long is presumed dead; its jobs are requeued.
    pub stale_after: Duration,
    pub sweep_interval: Duration,
    pub promote_interval: Duration,
    /// Most outcomes committed in one transaction (1: a commit per job).
    pub ack_batch: usize,
    /// Acknowledgement transactions in flight at once.
    pub ack_parallel: usize,
    /// How long running jobs may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Fault injection for tests: start but never claim (the 2017 regression).
    pub never_claim: bool,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            worker_id: herald_domain::id::generate(),
            hostname: "localhost".to_owned(),
            concurrency: HashMap::new(),
            default_concurrency: 16,
            batch: 100,
            claimers: 2,
            poll_interval: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(2),
            stale_after: Duration::from_secs(10),
            sweep_interval: Duration::from_secs(2),
            promote_interval: Duration::from_millis(250),
            ack_batch: 500,
            ack_parallel: 4,
            shutdown_grace: Duration::from_secs(10),
            never_claim: false,
        }
    }
}

/// What readiness checks look at: when each queue's fetcher last looked for work, and when
/// the heartbeat last succeeded (Unix ms; 0: never).
#[derive(Debug, Default)]
pub struct RunnerStatus {
    loops: HashMap<String, AtomicI64>,
    heartbeat: AtomicI64,
}

impl RunnerStatus {
    fn new(queues: &[&str]) -> Self {
        Self {
            loops: queues
                .iter()
                .map(|q| ((*q).to_owned(), AtomicI64::new(0)))
                .collect(),
            heartbeat: AtomicI64::new(0),
        }
    }

    fn touch(&self, queue: &str, now: DateTime<Utc>) {
        if let Some(a) = self.loops.get(queue) {
            a.store(now.timestamp_millis(), Ordering::Relaxed);
        }
    }

    /// The longest any queue's fetcher has gone without looking for work; `None` if one never
    /// has (or there are no queues).
    pub fn stalest_loop(&self, now: DateTime<Utc>) -> Option<Duration> {
        if self.loops.is_empty() {
            return None;
        }
        let oldest = self
            .loops
            .values()
            .map(|a| a.load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        (oldest > 0).then(|| {
            Duration::from_millis(u64::try_from(now.timestamp_millis() - oldest).unwrap_or(0))
        })
    }

    /// Time since the last successful heartbeat; `None` before the first.
    pub fn heartbeat_age(&self, now: DateTime<Utc>) -> Option<Duration> {
        let at = self.heartbeat.load(Ordering::Relaxed);
        (at > 0)
            .then(|| Duration::from_millis(u64::try_from(now.timestamp_millis() - at).unwrap_or(0)))
    }
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    registry: Registry,
    config: RunnerConfig,
    status: Arc<RunnerStatus>,
    metrics: Arc<Metrics>,
}

struct Done {
    queue: String,
    kind: String,
    finish: Finish,
    /// The slot the job held, passed on to the job its acknowledgement claims (`None`:
    /// given back when the job ended; see [`ack_batch`]).
    slot: Option<Slot>,
}

/// A queue slot on its way from a finished job to the next: its permit, and the queue's
/// hand-off to the claimer that starts the jobs claimed for it.
struct Slot {
    permit: OwnedSemaphorePermit,
    handoff: mpsc::UnboundedSender<Claimed>,
}

/// What the acker reports of one outcome: the job's queue, kind and outcome.
type Reported = (String, String, Finish);

/// A job claimed by the acker in the acknowledgement that freed its slot.
struct Claimed {
    job: Job,
    permit: OwnedSemaphorePermit,
}

/// A worker process's job runner.
pub struct Runner {
    inner: Arc<Inner>,
}

impl Runner {
    /// A runner for every queue that has handlers in `registry`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        registry: Registry,
        config: RunnerConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        let status = Arc::new(RunnerStatus::new(&registry.queues()));
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                registry,
                config,
                status,
                metrics,
            }),
        }
    }

    /// What readiness checks read.
    pub fn status(&self) -> Arc<RunnerStatus> {
        self.inner.status.clone()
    }

    /// Runs until `shutdown` is cancelled, then drains and hands back unfinished jobs.
    pub async fn run(self, shutdown: CancellationToken) {
        let inner = self.inner;
        let stop_heartbeat = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat_loop(inner.clone(), stop_heartbeat.clone()));
        let housekeeping = tokio::spawn(housekeeping_loop(inner.clone(), shutdown.clone()));
        let (tx, rx) = mpsc::channel::<Done>(8192);
        let acker = tokio::spawn(ack_loop(inner.clone(), rx, shutdown.clone()));
        let mut fetchers = JoinSet::new();
        if inner.config.never_claim {
            tracing::warn!("fault injection: this worker will never claim a job");
        } else {
            for queue in inner.registry.queues() {
                fetchers.spawn(fetch_loop(
                    inner.clone(),
                    queue,
                    tx.clone(),
                    shutdown.clone(),
                ));
            }
        }
        drop(tx);
        tracing::info!(worker.id = %inner.config.worker_id, queues = ?inner.registry.queues(), "worker started");
        shutdown.cancelled().await;
        while fetchers.join_next().await.is_some() {}
        let _ = acker.await;
        let _ = housekeeping.await;
        match inner
            .store
            .release_worker(&inner.config.worker_id, inner.clock.now())
            .await
        {
            Ok(n) => {
                tracing::info!(worker.id = %inner.config.worker_id, released = n, "worker stopped")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not hand back unfinished jobs; the sweeper will")
            }
        }
        stop_heartbeat.cancel();
        let _ = heartbeat.await;
    }
}

async fn heartbeat_loop(inner: Arc<Inner>, stop: CancellationToken) {
    loop {
        let now = inner.clock.now();
        match inner
            .store
            .worker_heartbeat(&inner.config.worker_id, &inner.config.hostname, now)
            .await
        {
            Ok(()) => inner
                .status
                .heartbeat
                .store(now.timestamp_millis(), Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(inner.config.heartbeat_interval) => {}
            _ = stop.cancelled() => return,
        }
    }
}

async fn housekeeping_loop(inner: Arc<Inner>, shutdown: CancellationToken) {
    let mut last_sweep = Instant::now();
    loop {
        let now = inner.clock.now();
        if let Err(e) = inner.store.promote_due_jobs(now).await {
            tracing::warn!(error = %e, "promoting due jobs failed");
        }
        if last_sweep.elapsed() >= inner.config.sweep_interval {
            last_sweep = Instant::now();
            let stale_before =
                now - chrono::TimeDelta::from_std(inner.config.stale_after).unwrap_or_default();
            match inner.store.sweep_jobs(now, stale_before).await {
                Ok((0, 0)) => {}
                Ok((requeued, discarded)) => tracing::warn!(
                    requeued,
                    discarded,
                    "swept jobs of stopped workers or past their deadline"
                ),
                Err(e) => tracing::warn!(error = %e, "sweeping failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(inner.config.promote_interval) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Runs a queue: its claimers, sharing the queue's slots.
async fn fetch_loop(
    inner: Arc<Inner>,
    queue: &'static str,
    tx: mpsc::Sender<Done>,
    shutdown: CancellationToken,
) {
    let c = &inner.config;
    let concurrency = c
        .concurrency
        .get(queue)
        .copied()
        .unwrap_or(c.default_concurrency)
        .max(1);
    let slots = Arc::new(Semaphore::new(concurrency));
    let (handoff, claimed) = mpsc::unbounded_channel();
    // The first claimer also starts the jobs the acker claims for this queue.
    let mut claimed = Some(claimed);
    let mut claimers = JoinSet::new();
    for _ in 0..c.claimers.clamp(1, concurrency) {
        claimers.spawn(claim_loop(
            inner.clone(),
            queue,
            slots.clone(),
            Channels {
                done: tx.clone(),
                handoff: handoff.clone(),
                claimed: claimed.take(),
            },
            shutdown.clone(),
        ));
    }
    drop(handoff);
    while claimers.join_next().await.is_some() {}
}

/// Where a claimer's jobs report, and (for one claimer per queue) the jobs the acker claimed.
struct Channels {
    done: mpsc::Sender<Done>,
    handoff: mpsc::UnboundedSender<Claimed>,
    claimed: Option<mpsc::UnboundedReceiver<Claimed>>,
}

/// The next job the acker claimed, or never for a claimer that does not start them.
async fn next_claimed(rx: &mut Option<mpsc::UnboundedReceiver<Claimed>>) -> Option<Claimed> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// One claimer: waits for free slots, claims that many jobs and starts them; when the queue
/// is empty, sleeps until woken by an enqueue or the poll interval. The first claimer of a
/// queue also starts the jobs the acker claimed for slots it passed on.
async fn claim_loop(
    inner: Arc<Inner>,
    queue: &'static str,
    slots: Arc<Semaphore>,
    mut ch: Channels,
    shutdown: CancellationToken,
) {
    let c = &inner.config;
    let mut tasks = JoinSet::new();
    let signal = inner.store.jobs_signal(queue);
    let start = |tasks: &mut JoinSet<()>, job: Job, permit: OwnedSemaphorePermit| {
        let slot = Slot {
            permit,
            handoff: ch.handoff.clone(),
        };
        tasks.spawn(run_one(inner.clone(), job, slot, ch.done.clone()));
    };
    while !shutdown.is_cancelled() {
        inner.status.touch(queue, inner.clock.now());
        while tasks.try_join_next().is_some() {}
        // Wait for a free slot, but come back regularly so the status stays fresh.
        let first = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            Some(claimed) = next_claimed(&mut ch.claimed) => {
                start(&mut tasks, claimed.job, claimed.permit);
                continue;
            }
            _ = tokio::time::sleep(c.poll_interval) => continue,
            _ = shutdown.cancelled() => break,
        };
        let mut permits = vec![first];
        while (permits.len() as i64) < c.batch {
            match slots.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        let woken = signal.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let jobs = match inner
            .store
            .claim_jobs(queue, &c.worker_id, permits.len() as i64, inner.clock.now())
            .await
        {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(queue, error = %e, "claiming jobs failed");
                drop(permits);
                tokio::select! {
                    _ = tokio::time::sleep(c.poll_interval) => {}
                    _ = shutdown.cancelled() => break,
                }
                continue;
            }
        };
        if jobs.is_empty() {
            drop(permits);
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(c.poll_interval) => {}
                _ = shutdown.cancelled() => break,
            }
            continue;
        }
        for (job, permit) in jobs.into_iter().zip(permits.drain(..)) {
            start(&mut tasks, job, permit);
        }
    }
    // Stop claiming; let running jobs finish within the grace period. Jobs the acker claimed
    // and nobody started are handed back with the rest when the runner stops.
    drop(ch);
    let drained = tokio::time::timeout(c.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            queue,
            "jobs still running at the end of the shutdown grace period; handing them back"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

async fn run_one(inner: Arc<Inner>, job: Job, slot: Slot, tx: mpsc::Sender<Done>) {
    let started = Instant::now();
    let now = inner.clock.now();
    let waited = (now - job.run_at).num_milliseconds().max(0) as f64 / 1000.0;
    inner
        .metrics
        .job_wait
        .get_or_create(&QueueLabels {
            queue: job.queue.clone(),
        })
        .observe(waited);
    let outcome = match inner.registry.get(&job.kind) {
        None => Outcome::Discard {
            error: format!("no handler for job kind {:?}", job.kind),
        },
        Some(reg) => {
            let ctx = JobContext {
                job: job.clone(),
                worker_id: inner.config.worker_id.clone(),
                store: inner.store.clone(),
                clock: inner.clock.clone(),
            };
            let handler = reg.handler.clone();
            // Its own task, so a panic is caught as a failed attempt, not a dead worker.
            let mut attempt = tokio::spawn(async move { handler.run(&ctx).await });
            let result = tokio::time::timeout(job.timeout, &mut attempt).await;
            let end = inner.clock.now();
            let retry = |error: String, retry_after: Option<Duration>| {
                let delay = retry_delay(
                    job.attempt,
                    reg.spec.backoff_base,
                    reg.spec.backoff_cap,
                    retry_after,
                    &mut rand::rng(),
                );
                Outcome::Retry {
                    at: later(end, delay),
                    error,
                }
            };
            match result {
                Err(_) => {
                    attempt.abort();
                    retry(
                        format!(
                            "the attempt exceeded its {} s deadline",
                            job.timeout.as_secs_f64()
                        ),
                        None,
                    )
                }
                Ok(Err(join)) => retry(
                    if join.is_panic() {
                        "the handler panicked".to_owned()
                    } else {
                        join.to_string()
                    },
                    None,
                ),
                Ok(Ok(Ok(()))) => Outcome::Completed,
                Ok(Ok(Err(JobError::Retryable { error, retry_after }))) => {
                    retry(error, retry_after)
                }
                Ok(Ok(Err(JobError::Permanent(error)))) => Outcome::Discard { error },
                Ok(Ok(Err(JobError::Snooze(d)))) => Outcome::Snooze { at: later(end, d) },
            }
        }
    };
    inner
        .metrics
        .job_duration
        .get_or_create(&KindLabels {
            queue: job.queue.clone(),
            kind: job.kind.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    if let Outcome::Retry { error, .. } | Outcome::Discard { error } = &outcome {
        tracing::warn!(job.id = job.id, job.kind = %job.kind, attempt = job.attempt, error = %error, "job attempt failed");
    }
    let done = Done {
        queue: job.queue,
        kind: job.kind,
        finish: Finish {
            id: job.id,
            attempt: job.attempt,
            outcome,
        },
        // Only lone acknowledgements on SQLite claim the next job (see `ack_batch`); other
        // slots are free once their job has ended.
        slot: (inner.config.ack_batch == 1 && inner.store.backend() == Backend::Sqlite)
            .then_some(slot),
    };
    // If the acker is gone (shutdown), the lease expires and the job runs again.
    let _ = tx.send(done).await;
}

/// Commits outcomes: up to `ack_parallel` transactions at once, each taking what has
/// arrived (up to `ack_batch`) when it starts, so outcomes pile into bigger batches while
/// the database is busy.
async fn ack_loop(inner: Arc<Inner>, mut rx: mpsc::Receiver<Done>, shutdown: CancellationToken) {
    let max = inner.config.ack_batch.max(1);
    let parallel = inner.config.ack_parallel.max(1);
    let mut acks = JoinSet::new();
    loop {
        while acks.try_join_next().is_some() {}
        if acks.len() >= parallel {
            acks.join_next().await;
            continue;
        }
        let Some(first) = rx.recv().await else { break };
        let mut batch = vec![first];
        while batch.len() < max {
            match rx.try_recv() {
                Ok(d) => batch.push(d),
                Err(_) => break,
            }
        }
        acks.spawn(ack_batch(inner.clone(), batch, shutdown.clone()));
    }
    while acks.join_next().await.is_some() {}
}

/// Commits one batch of outcomes (retrying while the database is unreachable) and counts
/// them, and gives their slots back.
///
/// On SQLite, when outcomes are acknowledged one by one (`ack_batch` 1), the acknowledgement
/// also claims the next job of its queue in the same statement (ack-and-fetch) and hands it
/// to the queue's claimer with the job's slot: one write per job instead of a claim and an
/// acknowledgement, and SQLite's single writer is what bounds such a queue. Elsewhere a slot
/// goes back as soon as its job ends: batches are claimed a batch at a time anyway, and on
/// PostgreSQL claims and acknowledgements run side by side on their own connections (claims
/// without waiting for the disk), so a slot that waited for the commit would only sit idle
/// (both measured in `bench/RESULTS.md`). Nothing is claimed once the runner is stopping.
async fn ack_batch(inner: Arc<Inner>, batch: Vec<Done>, shutdown: CancellationToken) {
    let (done, mut slots): (Vec<Reported>, Vec<Option<Slot>>) = batch
        .into_iter()
        .map(|d| ((d.queue, d.kind, d.finish), d.slot))
        .unzip();
    let ride = matches!(slots.as_slice(), [Some(_)]) && !shutdown.is_cancelled();
    if !ride {
        // Free slots go back at once, not after the commit.
        slots.clear();
    }
    let finishes: Vec<Finish> = done.iter().map(|(_, _, f)| f.clone()).collect();
    let queue = done.first().map(|(q, _, _)| q.as_str()).unwrap_or_default();
    let worker = &inner.config.worker_id;
    let mut tries = 0;
    let result = loop {
        match inner
            .store
            .finish_and_claim(&finishes, queue, worker, i64::from(ride), inner.clock.now())
            .await
        {
            Ok(r) => break Some(r),
            Err(e) if tries < 20 => {
                tries += 1;
                tracing::warn!(error = %e, "recording job outcomes failed; retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = finishes.len(), "could not record job outcomes; their leases will expire and they will run again");
                break None;
            }
        }
    };
    let Some((report, claimed)) = result else {
        return;
    };
    for (queue, kind, finish) in &done {
        let outcome = if report.fenced.contains(&finish.id) {
            "fenced"
        } else if report.discarded.contains(&finish.id) {
            "discarded"
        } else {
            match finish.outcome {
                Outcome::Completed => "completed",
                Outcome::Retry { .. } => "retried",
                Outcome::Discard { .. } => "discarded",
                Outcome::Snooze { .. } => "snoozed",
            }
        };
        inner.metrics.job_outcome(queue, kind, outcome);
    }
    // A claimer gone (stopping) drops what it is handed: the runner hands those jobs back
    // when it stops.
    for (job, slot) in claimed.into_iter().zip(slots.into_iter().flatten()) {
        let _ = slot.handoff.send(Claimed {
            job,
            permit: slot.permit,
        });
    }
}
