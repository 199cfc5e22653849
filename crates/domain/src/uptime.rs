//! Uptime from a component's status history: the 90 daily bars of the public page, their
//! percentage, and the monthly history of `/uptime`.
//!
//! A component's history is the list of its status changes (`component_status_log`); each
//! status holds from its change until the next one (or until now). A day is a calendar day
//! in the page's time zone. Within a day, time spent in each status is weighted by
//! [`UptimeWeights`] (defaults: major outage 100 %, partial outage 30 %, degraded performance
//! 0 % of the time counted as down), and time under maintenance is left out of the count
//! altogether: uptime = 1 − weighted down time ÷ (observed time − maintenance time). Days
//! before the component's `start_date` (or before its first recorded status) have no data,
//! and neither does the future part of today.
//!
//! Group figures are the sum of their components' figures, so a group's uptime is the
//! time-weighted mean of its components'.

pub mod range;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::Invalid;
use crate::status::ComponentStatus;
use crate::time::PageZone;

/// How much of the time spent in each status counts as down time, from 0.0 to 1.0. Time
/// under maintenance is never counted; operational time is always up. Set for the instance
/// (`uptime_weight_*` settings) and, optionally, per page (`PageSettings::uptime_weights`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UptimeWeights {
    /// Share of major-outage time counted as down (default 1.0).
    pub major_outage: f64,
    /// Share of partial-outage time counted as down (default 0.3).
    pub partial_outage: f64,
    /// Share of degraded-performance time counted as down (default 0.0).
    pub degraded_performance: f64,
}

impl Default for UptimeWeights {
    fn default() -> Self {
        Self {
            major_outage: 1.0,
            partial_outage: 0.3,
            degraded_performance: 0.0,
        }
    }
}

impl UptimeWeights {
    /// Validates weights: each must be between 0 and 1.
    pub fn new(major: f64, partial: f64, degraded: f64) -> Result<Self, Invalid> {
        Self::checked(
            [
                "uptime_weight_major",
                "uptime_weight_partial",
                "uptime_weight_degraded",
            ],
            major,
            partial,
            degraded,
        )
    }

    /// These weights, validated, with errors naming `prefix.major_outage` and so on.
    pub fn validated(self, prefix: &str) -> Result<Self, Invalid> {
        Self::checked(
            [
                &format!("{prefix}.major_outage"),
                &format!("{prefix}.partial_outage"),
                &format!("{prefix}.degraded_performance"),
            ],
            self.major_outage,
            self.partial_outage,
            self.degraded_performance,
        )
    }

    fn checked(
        fields: [&str; 3],
        major: f64,
        partial: f64,
        degraded: f64,
    ) -> Result<Self, Invalid> {
        for (field, v) in fields.into_iter().zip([major, partial, degraded]) {
            if !(0.0..=1.0).contains(&v) {
                return Err(Invalid::new(
                    field,
                    format!("{field} must be between 0 and 1; got {v}"),
                ));
            }
        }
        Ok(Self {
            major_outage: major,
            partial_outage: partial,
            degraded_performance: degraded,
        })
    }
}

/// One change of a component's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    /// When the component took `status`.
    pub at: DateTime<Utc>,
    /// The status it took.
    pub status: ComponentStatus,
}

/// Milliseconds spent in each kind of status over some span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Time for which the status is known (maintenance included).
    pub observed_ms: i64,
    /// Time under maintenance (left out of uptime).
    pub maintenance_ms: i64,
    /// Time in major outage.
    pub major_ms: i64,
    /// Time in partial outage.
    pub partial_ms: i64,
    /// Time in degraded performance.
    pub degraded_ms: i64,
}

/// The colour class of a day's bar: the worst status seen that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Nothing known (before the start date, or the future).
    NoData,
    /// Operational all along.
    Operational,
    /// Some maintenance, nothing worse.
    Maintenance,
    /// Some degraded performance, nothing worse.
    Degraded,
    /// Some partial outage, no major one.
    Partial,
    /// Some major outage.
    Major,
}

