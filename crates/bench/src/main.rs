//! `queue-bench`: measures herald's job queue through its public API and the real runner
//! (`herald_worker::Runner`), and the raw-SQLite reference (rusqlite inserts). Each
//! subcommand prints one JSON object per measurement on stdout; `summarize` turns those
//! lines (herald's and the graphile-worker peer's, `bench/graphile/bench.js`) into a table
//! of medians and spreads. `bench/queue.sh` drives it all, alternating herald and its peers.
//!
//! Every measurement starts from a throwaway database: a SQLite file in a temporary
//! directory, or a PostgreSQL database `herald_bench_*` created (and dropped) on the server
//! given, so nothing collides with the test suite.
#![forbid(unsafe_code)]
#![expect(
    clippy::print_stdout,
    reason = "a benchmark's results are its standard output"
)]

mod summary;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use herald_domain::clock::{Clock, SystemClock};
use herald_store::kinds::KindSpec;
use herald_store::{DbOptions, NewJob, Store};
use herald_worker::metrics::JobLabels;
use herald_worker::{
    BoxFuture, Handler, JobContext, JobError, Metrics, Registry, Runner, RunnerConfig,
};
use serde_json::{Value, json};
use sqlx::Connection;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The no-op job every drain measurement runs.
const NOOP: KindSpec = KindSpec {
    name: "bench_noop",
    queue: "bench",
    max_attempts: 25,
    timeout: Duration::from_secs(30),
    backoff_base: Duration::from_secs(1),
    backoff_cap: Duration::from_secs(30),
};

/// Jobs per enqueue transaction when filling a backlog.
const ENQUEUE_CHUNK: usize = 10_000;

#[derive(Parser)]
#[command(name = "queue-bench", about = "Benchmarks of herald's job queue")]
struct Cli {
    /// PostgreSQL server (no database name): the benchmark creates `herald_bench_*` there.
    #[arg(
        long,
        global = true,
        env = "BENCH_PG_SERVER",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pg_server: String,
    /// Label of this measurement round (copied into every JSON line).
    #[arg(long, global = true, default_value_t = 1)]
    round: u32,
    /// The runner's claims in flight per queue (default: the runner's default).
    #[arg(long, global = true)]
    claimers: Option<usize>,
    /// The runner's acknowledgement transactions in flight (default: the runner's default).
    #[arg(long, global = true)]
    ack_parallel: Option<usize>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
}

impl BackendArg {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// One job per claim transaction and one per acknowledgement transaction.
    PerJob,
    /// Claims of up to `--batch` jobs, acknowledgements of up to `--ack-batch`.
    Batched,
}

