//! Metric points and rollups: writes (API pushes and polls), resets, the reads charts make,
//! the pollers' bookkeeping (watermark, last error) and retention.
//!
//! A write of points is one transaction: the points (last write wins per bucket), the 5-min
//! and 1-hour rollups of every hour they touched recomputed from the points, and the
//! metric's `most_recent_data_at` and `data_rev`. Points do not bump the page's version:
//! they arrive far too often. The nodes' page models notice them by `data_rev`
//! ([`Store::metric_revs`]) and re-render a page's charts at most once per few seconds.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::id::PageId;
use herald_domain::metric::points::{Agg, Point, ROLLUP_WIDTHS};
use herald_domain::metric::{Metric, Provider};
use serde_json::json;
use std::collections::BTreeSet;

use crate::columns::cols;
use crate::db::{One, SqlBuilder, Tx, args};
use crate::metrics::MetricRow;
use crate::write::Write;
use crate::{Result, Store, StoreError};

/// Rows per INSERT statement (3 parameters each; well under both backends' limits).
const ROWS_PER_STATEMENT: usize = 1000;

/// What a chart of one metric reads: day points, week and month rollups, in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartData {
    /// 30 s points of the last day: (bucket start, value).
    pub day: Vec<(i64, f64)>,
    /// 5-minute rollups of the last 7 days.
    pub week: Vec<(i64, Agg)>,
    /// 1-hour rollups of the last 30 days.
    pub month: Vec<(i64, Agg)>,
}

#[derive(sqlx::FromRow)]
struct PointRow {
    bucket: i64,
    value: f64,
}

#[derive(sqlx::FromRow)]
struct AggRow {
    bucket: i64,
    n: i64,
    total: f64,
    low: f64,
    high: f64,
}

#[derive(sqlx::FromRow)]
struct RevRow {
    page_id: String,
    rev: Option<i64>,
}

/// Writes `points` (one value per bucket, sorted) of one metric and recomputes the rollups
/// of the hours they touch. Returns the newest bucket written.
async fn put_points(tx: &mut Tx, metric_id: &str, points: &[Point]) -> Result<Option<i64>> {
    for chunk in points.chunks(ROWS_PER_STATEMENT) {
        let mut sql =
            SqlBuilder::new("INSERT INTO metric_points (metric_id, bucket, value) VALUES ");
        for (k, p) in chunk.iter().enumerate() {
            sql.push(if k == 0 { "(" } else { ", (" })
                .bind(metric_id)
                .push(", ")
                .bind(p.bucket)
                .push(", ")
                .bind(p.value)
                .push(")");
        }
        sql.push(" ON CONFLICT (metric_id, bucket) DO UPDATE SET value = excluded.value");
        let (text, a) = sql.finish();
        tx.execute(text, a).await?;
    }
    // The hours touched, merged into runs: each run's rollups are recomputed in one pass.
    let hours: BTreeSet<i64> = points
        .iter()
        .map(|p| p.bucket - p.bucket.rem_euclid(3600))
        .collect();
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for h in hours {
        match runs.last_mut() {
            Some((_, end)) if *end == h => *end = h + 3600,
            _ => runs.push((h, h + 3600)),
        }
    }
    for (from, to) in runs {
        for width in ROLLUP_WIDTHS {
            tx.execute(
                "INSERT INTO metric_rollups (metric_id, width, bucket, n, total, low, high) \
                 SELECT metric_id, $2, bucket - (bucket % $2), COUNT(*), SUM(value), MIN(value), MAX(value) \
                 FROM metric_points WHERE metric_id = $1 AND bucket >= $3 AND bucket < $4 \
                 GROUP BY metric_id, bucket - (bucket % $2) \
                 ON CONFLICT (metric_id, width, bucket) DO UPDATE SET n = excluded.n, total = excluded.total, \
                   low = excluded.low, high = excluded.high",
                args![metric_id, width, from, to],
            )
            .await?;
        }
    }
    Ok(points.last().map(|p| p.bucket))
}