impl Level {
    /// A CSS-friendly name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoData => "nodata",
            Self::Operational => "operational",
            Self::Maintenance => "maintenance",
            Self::Degraded => "degraded",
            Self::Partial => "partial",
            Self::Major => "major",
        }
    }
}

impl Figures {
    /// Counts `ms` spent in `status`.
    pub fn count(&mut self, ms: i64, status: ComponentStatus) {
        self.observed_ms += ms;
        match status {
            ComponentStatus::Operational => {}
            ComponentStatus::UnderMaintenance => self.maintenance_ms += ms,
            ComponentStatus::DegradedPerformance => self.degraded_ms += ms,
            ComponentStatus::PartialOutage => self.partial_ms += ms,
            ComponentStatus::MajorOutage => self.major_ms += ms,
        }
    }

    /// Adds `other` to these figures.
    pub fn add(&mut self, other: &Figures) {
        self.observed_ms += other.observed_ms;
        self.maintenance_ms += other.maintenance_ms;
        self.major_ms += other.major_ms;
        self.partial_ms += other.partial_ms;
        self.degraded_ms += other.degraded_ms;
    }

    /// The sum of many figures.
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a Figures>) -> Figures {
        let mut total = Figures::default();
        for f in all {
            total.add(f);
        }
        total
    }

    /// Time that counts for uptime: observed, less maintenance.
    pub fn counted_ms(&self) -> i64 {
        self.observed_ms - self.maintenance_ms
    }

    /// Weighted down time in milliseconds.
    pub fn down_ms(&self, w: &UptimeWeights) -> f64 {
        self.major_ms as f64 * w.major_outage
            + self.partial_ms as f64 * w.partial_outage
            + self.degraded_ms as f64 * w.degraded_performance
    }

    /// Uptime as a fraction from 0 to 1; `None` when no time counts.
    pub fn uptime(&self, w: &UptimeWeights) -> Option<f64> {
        let counted = self.counted_ms();
        (counted > 0).then(|| (1.0 - self.down_ms(w) / counted as f64).clamp(0.0, 1.0))
    }

    /// The bar colour: the worst status seen.
    pub fn level(&self) -> Level {
        if self.observed_ms == 0 {
            Level::NoData
        } else if self.major_ms > 0 {
            Level::Major
        } else if self.partial_ms > 0 {
            Level::Partial
        } else if self.degraded_ms > 0 {
            Level::Degraded
        } else if self.maintenance_ms > 0 {
            Level::Maintenance
        } else {
            Level::Operational
        }
    }
}

/// A component's status intervals, built once from its history and then cut into days.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// (start, end, status), in order, not overlapping.
    spans: Vec<(DateTime<Utc>, DateTime<Utc>, ComponentStatus)>,
    /// Nothing before this counts (the start date's first instant), if set.
    counts_from: Option<DateTime<Utc>>,
}

impl Timeline {
    /// Builds the intervals of `history` (ordered oldest first) up to `now`. Days before
    /// `start_date` (a date in `zone`) have no data.
    pub fn new(
        history: &[StatusChange],
        start_date: Option<NaiveDate>,
        zone: PageZone,
        now: DateTime<Utc>,
    ) -> Self {
        let mut spans = Vec::with_capacity(history.len());
        for (i, c) in history.iter().enumerate() {
            let end = history.get(i + 1).map_or(now, |n| n.at).min(now);
            if end > c.at {
                spans.push((c.at, end, c.status));
            }
        }
        Self {
            spans,
            counts_from: start_date.map(|d| zone.day_start(d)),
        }
    }

