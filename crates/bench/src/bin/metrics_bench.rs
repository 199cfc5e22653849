//! `metrics-bench`: system metrics benchmarks (issue 13), driven by `bench/metrics.sh`.
//!
//! - `ingest`: batch push ingestion through `Store::push_points` (the API's store call:
//!   validation-free, one transaction per batch with its rollups and audit entry), side by
//!   side with a raw batched insert of the same rows into a bare table of the same database
//!   (multi-row `INSERT ... ON CONFLICT DO UPDATE`, one transaction per batch). Prints one
//!   JSON line per measurement.
//! - `render`: a page with 10 metrics holding 30 days of 30 s points: the time to re-render
//!   its snapshot after one new point (`Publisher::refresh_metrics`: reads the changed
//!   metric's chart data, renders the home page) and the CPU time of rendering everything
//!   the charts show from the in-memory model (home page, and the 30 JSON and SVG charts).
#![forbid(unsafe_code)]
#![expect(
    clippy::print_stdout,
    reason = "a benchmark's results are its standard output"
)]

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use herald_domain::actor::Actor;
use herald_domain::clock::{Clock, SystemClock};
use herald_domain::id::PageId;
use herald_domain::metric::points::{Period, Point};
use herald_domain::metric::{Metric, MetricInput, Provider, ProviderInput};
use herald_domain::page::NewPage;
use herald_store::{DbOptions, Store};
use herald_web::public::cold::ColdKey;
use herald_web::public::fragments::Pieces;
use herald_web::public::model::Model;
use herald_web::public::render::{Source, render_hot};
use herald_web::public::{Assets, Publisher, Snapshots};
use serde_json::json;
use sqlx::Connection;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "metrics-bench",
    about = "Benchmarks of herald's system metrics"
)]
struct Cli {
    /// PostgreSQL server (no database name): a `herald_bench_metrics_*` database is made there.
    #[arg(
        long,
        global = true,
        env = "BENCH_PG_SERVER",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pg_server: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Subcommand)]
enum Cmd {
    /// Batch push ingestion, herald and the raw insert.
    Ingest {
        #[arg(long, value_enum)]
        backend: Backend,
        /// Points in all.
        #[arg(long, default_value_t = 500_000)]
        points: usize,
        /// Points per batch (spread over 10 metrics).
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
    },
    /// Re-render cost of a page with 10 metrics × 30 days of points (SQLite).
    Render,
}

/// A throwaway database: a SQLite file or a PostgreSQL database, dropped at the end.
struct Throwaway {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Throwaway {
    async fn new(backend: Backend, server: &str) -> anyhow::Result<Throwaway> {
        Ok(match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                Throwaway {
                    url,
                    _dir: Some(dir),
                    pg: None,
                }
            }
            Backend::Postgres => {
                let name = format!("herald_bench_metrics_{}", std::process::id());
                let mut c = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name}"
                )))
                .execute(&mut c)
                .await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut c)
                    .await?;
                Throwaway {
                    url: format!("{server}/{name}"),
                    _dir: None,
                    pg: Some((server.to_owned(), name)),
                }
            }
        })
    }

    async fn drop_db(&self) -> anyhow::Result<()> {
        if let Some((server, name)) = &self.pg {
            let mut c = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await?;
        }
        Ok(())
    }
}

