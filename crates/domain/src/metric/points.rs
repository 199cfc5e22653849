//! Metric points: 30 s buckets, the rules for writing them, and the series a chart draws.
//!
//! Statuspage's rules (§2.3, §5): a point's timestamp is cast to its 30 s bucket (herald
//! casts down, to the bucket that contains it, so a point is never moved into the future;
//! [inferred]), one value per bucket and the last write wins, points up to 28 days old are
//! accepted, points in a future bucket are refused.
//!
//! Charts: Day draws every 30 s bucket of the last 24 hours; Week the 5-minute rollups of the
//! last 7 days; Month the 1-hour rollups of the last 30 days. A rollup keeps count, sum,
//! minimum and maximum, and the metric's [`Transform`] picks the value drawn. A slot without
//! data is `None`: drawn as a gap, never as zero.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{BACKFILL, Transform};
use crate::{Invalid, Result};

/// Width of a bucket, in seconds.
pub const BUCKET_SECS: i64 = 30;
/// Widths of the rollups, in seconds (Week, Month).
pub const ROLLUP_WIDTHS: [i64; 2] = [300, 3600];

/// The start of the bucket holding `t` (unix seconds).
pub fn snap(t: i64) -> i64 {
    t - t.rem_euclid(BUCKET_SECS)
}

/// The start of the bucket holding `t`.
pub fn bucket_of(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(snap(t.timestamp()), 0).unwrap_or(t)
}

/// One value in one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The bucket's start, unix seconds (a multiple of 30).
    pub bucket: i64,
    pub value: f64,
}

/// A point as clients send it: `{"timestamp": 1741082400, "value": 123.4}`. Both are read
/// as JSON numbers or numeric strings (forms send strings) and checked here, so every
/// refusal names its field.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct PointInput {
    /// Unix seconds.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub timestamp: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub value: Value,
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Checks one point sent at `now`; `field` is how the client names it (`data`,
/// `data.<metric_id>[3]`).
pub fn parse_point(field: &str, input: &PointInput, now: DateTime<Utc>) -> Result<Point> {
    let ts = number(&input.timestamp).ok_or_else(|| {
        Invalid::new(
            format!("{field}.timestamp"),
            format!("{field}.timestamp must be a unix timestamp in seconds"),
        )
    })?;
    let value = number(&input.value).ok_or_else(|| {
        Invalid::new(
            format!("{field}.value"),
            format!("{field}.value must be a number"),
        )
    })?;
    if !value.is_finite() {
        return Err(Invalid::new(
            format!("{field}.value"),
            format!("{field}.value must be a finite number (not NaN or infinity)"),
        ));
    }
    if !ts.is_finite() || ts.abs() > 1e12 {
        return Err(Invalid::new(
            format!("{field}.timestamp"),
            format!("{field}.timestamp is out of range"),
        ));
    }
    let bucket = snap(ts.floor() as i64);
    if bucket > snap(now.timestamp()) {
        return Err(Invalid::new(
            format!("{field}.timestamp"),
            format!("{field}.timestamp is in the future"),
        ));
    }
    if bucket < snap((now - BACKFILL).timestamp()) {
        return Err(Invalid::new(
            format!("{field}.timestamp"),
            format!("{field}.timestamp is more than 28 days ago (the backfill limit)"),
        ));
    }
    Ok(Point { bucket, value })
}

/// One value per bucket, the last written winning, in time order.
pub fn last_write_wins(points: &[Point]) -> Vec<Point> {
    let mut out: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
    for p in points {
        out.insert(p.bucket, p.value);
    }
    out.into_iter()
        .map(|(bucket, value)| Point { bucket, value })
        .collect()
}

/// A chart's period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// All three, in the order the page shows them.
    pub const ALL: [Period; 3] = [Period::Day, Period::Week, Period::Month];

    /// `day`, `week`, `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// Seconds per slot: 30 s, 5 min, 1 h.
    pub fn width(self) -> i64 {
        match self {
            Self::Day => BUCKET_SECS,
            Self::Week => ROLLUP_WIDTHS[0],
            Self::Month => ROLLUP_WIDTHS[1],
        }
    }

    /// How far back the chart reaches.
    pub fn span(self) -> TimeDelta {
        match self {
            Self::Day => TimeDelta::days(1),
            Self::Week => TimeDelta::days(7),
            Self::Month => TimeDelta::days(30),
        }
    }

    /// Slots drawn: 2,880, 2,016, 720.
    pub fn slots(self) -> usize {
        usize::try_from(self.span().num_seconds() / self.width()).unwrap_or(0)
    }

    /// The first slot's start for a chart drawn at `now` (the last slot holds `now`).
    pub fn first_slot(self, now: DateTime<Utc>) -> i64 {
        let t = now.timestamp();
        let last = t - t.rem_euclid(self.width());
        last - (self.slots() as i64 - 1) * self.width()
    }
}