#[derive(Subcommand)]
enum Cmd {
    /// Enqueue `--jobs` no-op jobs, then time the runner draining them all.
    Drain {
        #[arg(long, value_enum)]
        backend: BackendArg,
        #[arg(long, value_enum)]
        mode: Mode,
        #[arg(long, default_value_t = 10_000)]
        jobs: usize,
        /// Concurrent jobs (the runner's slots for the queue).
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Most jobs per claim (batched mode).
        #[arg(long, default_value_t = 100)]
        batch: i64,
        /// Most outcomes per acknowledgement transaction (batched mode).
        #[arg(long, default_value_t = 500)]
        ack_batch: usize,
    },
    /// Drain rate from a small backlog against the same from a large one, alternating
    /// (the large backlog is filled once and drained `--measure` jobs per round).
    Backlog {
        #[arg(long, value_enum)]
        backend: BackendArg,
        #[arg(long, default_value_t = 10_000)]
        small: usize,
        #[arg(long, default_value_t = 1_000_000)]
        large: usize,
        /// Completions timed in each measurement.
        #[arg(long, default_value_t = 10_000)]
        measure: u64,
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        #[arg(long, default_value_t = 100)]
        concurrency: usize,
        #[arg(long, default_value_t = 100)]
        batch: i64,
        #[arg(long, default_value_t = 500)]
        ack_batch: usize,
        /// PostgreSQL: `VACUUM ANALYZE jobs` after filling each backlog, before draining it
        /// (sets hint bits and statistics once, instead of during the first drains).
        #[arg(long)]
        vacuum: bool,
    },
    /// Enqueue → handler start on an idle runner, one job at a time. On PostgreSQL the
    /// enqueue comes from a second connection pool with its own in-process signal, so the
    /// runner is woken by NOTIFY through `relay_job_notifications`; on SQLite by the
    /// in-process signal.
    Latency {
        #[arg(long, value_enum)]
        backend: BackendArg,
        #[arg(long, default_value_t = 500)]
        samples: usize,
        /// Pause between a job starting and the next enqueue.
        #[arg(long, default_value_t = 10)]
        gap_ms: u64,
    },
    /// PostgreSQL: throughput of enqueue-and-drain cycles, first without and then with
    /// another connection holding a transaction open, idle, for `--secs`.
    IdleTxn {
        /// How long the idle transaction is held (the issue asks for 600).
        #[arg(long, default_value_t = 600)]
        secs: u64,
        /// Cycles before the transaction opens, for comparison.
        #[arg(long, default_value_t = 30)]
        baseline_secs: u64,
        /// Jobs enqueued (one transaction) and drained per cycle.
        #[arg(long, default_value_t = 10_000)]
        cycle_jobs: usize,
        #[arg(long, default_value_t = 100)]
        concurrency: usize,
        #[arg(long, default_value_t = 100)]
        batch: i64,
        #[arg(long, default_value_t = 500)]
        ack_batch: usize,
    },
    /// The raw SQLite reference: rusqlite inserts of `--jobs` rows into a file with herald's
    /// pragmas (WAL, synchronous=FULL), one per transaction or `--batch` per transaction.
    Rusqlite {
        #[arg(long, value_enum)]
        mode: Mode,
        #[arg(long, default_value_t = 10_000)]
        jobs: usize,
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
    /// Reads JSON lines on stdin and prints the table of medians.
    Summarize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let round = cli.round;
    let pg = cli.pg_server.trim_end_matches('/').to_owned();
    let defaults = RunnerConfig::default();
    let tuning = Tuning {
        claimers: cli.claimers.unwrap_or(defaults.claimers),
        ack_parallel: cli.ack_parallel.unwrap_or(defaults.ack_parallel),
    };
    match cli.cmd {
        Cmd::Drain {
            backend,
            mode,
            jobs,
            concurrency,
            batch,
            ack_batch,
        } => {
            let db = BenchDb::create(backend, &pg, "drain").await?;
            let store = db.store().await?;
            let enqueue = fill(&store, jobs).await?;
            let cfg = runner_config(mode, concurrency, batch, ack_batch, tuning);
            let secs = drain(&store, cfg, jobs as u64).await?.as_secs_f64();
            store.close().await;
            db.drop().await?;
            emit(json!({
                "system": "herald", "backend": backend.name(), "round": round,
                "case": case_name(mode), "jobs": jobs, "concurrency": concurrency,
                "batch": if mode == Mode::Batched { batch } else { 1 },
                "ack_batch": if mode == Mode::Batched { ack_batch } else { 1 },
                "claimers": tuning.claimers, "ack_parallel": tuning.ack_parallel,
                "enqueue_per_s": enqueue, "secs": secs, "jobs_per_s": jobs as f64 / secs,
            }));
        }
        Cmd::Backlog {
            backend,
            small,
            large,
            measure,
            rounds,
            concurrency,
            batch,
            ack_batch,
            vacuum,
        } => {
            let cfg = runner_config(Mode::Batched, concurrency, batch, ack_batch, tuning);
            let big_db = BenchDb::create(backend, &pg, "large").await?;
            let big = big_db.store().await?;
            let big_enqueue = fill(&big, large).await?;
            if vacuum {
                big_db.vacuum().await?;
            }
            emit(json!({
                "system": "herald", "backend": backend.name(), "round": round,
                "case": "enqueue_large", "jobs": large, "enqueue_per_s": big_enqueue,
                "vacuumed": vacuum,
            }));
            for r in 1..=rounds {
                let small_db = BenchDb::create(backend, &pg, "small").await?;
                let s = small_db.store().await?;
                fill(&s, small).await?;
                if vacuum {
                    small_db.vacuum().await?;
                }
                let secs = drain(&s, cfg.clone(), measure.min(small as u64)).await?;
                s.close().await;
                small_db.drop().await?;
                let n = measure.min(small as u64) as f64;
                emit(json!({
                    "system": "herald", "backend": backend.name(), "round": r,
                    "case": "drain_backlog_small", "queued": small, "jobs": n, "vacuumed": vacuum,
                    "secs": secs.as_secs_f64(), "jobs_per_s": n / secs.as_secs_f64(),
                }));
                let queued = queued(&big).await?;
                let secs = drain(&big, cfg.clone(), measure).await?;
                emit(json!({
                    "system": "herald", "backend": backend.name(), "round": r,
                    "case": "drain_backlog_large", "queued": queued, "jobs": measure, "vacuumed": vacuum,
                    "secs": secs.as_secs_f64(), "jobs_per_s": measure as f64 / secs.as_secs_f64(),
                }));
            }
            big.close().await;
            big_db.drop().await?;
        }
        Cmd::Latency {
            backend,
            samples,
            gap_ms,
        } => {
            let db = BenchDb::create(backend, &pg, "latency").await?;
            let l = latency(&db, samples, Duration::from_millis(gap_ms)).await?;
            db.drop().await?;
            emit(json!({
                "system": "herald", "backend": backend.name(), "round": round,
                "case": "latency", "samples": l.samples, "p50_ms": l.p50, "p99_ms": l.p99,
                "max_ms": l.max, "after_commit_p50_ms": l.commit_p50,
                "after_commit_p99_ms": l.commit_p99,
                "path": match backend { BackendArg::Sqlite => "in-process signal", BackendArg::Postgres => "NOTIFY relay" },
            }));
        }
        Cmd::IdleTxn {
            secs,
            baseline_secs,
            cycle_jobs,
            concurrency,
            batch,
            ack_batch,
        } => {
            let cfg = runner_config(Mode::Batched, concurrency, batch, ack_batch, tuning);
            idle_txn(&pg, round, cfg, cycle_jobs, baseline_secs, secs).await?;
        }
        Cmd::Rusqlite { mode, jobs, batch } => {
            let per_txn = if mode == Mode::PerJob {
                1
            } else {
                batch.max(1)
            };
            let secs =
                tokio::task::spawn_blocking(move || rusqlite_inserts(jobs, per_txn)).await??;
            emit(json!({
                "system": "rusqlite", "backend": "sqlite", "round": round,
                "case": case_name(mode), "jobs": jobs, "batch": per_txn,
                "secs": secs, "jobs_per_s": jobs as f64 / secs,
            }));
        }
        Cmd::Summarize => summary::summarize(std::io::stdin().lock())?,
    }
    Ok(())
}

fn case_name(mode: Mode) -> &'static str {
    match mode {
        Mode::PerJob => "drain_per_job",
        Mode::Batched => "drain_batched",
    }
}

