//! The durable job queue's storage: enqueue (inside any write transaction), claim with a
//! lease, finish with a fencing check, promote, sweep, prune, and dead letters.
//!
//! Claiming locks rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers on many nodes
//! never take the same job; on SQLite the single writer connection serialises claims. A job's
//! `attempt`, incremented at claim, is its fencing token: [`Store::finish_jobs`] only applies
//! an outcome whose attempt matches a job that is still running, so a worker that lost its
//! lease (swept after missing heartbeats) can never complete a job someone else now runs.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::id::PageId;
use serde_json::{Value, json};
use std::time::Duration;

use crate::columns::cols;
use crate::db::{One, SqlBuilder, Tx, args};
use crate::write::Write;
use crate::{Result, Store, StoreError};

mod claim;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its `run_at`.
    Scheduled,
    /// Ready to be claimed.
    Available,
    /// Claimed by a worker, under a lease.
    Running,
    /// Done.
    Completed,
    /// Failed; will be retried at `run_at`.
    Retryable,
    /// Failed for good (permanent error or attempts exhausted): the dead letters.
    Discarded,
    /// Withdrawn before it ran.
    Cancelled,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 7] = [
        Self::Scheduled,
        Self::Available,
        Self::Running,
        Self::Completed,
        Self::Retryable,
        Self::Discarded,
        Self::Cancelled,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Available => "available",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Retryable => "retryable",
            Self::Discarded => "discarded",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| StoreError::Internal(format!("job state {s:?}")))
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Named queue; each has its own workers and concurrency.
    pub queue: String,
    /// What handler runs it.
    pub kind: String,
    /// The page it works for: jobs are served round-robin across pages.
    pub page_id: Option<String>,
    pub payload: Value,
    /// Attempts before it is discarded.
    pub max_attempts: i64,
    /// How long one attempt may take before it counts as failed.
    pub timeout: Duration,
    /// Not before this time (`None`: now).
    pub run_at: Option<DateTime<Utc>>,
    /// Idempotency key: a second job with the same key is not enqueued.
    pub unique_key: Option<String>,
}