impl Store {
    /// Writes pushed points: `batches` pairs metric ids with their points (one value per
    /// bucket, sorted: `points::last_write_wins`). Every metric must be one of page
    /// `page_id`'s, else nothing is written and the error names `data.<id>`. One
    /// transaction, one audit entry.
    pub async fn push_points(
        &self,
        page_id: &PageId,
        batches: &[(String, Vec<Point>)],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut w = Write::begin(self, actor, now).await?;
        let mut sql = SqlBuilder::new("SELECT id AS v FROM metrics WHERE page_id = ");
        sql.bind(page_id)
            .push(" AND id IN ")
            .bind_list(batches.iter().map(|b| b.0.as_str()));
        let (text, a) = sql.finish();
        let known: Vec<One<String>> = w.tx.fetch_all(text, a).await?;
        if let Some((id, _)) = batches
            .iter()
            .find(|(id, _)| !known.iter().any(|k| k.v == *id))
        {
            return Err(herald_domain::Invalid::new(
                format!("data.{id}"),
                format!("data.{id}: no metric {id:?} on this page"),
            )
            .into());
        }
        let mut count = 0;
        for (id, points) in batches {
            let newest = put_points(&mut w.tx, id, points).await?;
            count += points.len();
            w.tx.execute(
                "UPDATE metrics SET data_rev = data_rev + 1, most_recent_data_at = \
                   CASE WHEN most_recent_data_at IS NULL OR most_recent_data_at < $2 THEN $2 ELSE most_recent_data_at END \
                 WHERE id = $1",
                args![id.as_str(), newest],
            )
            .await?;
        }
        w.audit(
            Some(page_id),
            "metric.data",
            "page",
            page_id.as_str(),
            json!({"metrics": batches.len(), "points": count}),
        )
        .await?;
        w.commit().await
    }

    /// Deletes every point of a metric (`DELETE .../data`). A pulled metric is polled again
    /// from the start of its backfill.
    pub async fn reset_metric_data(
        &self,
        page_id: &PageId,
        id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Metric> {
        let mut w = Write::begin(self, actor, now).await?;
        let n = w
            .tx
            .execute(
                "UPDATE metrics SET data_rev = data_rev + 1, most_recent_data_at = NULL, watermark = NULL, \
                 fetched_to = NULL WHERE id = $1 AND page_id = $2",
                args![id, page_id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        w.tx.execute("DELETE FROM metric_points WHERE metric_id = $1", args![id])
            .await?;
        w.tx.execute("DELETE FROM metric_rollups WHERE metric_id = $1", args![id])
            .await?;
        w.audit(Some(page_id), "metric.data_reset", "metric", id, json!({}))
            .await?;
        w.commit().await?;
        self.get_metric(page_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Records a successful poll of metric `id`: its points, the range asked (up to
    /// `fetched_to`), the watermark moved to the newest bucket held, the error cleared.
    pub async fn record_poll(
        &self,
        id: &str,
        points: &[Point],
        fetched_to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let actor = Actor::system("metrics-poll");
        let mut w = Write::begin(self, &actor, now).await?;
        let newest = put_points(&mut w.tx, id, points).await?;
        let rev = i64::from(!points.is_empty());
        w.tx.execute(
            "UPDATE metrics SET data_rev = data_rev + $3, \
               watermark = CASE WHEN watermark IS NULL OR watermark < $2 THEN $2 ELSE watermark END, \
               most_recent_data_at = CASE WHEN most_recent_data_at IS NULL OR most_recent_data_at < $2 THEN $2 \
                 ELSE most_recent_data_at END, \
               fetched_to = CASE WHEN fetched_to IS NULL OR fetched_to < $4 THEN $4 ELSE fetched_to END, \
               last_fetched_at = $5, last_error = NULL WHERE id = $1",
            args![id, newest, rev, fetched_to.timestamp(), now],
        )
        .await?;
        w.commit().await
    }

    /// Records a failed poll of metric `id` (the provider's answer, in words).
    pub async fn record_poll_error(&self, id: &str, error: &str, now: DateTime<Utc>) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        self.db
            .write_one::<One<i64>>(
                "UPDATE metrics SET last_error = $2, last_error_at = $3 WHERE id = $1 RETURNING data_rev AS v",
                args![id, error, now],
            )
            .await?;
        Ok(())
    }

    /// Every enabled pulled provider with its metrics, for the poller.
    pub async fn pulled_metrics(&self) -> Result<Vec<(Provider, Vec<Metric>)>> {
        let mut out = Vec::new();
        let pages: Vec<One<String>> = self
            .db
            .read(
                "SELECT DISTINCT page_id AS v FROM metrics_providers WHERE type <> 'Self' AND NOT disabled",
                vec![],
            )
            .await?;
        for page in pages {
            for p in self.list_providers(&PageId::from(page.v.as_str())).await? {
                if p.disabled || !p.kind.is_pulled() {
                    continue;
                }
                let metrics = self
                    .list_metrics(&PageId::from(page.v.as_str()), Some(&p.id))
                    .await?;
                if !metrics.is_empty() {
                    out.push((p, metrics));
                }
            }
        }
        Ok(out)
    }

    /// Every page's sum of its metrics' `data_rev`: grows whenever points are written.
    pub async fn metric_revs(&self) -> Result<Vec<(String, i64)>> {
        let rows: Vec<RevRow> = self
            .db
            .read("SELECT page_id, CAST(SUM(data_rev) AS BIGINT) AS rev FROM metrics GROUP BY page_id", vec![])
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.page_id, r.rev.unwrap_or(0)))
            .collect())
    }

    /// A page's metrics' data revision (the sum of their `data_rev`) and its displayed
    /// metrics, in display order.
    pub async fn page_metric_defs(&self, page_id: &PageId) -> Result<(i64, Vec<Metric>)> {
        let rows: Vec<MetricRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(metrics),
                    " FROM metrics WHERE page_id = $1 ORDER BY position, created_at, id"
                ),
                args![page_id],
            )
            .await?;
        let all: Vec<Metric> = rows.into_iter().map(MetricRow::into_metric).collect();
        let rev = all.iter().map(|m| m.data_rev).sum();
        Ok((rev, all.into_iter().filter(|m| m.display).collect()))
    }