fn emit(v: Value) {
    println!("{v}");
}

/// How many claims and acknowledgements the runner keeps in flight.
#[derive(Clone, Copy)]
struct Tuning {
    claimers: usize,
    ack_parallel: usize,
}

fn runner_config(
    mode: Mode,
    concurrency: usize,
    batch: i64,
    ack_batch: usize,
    tuning: Tuning,
) -> RunnerConfig {
    let (batch, ack_batch) = match mode {
        Mode::PerJob => (1, 1),
        Mode::Batched => (batch, ack_batch),
    };
    RunnerConfig {
        default_concurrency: concurrency,
        batch,
        ack_batch,
        claimers: tuning.claimers,
        ack_parallel: tuning.ack_parallel,
        ..RunnerConfig::default()
    }
}

/// A throwaway database: a SQLite file in a temporary directory, or a fresh PostgreSQL
/// database on the benchmark server.
enum BenchDb {
    Sqlite(tempfile::TempDir),
    Postgres { server: String, name: String },
}

impl BenchDb {
    async fn create(backend: BackendArg, pg_server: &str, what: &str) -> anyhow::Result<Self> {
        match backend {
            BackendArg::Sqlite => Ok(Self::Sqlite(tempfile::tempdir()?)),
            BackendArg::Postgres => {
                let name = format!("herald_bench_{what}");
                let mut admin = admin(pg_server).await?;
                for sql in [
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    format!("CREATE DATABASE {name}"),
                ] {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await
                        .with_context(|| format!("creating database {name}"))?;
                }
                admin.close().await?;
                Ok(Self::Postgres {
                    server: pg_server.to_owned(),
                    name,
                })
            }
        }
    }

    fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}", dir.path().join("bench.db").display()),
            Self::Postgres { server, name } => format!("{server}/{name}"),
        }
    }

    /// A migrated store on it.
    async fn store(&self) -> anyhow::Result<Store> {
        let store = Store::connect(&self.url(), &DbOptions::default()).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// PostgreSQL: `VACUUM ANALYZE jobs` (nothing on SQLite).
    async fn vacuum(&self) -> anyhow::Result<()> {
        if let Self::Postgres { .. } = self {
            let mut c = sqlx::PgConnection::connect(&self.url()).await?;
            sqlx::raw_sql("VACUUM ANALYZE jobs").execute(&mut c).await?;
            c.close().await?;
        }
        Ok(())
    }

    async fn drop(self) -> anyhow::Result<()> {
        if let Self::Postgres { server, name } = &self {
            let mut admin = admin(server).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
            admin.close().await?;
        }
        Ok(())
    }
}

async fn admin(pg_server: &str) -> anyhow::Result<sqlx::PgConnection> {
    sqlx::PgConnection::connect(&format!("{pg_server}/postgres"))
        .await
        .context("connecting to the PostgreSQL server")
}

/// Enqueues `n` no-op jobs in transactions of [`ENQUEUE_CHUNK`]; returns jobs per second.
async fn fill(store: &Store, n: usize) -> anyhow::Result<f64> {
    let clock = SystemClock;
    let start = Instant::now();
    let mut left = n;
    while left > 0 {
        let k = left.min(ENQUEUE_CHUNK);
        let jobs: Vec<NewJob> = (0..k).map(|_| NOOP.raw_job(None, json!({}))).collect();
        let ids = store.enqueue(&jobs, clock.now()).await?;
        if ids.len() != k {
            bail!("enqueued {} of {k} jobs", ids.len());
        }
        left -= k;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Available jobs of the bench queue.
async fn queued(store: &Store) -> anyhow::Result<i64> {
    Ok(store
        .queue_stats()
        .await?
        .iter()
        .find(|q| q.queue == NOOP.queue)
        .map_or(0, |q| q.available))
}

struct Noop;

impl Handler for Noop {
    fn run<'a>(&'a self, _ctx: &'a JobContext) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Reports the start of each job (its payload's `i`) to the latency probe.
struct Probe(mpsc::UnboundedSender<(u64, Instant)>);

impl Handler for Probe {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<(), JobError>> {
        let at = Instant::now();
        let i = ctx.job.payload["i"].as_u64().unwrap_or(u64::MAX);
        let _ = self.0.send((i, at));
        Box::pin(async { Ok(()) })
    }
}

fn completed(metrics: &Metrics) -> u64 {
    metrics
        .jobs
        .get_or_create(&JobLabels {
            queue: NOOP.queue.to_owned(),
            kind: NOOP.name.to_owned(),
            outcome: "completed".to_owned(),
        })
        .get()
}

/// Starts a runner for the no-op kind on `store` (and on PostgreSQL, the NOTIFY relay).
fn start_runner(
    store: &Store,
    registry: Registry,
    cfg: RunnerConfig,
) -> (Arc<Metrics>, CancellationToken, tokio::task::JoinHandle<()>) {
    let metrics = Arc::new(Metrics::new());
    let runner = Runner::new(
        store.clone(),
        Arc::new(SystemClock),
        registry,
        cfg,
        metrics.clone(),
    );
    let stop = CancellationToken::new();
    let (s, st) = (store.clone(), stop.clone());
    let relay = tokio::spawn(async move { s.relay_job_notifications(st.cancelled_owned()).await });
    let run = tokio::spawn(runner.run(stop.clone()));
    let handle = tokio::spawn(async move {
        let _ = run.await;
        let _ = relay.await;
    });
    (metrics, stop, handle)
}

/// Runs the runner on `store` until `n` more no-op jobs are completed (their outcomes
/// committed); returns the time from start to the n-th completion.
async fn drain(store: &Store, cfg: RunnerConfig, n: u64) -> anyhow::Result<Duration> {
    let mut registry = Registry::default();
    registry.register(NOOP, Noop);
    let start = Instant::now();
    let (metrics, stop, handle) = start_runner(store, registry, cfg);
    let deadline = Duration::from_secs(1800);
    while completed(&metrics) < n {
        if start.elapsed() > deadline {
            bail!("drain of {n} jobs took over {deadline:?}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let took = start.elapsed();
    stop.cancel();
    handle.await?;
    Ok(took)
}

/// Enqueue → handler start (ms): from the call to `enqueue` (its commit included), and
/// from `enqueue` returning.
struct Latency {
    p50: f64,
    p99: f64,
    max: f64,
    commit_p50: f64,
    commit_p99: f64,
    samples: usize,
}

/// Enqueue → handler start, one job at a time on an idle runner.
async fn latency(db: &BenchDb, samples: usize, gap: Duration) -> anyhow::Result<Latency> {
    let worker = db.store().await?;
    // On PostgreSQL a second store: its commits wake the runner only through NOTIFY.
    let producer = match db {
        BenchDb::Sqlite(_) => worker.clone(),
        BenchDb::Postgres { .. } => Store::connect(&db.url(), &DbOptions::default()).await?,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut registry = Registry::default();
    registry.register(NOOP, Probe(tx));
    let (_metrics, stop, handle) = start_runner(&worker, registry, RunnerConfig::default());
    let clock = SystemClock;
    // Let the runner and the relay settle, then warm up (not counted).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let warmup = 20;
    let mut got = Vec::with_capacity(samples);
    let mut after_commit = Vec::with_capacity(samples);
    for i in 0..(warmup + samples) {
        let t0 = Instant::now();
        producer
            .enqueue(&[NOOP.raw_job(None, json!({ "i": i }))], clock.now())
            .await?;
        let committed = Instant::now();
        let (j, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .context("a latency probe job never started")?
            .context("the runner stopped")?;
        if j != i as u64 {
            bail!("probe {i} expected, {j} started");
        }
        if i >= warmup {
            got.push(at.saturating_duration_since(t0).as_secs_f64() * 1000.0);
            after_commit.push(at.saturating_duration_since(committed).as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(gap).await;
    }
    stop.cancel();
    handle.await?;
    producer.close().await;
    worker.close().await;
    got.sort_by(f64::total_cmp);
    after_commit.sort_by(f64::total_cmp);
    Ok(Latency {
        p50: summary::percentile(&got, 0.50),
        p99: summary::percentile(&got, 0.99),
        max: got.last().copied().unwrap_or(f64::NAN),
        commit_p50: summary::percentile(&after_commit, 0.50),
        commit_p99: summary::percentile(&after_commit, 0.99),
        samples: got.len(),
    })
}

/// Enqueue-and-drain cycles on PostgreSQL with a running runner: `baseline_secs` of them
/// with no other transaction, then `secs` with another connection idle in a transaction
/// (REPEATABLE READ, with an xid: it holds back the xmin horizon, so no dead job row
/// version can be vacuumed or pruned while it is open).
async fn idle_txn(
    pg: &str,
    round: u32,
    cfg: RunnerConfig,
    cycle_jobs: usize,
    baseline_secs: u64,
    secs: u64,
) -> anyhow::Result<()> {
    let db = BenchDb::create(BackendArg::Postgres, pg, "idle_txn").await?;
    let store = db.store().await?;
    let mut registry = Registry::default();
    registry.register(NOOP, Noop);
    let (metrics, stop, handle) = start_runner(&store, registry, cfg);
    let clock = SystemClock;
    let mut done = 0u64;
    let mut cycle = async |store: &Store| -> anyhow::Result<f64> {
        let start = Instant::now();
        let jobs: Vec<NewJob> = (0..cycle_jobs)
            .map(|_| NOOP.raw_job(None, json!({})))
            .collect();
        store.enqueue(&jobs, clock.now()).await?;
        done += cycle_jobs as u64;
        while completed(&metrics) < done {
            if start.elapsed() > Duration::from_secs(600) {
                bail!("a cycle of {cycle_jobs} jobs took over 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(cycle_jobs as f64 / start.elapsed().as_secs_f64())
    };
    let mut phases: Vec<(&str, Vec<(f64, f64)>)> = Vec::new();
    let mut baseline = Vec::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(baseline_secs) {
        baseline.push((t.elapsed().as_secs_f64(), cycle(&store).await?));
    }
    phases.push(("idle_txn_before", baseline));
    let mut holder = sqlx::PgConnection::connect(&db.url()).await?;
    sqlx::raw_sql(
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT txid_current(); SELECT COUNT(*) FROM jobs",
    )
    .execute(&mut holder)
    .await?;
    let mut held = Vec::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        held.push((t.elapsed().as_secs_f64(), cycle(&store).await?));
    }
    let dead: (i64, i64) = sqlx::query_as(
        "SELECT n_dead_tup, n_live_tup FROM pg_stat_user_tables WHERE relname = 'jobs'",
    )
    .fetch_one(&mut holder)
    .await?;
    phases.push(("idle_txn_held", held));
    sqlx::raw_sql("ROLLBACK").execute(&mut holder).await?;
    holder.close().await?;
    stop.cancel();
    handle.await?;
    store.close().await;
    db.drop().await?;
    for (case, cycles) in phases {
        let rates: Vec<f64> = cycles.iter().map(|c| c.1).collect();
        let mut sorted = rates.clone();
        sorted.sort_by(f64::total_cmp);
        // Median of each minute (or of the whole phase if shorter).
        let mut minutes: Vec<f64> = Vec::new();
        let last_minute = cycles.last().map_or(0, |c| (c.0 / 60.0) as usize);
        for m in 0..=last_minute {
            let mut r: Vec<f64> = cycles
                .iter()
                .filter(|c| (c.0 / 60.0) as usize == m)
                .map(|c| c.1)
                .collect();
            r.sort_by(f64::total_cmp);
            if !r.is_empty() {
                minutes.push(summary::percentile(&r, 0.5).round());
            }
        }
        let tail: Vec<f64> = {
            let k = (rates.len() / 10).max(1);
            let mut v = rates[rates.len().saturating_sub(k)..].to_vec();
            v.sort_by(f64::total_cmp);
            v
        };
        let mut line = json!({
            "system": "herald", "backend": "postgres", "round": round, "case": case,
            "cycles": cycles.len(), "cycle_jobs": cycle_jobs,
            "secs": cycles.last().map_or(0.0, |c| c.0),
            "jobs_per_s": summary::percentile(&sorted, 0.5),
            "min_jobs_per_s": sorted.first().copied().unwrap_or(f64::NAN),
            "last_tenth_jobs_per_s": summary::percentile(&tail, 0.5),
            "per_minute_medians": minutes,
        });
        if case == "idle_txn_held" {
            line["held_secs"] = json!(secs);
            line["dead_tuples_at_end"] = json!(dead.0);
            line["live_tuples_at_end"] = json!(dead.1);
        }
        emit(line);
    }
    Ok(())
}

/// Inserts `n` rows, `per_txn` per transaction, into a fresh file with herald's SQLite
/// pragmas; returns the seconds taken.
fn rusqlite_inserts(n: usize, per_txn: usize) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let mut conn = rusqlite::Connection::open(dir.path().join("raw.db"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL)",
    )?;
    let start = Instant::now();
    let mut left = n;
    while left > 0 {
        let k = left.min(per_txn);
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare(
                "INSERT INTO jobs (kind, payload, state) VALUES ('bench_noop', '{}', 'available')",
            )?;
            for _ in 0..k {
                st.execute([])?;
            }
        }
        tx.commit()?;
        left -= k;
    }
    Ok(start.elapsed().as_secs_f64())
}