impl NewJob {
    /// A job with defaults: 25 attempts, a 30 s timeout, due now, no unique key.
    pub fn new(queue: &str, kind: &str, payload: Value) -> Self {
        Self {
            queue: queue.to_owned(),
            kind: kind.to_owned(),
            page_id: None,
            payload,
            max_attempts: 25,
            timeout: Duration::from_secs(30),
            run_at: None,
            unique_key: None,
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub page_id: Option<String>,
    pub payload: Value,
    pub state: JobState,
    pub attempt: i64,
    pub max_attempts: i64,
    pub timeout: Duration,
    pub run_at: DateTime<Utc>,
    pub unique_key: Option<String>,
    pub lease_owner: Option<String>,
    pub attempted_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    queue: String,
    kind: String,
    page_id: Option<String>,
    payload: String,
    state: String,
    attempt: i64,
    max_attempts: i64,
    timeout_ms: i64,
    run_at: i64,
    unique_key: Option<String>,
    lease_owner: Option<String>,
    attempted_at: Option<i64>,
    finished_at: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
}

impl JobRow {
    fn into_job(self) -> Result<Job> {
        Ok(Job {
            state: JobState::parse(&self.state)?,
            payload: serde_json::from_str(&self.payload).unwrap_or(Value::Null),
            timeout: Duration::from_millis(u64::try_from(self.timeout_ms).unwrap_or(0)),
            run_at: from_ms(self.run_at),
            attempted_at: self.attempted_at.map(from_ms),
            finished_at: self.finished_at.map(from_ms),
            created_at: from_ms(self.created_at),
            id: self.id,
            queue: self.queue,
            kind: self.kind,
            page_id: self.page_id,
            attempt: self.attempt,
            max_attempts: self.max_attempts,
            unique_key: self.unique_key,
            lease_owner: self.lease_owner,
            last_error: self.last_error,
        })
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done.
    Completed,
    /// Failed; try again at `at` (or discard if attempts are exhausted).
    Retry { at: DateTime<Utc>, error: String },
    /// Failed for good.
    Discard { error: String },
    /// Not attempted (the handler chose to wait): run again at `at`, and give the attempt
    /// back (`attempt` goes down by one, so snoozes never exhaust `max_attempts`).
    Snooze { at: DateTime<Utc> },
}

/// The outcome of one claimed attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    pub id: i64,
    /// The attempt the worker claimed (its fencing token).
    pub attempt: i64,
    pub outcome: Outcome,
}

/// What [`Store::finish_jobs`] did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FinishReport {
    /// Outcomes applied.
    pub applied: usize,
    /// Outcomes refused because the lease was lost (another attempt owns the job now).
    pub fenced: Vec<i64>,
    /// Jobs this report discarded (retries out of attempts included).
    pub discarded: Vec<i64>,
}

/// The last run of a reconciler.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcilerRun {
    pub name: String,
    /// The node (worker id) that ran it: the leader at the time.
    pub node: String,
    pub last_run_at: DateTime<Utc>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Jobs per state of one queue, and how long its oldest due job has waited.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueStats {
    pub queue: String,
    pub available: i64,
    pub scheduled: i64,
    pub retryable: i64,
    pub running: i64,
    /// `run_at` of the oldest available job.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// Jobs of one (queue, page), to number together.
type Group<'a> = ((&'a str, Option<&'a str>), Vec<&'a NewJob>);

const MAX_ROWS_PER_INSERT: usize = 1000;
/// Completions acknowledged per statement (two parameters each).
const COMPLETIONS_PER_STATEMENT: usize = MAX_ROWS_PER_INSERT / 2;

const MAX_ERROR_LEN: usize = 2000;

fn clip(e: &str) -> String {
    e.chars().take(MAX_ERROR_LEN).collect()
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The channel that tells workers on every node that jobs are ready (PostgreSQL delivers a
/// notification when its transaction commits; SQLite has one node, woken in-process). The
/// payload names the queues, comma-separated (a write's commit sends it: `write.rs`); empty,
/// it means any queue.
macro_rules! jobs_channel {
    () => {
        "herald_jobs"
    };
}
pub(crate) use jobs_channel;

/// Tells workers on every node that jobs of any queue may be ready.
async fn notify_jobs(tx: &mut Tx) -> Result<()> {
    if let Tx::Pg(_) = tx {
        tx.execute(
            concat!("SELECT pg_notify('", jobs_channel!(), "', '')"),
            vec![],
        )
        .await?;
    }
    Ok(())
}

/// The states of jobs that are still to run (a page's backlog), as an SQL list.
macro_rules! live_states {
    () => {
        "('available', 'scheduled', 'retryable', 'running')"
    };
}

/// Appends the query of the last `fair_seq` (as `v`) of the backlog of `queue` for `page`.
fn push_backlog_end(sql: &mut SqlBuilder, queue: &str, page: Option<&str>) {
    sql.push("SELECT CAST(COALESCE(MAX(fair_seq), 0) AS BIGINT) AS v FROM jobs WHERE queue = ")
        .bind(queue);
    match page {
        Some(p) => sql.push(" AND page_id = ").bind(p),
        None => sql.push(" AND page_id IS NULL"),
    };
    sql.push(concat!(" AND state IN ", live_states!()));
}

/// The last `fair_seq` of the backlog of `queue` for `page`.
async fn backlog_end(tx: &mut Tx, queue: &str, page: Option<&str>) -> Result<i64> {
    let mut sql = SqlBuilder::default();
    push_backlog_end(&mut sql, queue, page);
    let (text, a) = sql.finish();
    let end: One<i64> = tx.fetch_one(text, a).await?;
    Ok(end.v)
}

/// Enqueues `jobs` inside a write transaction (whose commit wakes their queues' workers).
/// Returns the ids of those inserted (jobs whose unique key already exists are skipped).
/// Jobs of one (queue, page) get consecutive `fair_seq` numbers after that page's current
/// backlog.
pub(crate) async fn enqueue_tx(
    tx: &mut Tx,
    jobs: &[NewJob],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let mut inserted = Vec::new();
    // Group by (queue, page) to number each page's backlog.
    let mut groups: Vec<Group<'_>> = Vec::new();
    for j in jobs {
        let key = (j.queue.as_str(), j.page_id.as_deref());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(j),
            None => groups.push((key, vec![j])),
        }
    }
    // On PostgreSQL each insert numbers its rows after the backlog it reads itself (a CTE:
    // one statement, not two, while a write holds its page's lock); SQLite's statements are
    // local calls, and a statement there could see its own rows.
    let pg = matches!(tx, Tx::Pg(_));
    for ((queue, page), group) in groups {
        let mut seq = if pg {
            0
        } else {
            backlog_end(tx, queue, page).await?
        };
        for chunk in group.chunks(MAX_ROWS_PER_INSERT) {
            let mut sql = SqlBuilder::default();
            if pg {
                seq = 0;
                sql.push("WITH backlog AS (");
                push_backlog_end(&mut sql, queue, page);
                sql.push(") ");
            }
            sql.push(
                "INSERT INTO jobs (queue, kind, page_id, payload, state, attempt, max_attempts, timeout_ms, fair_seq, run_at, unique_key, created_at) VALUES ",
            );
            for (i, j) in chunk.iter().enumerate() {
                seq += 1;
                let run_at = j.run_at.unwrap_or(now).max(now);
                let state = if run_at > now {
                    "scheduled"
                } else {
                    "available"
                };
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(&j.queue)
                    .push(", ")
                    .bind(&j.kind)
                    .push(", ")
                    .bind(j.page_id.as_deref())
                    .push(", ");
                sql.bind(j.payload.to_string())
                    .push(", ")
                    .bind(state)
                    .push(", 0, ")
                    .bind(j.max_attempts.max(1));
                sql.push(", ")
                    .bind(ms(j.timeout).max(1))
                    .push(if pg {
                        ", (SELECT v FROM backlog) + "
                    } else {
                        ", "
                    })
                    .bind(seq)
                    .push(", ")
                    .bind(run_at);
                sql.push(", ")
                    .bind(j.unique_key.as_deref())
                    .push(", ")
                    .bind(now)
                    .push(")");
            }
            sql.push(" ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING RETURNING id AS v");
            let (text, a) = sql.finish();
            let ids: Vec<One<i64>> = tx.fetch_all(text, a).await?;
            inserted.extend(ids.into_iter().map(|r| r.v));
        }
    }
    Ok(inserted)
}

impl Store {
    /// Enqueues jobs in their own transaction (most jobs are enqueued by the write that
    /// causes them, inside its transaction). Returns the ids of the jobs inserted (a job
    /// whose unique key exists already is not).
    pub async fn enqueue(&self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<Vec<i64>> {
        let actor = Actor::system("queue");
        let mut w = Write::begin(self, &actor, now).await?;
        let n = w.enqueue(jobs).await?;
        w.commit().await?;
        Ok(n)
    }

    /// Makes scheduled and retryable jobs whose time has come available. Returns how many.
    pub async fn promote_due_jobs(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE jobs SET state = 'available' WHERE state IN ('scheduled', 'retryable') AND run_at <= $1",
                args![now],
            )
            .await?;
        if n > 0 {
            notify_jobs(&mut tx).await?;
        }
        tx.commit().await?;
        if n > 0 {
            self.signals.jobs_enqueued();
        }
        Ok(n)
    }

    /// Takes back the jobs of workers silent since `stale_before` and of attempts past their
    /// deadline: they become retryable at once (or discarded if out of attempts). Returns
    /// (requeued, discarded).
    pub async fn sweep_jobs(
        &self,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<(u64, u64)> {
        let mut tx = self.db.begin().await?;
        let rows: Vec<One<String>> = tx
            .fetch_all(
                "UPDATE jobs SET \
                   state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END, \
                   finished_at = CASE WHEN attempt >= max_attempts THEN $1 ELSE NULL END, \
                   run_at = $1, lease_owner = NULL, lease_expires_at = NULL, \
                   last_error = CASE WHEN lease_expires_at < $1 THEN 'the attempt exceeded its deadline' \
                                     ELSE 'the worker running it stopped (no heartbeat)' END \
                 WHERE state = 'running' AND (lease_expires_at < $1 OR lease_owner NOT IN \
                   (SELECT id FROM workers WHERE heartbeat_at >= $2)) \
                 RETURNING state AS v",
                args![now, stale_before],
            )
            .await?;
        tx.commit().await?;
        let discarded = rows.iter().filter(|r| r.v == "discarded").count() as u64;
        Ok((rows.len() as u64 - discarded, discarded))
    }

    /// Records that `worker` is alive, with this build's release and the newest migration it
    /// knows (for `migrate_contract`).
    pub async fn worker_heartbeat(
        &self,
        worker: &str,
        hostname: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO workers (id, hostname, started_at, heartbeat_at, release, schema_known) \
             VALUES ($1, $2, $3, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, \
             release = excluded.release, schema_known = excluded.schema_known",
            args![
                worker,
                hostname,
                now,
                crate::schema::release(),
                crate::migrations::latest()
            ],
        )
        .await?;
        tx.commit().await
    }

    /// A stopping worker hands its unfinished jobs back (without spending their attempt) and
    /// leaves the worker list. Returns how many jobs it released.
    pub async fn release_worker(&self, worker: &str, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "UPDATE jobs SET state = 'available', attempt = attempt - 1, run_at = $2, lease_owner = NULL, \
                   lease_expires_at = NULL WHERE state = 'running' AND lease_owner = $1",
                args![worker, now],
            )
            .await?;
        tx.execute("DELETE FROM workers WHERE id = $1", args![worker])
            .await?;
        tx.commit().await?;
        if n > 0 {
            self.signals.jobs_enqueued();
        }
        Ok(n)
    }

    /// Each worker's last heartbeat.
    pub async fn worker_heartbeats(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
        #[derive(sqlx::FromRow)]
        struct W {
            id: String,
            heartbeat_at: i64,
        }
        let rows: Vec<W> = self
            .db
            .read("SELECT id, heartbeat_at FROM workers ORDER BY id", vec![])
            .await?;
        Ok(rows
            .into_iter()
            .map(|w| (w.id, from_ms(w.heartbeat_at)))
            .collect())
    }

    /// Per-queue counts of unfinished jobs and the age of each queue's oldest due job.
    pub async fn queue_stats(&self) -> Result<Vec<QueueStats>> {
        #[derive(sqlx::FromRow)]
        struct S {
            queue: String,
            state: String,
            n: i64,
            oldest: Option<i64>,
        }
        let rows: Vec<S> = self
            .db
            .read(
                "SELECT queue, state, CAST(COUNT(*) AS BIGINT) AS n, MIN(run_at) AS oldest FROM jobs \
                 WHERE state IN ('available', 'scheduled', 'retryable', 'running') GROUP BY queue, state ORDER BY queue",
                vec![],
            )
            .await?;
        let mut out: Vec<QueueStats> = Vec::new();
        for r in rows {
            if out.last().is_none_or(|q| q.queue != r.queue) {
                out.push(QueueStats {
                    queue: r.queue.clone(),
                    ..QueueStats::default()
                });
            }
            if let Some(q) = out.last_mut() {
                match r.state.as_str() {
                    "available" => {
                        q.available = r.n;
                        q.oldest_due = r.oldest.map(from_ms);
                    }
                    "scheduled" => q.scheduled = r.n,
                    "retryable" => q.retryable = r.n,
                    _ => q.running = r.n,
                }
            }
        }
        Ok(out)
    }

    /// The `run_at` of the oldest available job in any queue: how long work has waited.
    pub async fn oldest_due_job(&self) -> Result<Option<DateTime<Utc>>> {
        let row: Option<One<Option<i64>>> = self
            .db
            .read_opt(
                "SELECT MIN(run_at) AS v FROM jobs WHERE state = 'available'",
                vec![],
            )
            .await?;
        Ok(row.and_then(|r| r.v).map(from_ms))
    }

    /// One job.
    pub async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        let row: Option<JobRow> = self
            .db
            .read_opt(
                concat!("SELECT ", cols!(jobs), " FROM jobs WHERE id = $1"),
                args![id],
            )
            .await?;
        row.map(JobRow::into_job).transpose()
    }

    /// Jobs in `state`, newest first (`Discarded`: the dead letters), optionally only those
    /// of some pages.
    pub async fn list_jobs(&self, state: JobState, limit: i64) -> Result<Vec<Job>> {
        self.list_jobs_of(state, None, limit).await
    }

    /// Like [`Store::list_jobs`], only jobs of `pages` when given.
    pub async fn list_jobs_of(
        &self,
        state: JobState,
        pages: Option<&[PageId]>,
        limit: i64,
    ) -> Result<Vec<Job>> {
        let mut sql = SqlBuilder::new(concat!("SELECT ", cols!(jobs), " FROM jobs WHERE state = "));
        sql.bind(state.as_str());
        if let Some(pages) = pages {
            if pages.is_empty() {
                return Ok(Vec::new());
            }
            sql.push(" AND page_id IN ").bind_list(pages);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .bind(limit.clamp(1, 10_000));
        let (text, args) = sql.finish();
        let rows: Vec<JobRow> = self.db.read(text, args).await?;
        rows.into_iter().map(JobRow::into_job).collect()
    }

    /// Puts a discarded (or cancelled) job back in its queue with a fresh set of attempts;
    /// its id, payload and unique key stay, so a redelivery carries the same idempotency id.
    pub async fn replay_job(&self, id: i64, actor: &Actor, now: DateTime<Utc>) -> Result<Job> {
        let mut w = Write::begin(self, actor, now).await?;
        let n = w
            .tx
            .execute(
                "UPDATE jobs SET state = 'available', attempt = 0, run_at = $2, finished_at = NULL, last_error = NULL \
                 WHERE id = $1 AND state IN ('discarded', 'cancelled')",
                args![id, now],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        w.audit(
            None,
            "job.replay",
            "job",
            &id.to_string(),
            json!({"state": ["discarded", "available"]}),
        )
        .await?;
        w.commit().await?;
        self.signals.jobs_enqueued();
        self.get_job(id).await?.ok_or(StoreError::NotFound)
    }

    /// Cancels a job that has not started.
    pub async fn cancel_job(&self, id: i64, actor: &Actor, now: DateTime<Utc>) -> Result<Job> {
        let mut w = Write::begin(self, actor, now).await?;
        let n = w
            .tx
            .execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = $2 WHERE id = $1 AND state IN ('available', 'scheduled', 'retryable')",
                args![id, now],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        w.audit(
            None,
            "job.cancel",
            "job",
            &id.to_string(),
            json!({"state": [null, "cancelled"]}),
        )
        .await?;
        w.commit().await?;
        self.get_job(id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes finished jobs: completed and cancelled ones finished before `done_before`,
    /// discarded ones before `dead_before`; also forgets workers and canary runs older than
    /// `done_before`. Returns the number of jobs deleted.
    pub async fn prune_jobs(
        &self,
        done_before: DateTime<Utc>,
        dead_before: DateTime<Utc>,
    ) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "DELETE FROM jobs WHERE (state IN ('completed', 'cancelled') AND finished_at < $1) \
                 OR (state = 'discarded' AND finished_at < $2)",
                args![done_before, dead_before],
            )
            .await?;
        tx.execute(
            "DELETE FROM workers WHERE heartbeat_at < $1",
            args![done_before],
        )
        .await?;
        tx.execute("DELETE FROM canary_runs WHERE at < $1", args![done_before])
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Records what a reconciler run did.
    pub async fn record_reconciler_run(
        &self,
        name: &str,
        node: &str,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO reconciler_runs (name, node, last_run_at, last_success_at, last_error) \
             VALUES ($1, $2, $3, CASE WHEN $4 IS NULL THEN $3 ELSE NULL END, $4) \
             ON CONFLICT (name) DO UPDATE SET node = excluded.node, last_run_at = excluded.last_run_at, \
               last_success_at = COALESCE(excluded.last_success_at, reconciler_runs.last_success_at), \
               last_error = excluded.last_error",
            args![name, node, now, error.map(clip)],
        )
        .await?;
        tx.commit().await
    }

    /// Each reconciler's last run.
    pub async fn reconciler_runs(&self) -> Result<Vec<ReconcilerRun>> {
        #[derive(sqlx::FromRow)]
        struct RunRow {
            name: String,
            node: String,
            last_run_at: i64,
            last_success_at: Option<i64>,
            last_error: Option<String>,
        }
        let rows: Vec<RunRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(reconciler_runs),
                    " FROM reconciler_runs ORDER BY name"
                ),
                vec![],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ReconcilerRun {
                name: r.name,
                node: r.node,
                last_run_at: from_ms(r.last_run_at),
                last_success_at: r.last_success_at.map(from_ms),
                last_error: r.last_error,
            })
            .collect())
    }