/// Count, sum, minimum and maximum of the points in one rollup slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub n: i64,
    pub total: f64,
    pub low: f64,
    pub high: f64,
}

impl Agg {
    /// The value `t` draws for this slot.
    pub fn value(&self, t: Transform) -> f64 {
        match t {
            Transform::Average => self.total / self.n.max(1) as f64,
            Transform::Count => self.n as f64,
            Transform::Max => self.high,
            Transform::Min => self.low,
            Transform::Sum => self.total,
        }
    }
}

/// Every slot of `period` at `now`, in time order, from `(slot start, value)` pairs sorted
/// by time: a slot without a value is `None`.
pub fn slots(period: Period, now: DateTime<Utc>, values: &[(i64, f64)]) -> Vec<(i64, Option<f64>)> {
    let first = period.first_slot(now);
    let w = period.width();
    let mut out: Vec<(i64, Option<f64>)> = (0..period.slots() as i64)
        .map(|k| (first + k * w, None))
        .collect();
    for &(t, v) in values {
        if t >= first {
            let k = usize::try_from((t - first) / w).unwrap_or(usize::MAX);
            if let Some(slot) = out.get_mut(k) {
                slot.1 = Some(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    fn p(ts: Value, v: Value) -> PointInput {
        PointInput {
            timestamp: ts,
            value: v,
        }
    }

    #[test]
    fn points_snap_down_and_bad_ones_name_their_field() {
        let now = at(1_741_082_415);
        let ok = parse_point("data", &p(json!(1_741_082_414), json!(1.5)), now).unwrap();
        assert_eq!(ok.bucket, 1_741_082_400);
        let ok = parse_point("data", &p(json!("1741082401"), json!("2")), now).unwrap();
        assert_eq!(ok.value, 2.0);
        for (ts, v, field, words) in [
            (json!(1_741_082_430), json!(1), "data.timestamp", "future"),
            (
                json!(1_741_082_415 - 29 * 86_400),
                json!(1),
                "data.timestamp",
                "28 days",
            ),
            (json!("soon"), json!(1), "data.timestamp", "unix timestamp"),
            (json!(1_741_082_400), json!("NaN"), "data.value", "finite"),
            (json!(1_741_082_400), json!("inf"), "data.value", "finite"),
            (json!(1_741_082_400), json!("abc"), "data.value", "number"),
            (json!(1_741_082_400), json!(null), "data.value", "number"),
            (json!(1e300), json!(1), "data.timestamp", "out of range"),
        ] {
            let e = parse_point("data", &p(ts, v), now).unwrap_err();
            assert_eq!(e.field, field);
            assert!(e.message.contains(words), "{e}");
        }
    }

    #[test]
    fn the_last_write_in_a_bucket_wins_and_gaps_stay_gaps() {
        let pts = last_write_wins(&[
            Point {
                bucket: 60,
                value: 1.0,
            },
            Point {
                bucket: 30,
                value: 2.0,
            },
            Point {
                bucket: 60,
                value: 3.0,
            },
        ]);
        assert_eq!(
            pts,
            [
                Point {
                    bucket: 30,
                    value: 2.0
                },
                Point {
                    bucket: 60,
                    value: 3.0
                }
            ]
        );
        let now = at(86_400 * 10 + 45);
        let s = slots(Period::Day, now, &[(86_400 * 10 + 30, 7.0)]);
        assert_eq!(s.len(), 2880);
        assert_eq!(s.last().unwrap(), &(86_400 * 10 + 30, Some(7.0)));
        assert_eq!(s[s.len() - 2].1, None);
        assert_eq!(Period::Week.slots(), 2016);
        assert_eq!(Period::Month.slots(), 720);
    }
}