    /// What metric `id`'s charts show at `now`: never more rows than they draw.
    pub async fn chart_data(&self, id: &str, now: DateTime<Utc>) -> Result<ChartData> {
        use herald_domain::metric::points::Period;
        let day: Vec<PointRow> = self
            .db
            .read(
                "SELECT bucket, value FROM metric_points WHERE metric_id = $1 AND bucket >= $2 ORDER BY bucket",
                args![id, Period::Day.first_slot(now)],
            )
            .await?;
        let rollups = |p: Period| {
            let db = self.db.clone();
            let id = id.to_owned();
            async move {
                let rows: Vec<AggRow> = db
                    .read(
                        "SELECT bucket, n, total, low, high FROM metric_rollups WHERE metric_id = $1 AND width = $2 \
                         AND bucket >= $3 ORDER BY bucket",
                        args![id.as_str(), p.width(), p.first_slot(now)],
                    )
                    .await?;
                Ok::<_, StoreError>(
                    rows.into_iter()
                        .map(|r| {
                            (
                                r.bucket,
                                Agg {
                                    n: r.n,
                                    total: r.total,
                                    low: r.low,
                                    high: r.high,
                                },
                            )
                        })
                        .collect::<Vec<_>>(),
                )
            }
        };
        let week = rollups(Period::Week).await?;
        let month = rollups(Period::Month).await?;
        Ok(ChartData {
            day: day.into_iter().map(|r| (r.bucket, r.value)).collect(),
            week,
            month,
        })
    }

    /// Metric `id`'s points in `[from, to]` (unix seconds), in time order.
    pub async fn metric_points(&self, id: &str, from: i64, to: i64) -> Result<Vec<Point>> {
        let rows: Vec<PointRow> = self
            .db
            .read(
                "SELECT bucket, value FROM metric_points WHERE metric_id = $1 AND bucket >= $2 AND bucket <= $3 \
                 ORDER BY bucket",
                args![id, from, to],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Point {
                bucket: r.bucket,
                value: r.value,
            })
            .collect())
    }

    /// Deletes points and rollups older than `before` (unix seconds): no chart shows them.
    pub async fn prune_metric_points(&self, before: i64) -> Result<u64> {
        let actor = Actor::system("metrics-prune");
        let mut w = Write::begin(self, &actor, DateTime::<Utc>::MIN_UTC).await?;
        let n =
            w.tx.execute("DELETE FROM metric_points WHERE bucket < $1", args![before])
                .await?;
        w.tx.execute(
            "DELETE FROM metric_rollups WHERE bucket < $1",
            args![before],
        )
        .await?;
        w.commit().await?;
        Ok(n)
    }
}