    /// Records one execution of a canary job.
    pub async fn record_canary_run(
        &self,
        job_id: i64,
        nonce: &str,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO canary_runs (job_id, nonce, worker_id, at) VALUES ($1, $2, $3, $4)",
            args![job_id, nonce, worker, now],
        )
        .await?;
        tx.commit().await
    }

    /// Executions of the canary jobs with this nonce: (job id, worker, time).
    pub async fn canary_runs(&self, nonce: &str) -> Result<Vec<(i64, String, DateTime<Utc>)>> {
        #[derive(sqlx::FromRow)]
        struct C {
            job_id: i64,
            worker_id: String,
            at: i64,
        }
        let rows: Vec<C> = self
            .db
            .read(
                "SELECT job_id, worker_id, at FROM canary_runs WHERE nonce = $1 ORDER BY id",
                args![nonce],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|c| (c.job_id, c.worker_id, from_ms(c.at)))
            .collect())
    }
}

/// `now` plus `d`, saturating.
pub fn later(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now)
}

impl Store {
    /// Relays PostgreSQL `NOTIFY herald_jobs` (sent by commits that enqueue jobs on any node)
    /// to this process's workers, until `shutdown`. Reconnects after errors; a lost
    /// notification only delays work until the next poll. Returns at once on SQLite, where
    /// every enqueue happens in this process.
    pub async fn relay_job_notifications(&self, shutdown: impl std::future::Future<Output = ()>) {
        let crate::db::Db::Postgres(pool, _) = &self.db else {
            return;
        };
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                r = relay(pool, &self.signals) => {
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "job notifications: listener failed; reconnecting");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                _ = &mut shutdown => return,
            }
        }
    }
}

async fn relay(pool: &sqlx::PgPool, signals: &crate::Signals) -> Result<(), sqlx::Error> {
    let mut l = sqlx::postgres::PgListener::connect_with(pool).await?;
    l.listen(jobs_channel!()).await?;
    loop {
        let n = l.recv().await?;
        match n.payload() {
            "" => signals.jobs_enqueued(),
            queues => signals.jobs_enqueued_in(queues.split(',')),
        }
    }
}