/// A store with one page, a `Self` provider and `n` metrics.
async fn seeded(
    url: &str,
    n: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<(Store, String, Vec<String>)> {
    let store = Store::connect(url, &DbOptions::default()).await?;
    store.migrate().await?;
    let actor = Actor::cli();
    let page = store
        .create_page(&NewPage::parse("Bench", "bench", None)?, &actor, now)
        .await?;
    let p = Provider::parse(
        &page.id,
        &ProviderInput {
            kind: Some("Self".into()),
            ..Default::default()
        },
        now,
    )?;
    let p = store.create_provider(&p, &actor, now).await?;
    let mut ids = Vec::new();
    for k in 0..n {
        let input = MetricInput {
            name: Some(format!("Metric {k}")),
            suffix: Some(" ms".into()),
            ..Default::default()
        };
        let m = Metric::parse(&p, &input, now)?;
        ids.push(store.create_metric(&m, &actor, now).await?.id);
    }
    Ok((store, page.id.to_string(), ids))
}

/// Batch `b` of `per` points per metric: consecutive buckets, a wave of values.
fn batch(ids: &[String], b: usize, per: usize, start: i64) -> Vec<(String, Vec<Point>)> {
    ids.iter()
        .enumerate()
        .map(|(k, id)| {
            let pts = (0..per)
                .map(|j| {
                    let t = start + ((b * per + j) as i64) * 30;
                    Point {
                        bucket: t,
                        value: 100.0 + 50.0 * ((t as f64 / 3600.0) + k as f64).sin(),
                    }
                })
                .collect();
            (id.clone(), pts)
        })
        .collect()
}

async fn raw_insert(
    url: &str,
    backend: Backend,
    batches: &[Vec<(String, Vec<Point>)>],
) -> anyhow::Result<f64> {
    let value_type = if backend == Backend::Sqlite {
        "REAL"
    } else {
        "DOUBLE PRECISION"
    };
    let create = format!(
        "CREATE TABLE IF NOT EXISTS raw_points (metric_id TEXT NOT NULL, bucket BIGINT NOT NULL, value {value_type} NOT NULL, PRIMARY KEY (metric_id, bucket))"
    );
    let started;
    match backend {
        Backend::Sqlite => {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
            use std::str::FromStr;
            let opts = SqliteConnectOptions::from_str(url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full);
            let mut c = sqlx::SqliteConnection::connect_with(&opts).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&mut c)
                .await?;
            started = Instant::now();
            for b in batches {
                let mut tx = c.begin().await?;
                for (id, pts) in b {
                    for chunk in pts.chunks(1000) {
                        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                            "INSERT INTO raw_points (metric_id, bucket, value) ",
                        );
                        q.push_values(chunk, |mut r, p| {
                            r.push_bind(id.as_str())
                                .push_bind(p.bucket)
                                .push_bind(p.value);
                        });
                        q.push(
                            " ON CONFLICT (metric_id, bucket) DO UPDATE SET value = excluded.value",
                        );
                        q.build().execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&mut c)
                .await?;
            started = Instant::now();
            for b in batches {
                let mut tx = c.begin().await?;
                for (id, pts) in b {
                    for chunk in pts.chunks(1000) {
                        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
                            "INSERT INTO raw_points (metric_id, bucket, value) ",
                        );
                        q.push_values(chunk, |mut r, p| {
                            r.push_bind(id.as_str())
                                .push_bind(p.bucket)
                                .push_bind(p.value);
                        });
                        q.push(
                            " ON CONFLICT (metric_id, bucket) DO UPDATE SET value = excluded.value",
                        );
                        q.build().execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn ingest(
    backend: Backend,
    server: &str,
    points: usize,
    per_batch: usize,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let db = Throwaway::new(backend, server).await?;
    let (store, page, ids) = seeded(&db.url, 10, now).await?;
    let per = (per_batch / ids.len()).max(1);
    let n = points.div_ceil(per * ids.len());
    let start = {
        let t = (now - TimeDelta::days(27)).timestamp();
        t - t.rem_euclid(30)
    };
    let batches: Vec<_> = (0..n).map(|b| batch(&ids, b, per, start)).collect();
    let total = n * per * ids.len();
    let actor = Actor::cli();
    let started = Instant::now();
    for b in &batches {
        store
            .push_points(&PageId::from(&page), b, &actor, now)
            .await?;
    }
    let herald = started.elapsed().as_secs_f64();
    store.close().await;
    let raw = raw_insert(&db.url, backend, &batches).await?;
    let name = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    for (who, secs) in [("herald", herald), ("raw", raw)] {
        println!(
            "{}",
            json!({"bench": "metrics_ingest", "backend": name, "who": who, "points": total, "batch": per * ids.len(),
                "seconds": secs, "points_per_s": (total as f64 / secs).round()})
        );
    }
    db.drop_db().await
}

async fn render(server: &str) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let db = Throwaway::new(Backend::Sqlite, server).await?;
    let (store, page, ids) = seeded(&db.url, 10, now).await?;
    // 30 days of 30 s points on each metric, up to now.
    let per = 1000;
    let start = {
        let t = (now - TimeDelta::days(30)).timestamp();
        t - t.rem_euclid(30)
    };
    let n = (30 * 2880usize).div_ceil(per);
    let actor = Actor::cli();
    for b in 0..n {
        let mut bt = batch(&ids, b, per, start);
        for (_, pts) in &mut bt {
            pts.retain(|p| p.bucket <= now.timestamp());
        }
        store
            .push_points(&PageId::from(&page), &bt, &actor, now)
            .await?;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let assets = Arc::new(Assets::new());
    let publisher = Arc::new(Publisher::new(
        store.clone(),
        clock,
        "http://bench.example".into(),
        herald_domain::uptime::UptimeWeights::default(),
        Arc::new(Snapshots::new(None)),
        assets.clone(),
        64 << 20,
    ));
    publisher.tick(&page).await?;
    let mut refresh = Vec::new();
    for k in 0..20 {
        let t = now.timestamp() - now.timestamp().rem_euclid(30);
        let pt = vec![(
            ids[k % ids.len()].clone(),
            vec![Point {
                bucket: t,
                value: k as f64,
            }],
        )];
        store
            .push_points(&PageId::from(&page), &pt, &actor, now)
            .await?;
        let s = Instant::now();
        publisher.refresh_metrics(&page).await?;
        refresh.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    // Everything the charts show, from the in-memory model: the home page and 30 charts.
    let model = Model::load(&store, &page, now).await?.context("page")?;
    let mut cpu = Vec::new();
    for _ in 0..10 {
        let s = Instant::now();
        let src = Arc::new(Source::new(
            &model,
            SystemClock.now(),
            "http://bench.example",
            Default::default(),
        ));
        let pieces = Pieces::default();
        let hot = render_hot(&src, None, &assets, &pieces);
        std::hint::black_box(&hot);
        for id in &ids {
            for p in Period::ALL {
                for json in [true, false] {
                    std::hint::black_box(herald_web::public::render::render_cold(
                        &src,
                        &ColdKey::Chart(id.clone(), p, json),
                    ));
                }
            }
        }
        cpu.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let points: usize = model.metrics.iter().map(|c| c.data.day.len()).sum();
    println!(
        "{}",
        json!({"bench": "metrics_render", "what": "refresh after one new point (read + render)",
        "metrics": ids.len(), "median_ms": median(&mut refresh), "max_ms": refresh.iter().cloned().fold(0.0, f64::max)})
    );
    println!(
        "{}",
        json!({"bench": "metrics_render", "what": "home page + 30 charts (JSON and SVG) from memory",
        "metrics": ids.len(), "day_points": points, "median_ms": median(&mut cpu), "max_ms": cpu.iter().cloned().fold(0.0, f64::max)})
    );
    store.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Ingest {
            backend,
            points,
            batch,
        } => ingest(backend, &cli.pg_server, points, batch).await,
        Cmd::Render => render(&cli.pg_server).await,
    }
}