    /// The figures of `[from, to)`.
    pub fn figures(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Figures {
        let from = self.counts_from.map_or(from, |c| from.max(c));
        let mut f = Figures::default();
        for &(s, e, status) in &self.spans {
            let (s, e) = (s.max(from), e.min(to));
            if e <= s {
                continue;
            }
            f.count((e - s).num_milliseconds(), status);
        }
        f
    }

    /// The figures of each day from `first` to `last` (inclusive), in `zone`.
    pub fn days(&self, zone: PageZone, first: NaiveDate, last: NaiveDate) -> Vec<Day> {
        self.days_in(&DayBounds::new(zone, first, last))
    }

    /// The figures of each day of `days`, in one pass over the intervals: O(days + spans).
    pub fn days_in(&self, days: &DayBounds) -> Vec<Day> {
        // Spans are in order and do not overlap; so are the days. A span may cover many
        // days and a day many spans: `k` is the first span that may still reach this day.
        let mut k = 0;
        days.0
            .iter()
            .map(|&(date, s, e)| {
                while k < self.spans.len() && self.spans[k].1 <= s {
                    k += 1;
                }
                let mut f = Figures::default();
                let from = self.counts_from.map_or(s, |c| s.max(c));
                for &(a, b, status) in self.spans[k..].iter().take_while(|x| x.0 < e) {
                    let (a, b) = (a.max(from), b.min(e));
                    if b > a {
                        f.count((b - a).num_milliseconds(), status);
                    }
                }
                Day { date, figures: f }
            })
            .collect()
    }
}

/// The instants each day of a run of dates begins and ends, in a zone: computed once and
/// shared by every component's [`Timeline::days_in`].
#[derive(Debug, Clone)]
pub struct DayBounds(Vec<(NaiveDate, DateTime<Utc>, DateTime<Utc>)>);

impl DayBounds {
    /// The days from `first` to `last` (inclusive) in `zone`.
    pub fn new(zone: PageZone, first: NaiveDate, last: NaiveDate) -> Self {
        Self(
            first
                .iter_days()
                .take_while(|d| *d <= last)
                .map(|date| {
                    let (s, e) = zone.day_bounds(date);
                    (date, s, e)
                })
                .collect(),
        )
    }

    /// The days from `first` to `last` of these (both must be among them, in order).
    pub fn slice(&self, first: NaiveDate, last: NaiveDate) -> DayBounds {
        DayBounds(
            self.0
                .iter()
                .filter(|d| first <= d.0 && d.0 <= last)
                .copied()
                .collect(),
        )
    }

    /// The instant the first day begins.
    pub fn instant_from(&self) -> Option<DateTime<Utc>> {
        self.0.first().map(|d| d.1)
    }
}

/// One calendar day's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Day {
    /// The date, in the page's zone.
    pub date: NaiveDate,
    /// What happened that day.
    pub figures: Figures,
}

/// The `n` dates ending with today (in `zone`), oldest first: `(first, last)`.
pub fn last_days(zone: PageZone, now: DateTime<Utc>, n: u32) -> (NaiveDate, NaiveDate) {
    let today = zone.date(now);
    let first = today - TimeDelta::days(i64::from(n.max(1)) - 1);
    (first, today)
}

/// The first and last date of the month `months_back` months before the one holding `today`.
pub fn month_bounds(today: NaiveDate, months_back: u32) -> (NaiveDate, NaiveDate) {
    let index = today.year() * 12 + today.month0() as i32 - months_back as i32;
    let (y, m) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
    let first = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(today);
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    let last = next.and_then(|n| n.pred_opt()).unwrap_or(first);
    (first, last)
}

/// The dates (in `zone`) an incident open from `started` to `resolved` (or still open at
/// `now`) touches: `(first, last)`, inclusive.
pub fn incident_dates(
    zone: PageZone,
    started: DateTime<Utc>,
    resolved: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (NaiveDate, NaiveDate) {
    let end = resolved.unwrap_or(now).max(started);
    (zone.date(started), zone.date(end))
}

/// An uptime fraction as the page prints it: `99.95` (two decimals, truncated so that a day
/// with any down time never shows 100.00).
pub fn percent(uptime: f64) -> String {
    let p = (uptime * 10_000.0).floor() / 100.0;
    format!("{p:.2}")
}

#[cfg(test)]
mod tests;
