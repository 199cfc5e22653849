//! The date range of the v1 uptime endpoints (`GET .../components/{id}/uptime`), as
//! Statuspage takes it: `start` and `end` as `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or a full
//! timestamp (its date is used); by default the last 90 days, but not before the component's
//! `start_date`; at most six calendar months; an `end` in the future ends today.

use chrono::{Months, NaiveDate, TimeDelta};

use crate::Invalid;

/// The longest range, in calendar months.
pub const MAX_MONTHS: u32 = 6;
/// The default range, in days (today included).
pub const DEFAULT_DAYS: i64 = 90;

/// A validated range of whole days, in the page's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UptimeRange {
    /// The first day counted.
    pub first: NaiveDate,
    /// The last day counted (today at the latest).
    pub last: NaiveDate,
    /// What was adjusted, for the response's `warnings`.
    pub warnings: Vec<String>,
}

fn bound(field: &str, s: &str, end: bool) -> Result<NaiveDate, Invalid> {
    let s = s.trim();
    let bad = || {
        Invalid::new(
            field,
            format!("{field} must be a date: YYYY, YYYY-MM or YYYY-MM-DD; got {s:?}"),
        )
    };
    let date_part = s.get(..10).filter(|_| s.len() > 10).unwrap_or(s);
    let parts: Vec<&str> = date_part.split('-').collect();
    let num = |p: &str| p.parse::<u32>().map_err(|_| bad());
    let year = parts
        .first()
        .filter(|y| y.len() == 4)
        .ok_or_else(bad)
        .and_then(|y| num(y))?;
    let year = i32::try_from(year).map_err(|_| bad())?;
    match parts.as_slice() {
        [_] => NaiveDate::from_ymd_opt(year, if end { 12 } else { 1 }, if end { 31 } else { 1 }),
        [_, m] => {
            let first = NaiveDate::from_ymd_opt(year, num(m)?, 1);
            if end {
                first
                    .and_then(|f| f.checked_add_months(Months::new(1)))
                    .and_then(|n| n.pred_opt())
            } else {
                first
            }
        }
        [_, m, d] => NaiveDate::from_ymd_opt(year, num(m)?, num(d)?),
        _ => None,
    }
    .ok_or_else(bad)
}

/// The range `start`..`end` asks for on a component that started on `start_date`, today
/// being `today` in the page's zone.
pub fn parse_range(
    start: Option<&str>,
    end: Option<&str>,
    start_date: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<UptimeRange, Invalid> {
    let mut warnings = Vec::new();
    let mut last = match end.filter(|e| !e.trim().is_empty()) {
        Some(e) => bound("end", e, true)?,
        None => today,
    };
    if last > today {
        warnings.push(format!(
            "end {last} is in the future: the range ends today, {today}"
        ));
        last = today;
    }
    let first = match start.filter(|s| !s.trim().is_empty()) {
        Some(s) => bound("start", s, false)?,
        None => {
            let window = last - TimeDelta::days(DEFAULT_DAYS - 1);
            start_date.map_or(window, |d| d.max(window)).min(last)
        }
    };
    if first > last {
        return Err(Invalid::new(
            "start",
            format!("start {first} is after end {last}"),
        ));
    }
    let earliest = last
        .checked_sub_months(Months::new(MAX_MONTHS))
        .unwrap_or(NaiveDate::MIN);
    if first < earliest {
        return Err(Invalid::new(
            "start",
            format!(
                "the range may cover at most {MAX_MONTHS} months: {first} to {last} is longer (start on {earliest} or later)"
            ),
        ));
    }
    if let Some(d) = start_date
        && first < d
    {
        warnings.push(format!(
            "the component started on {d}: days before it have no data"
        ));
    }
    Ok(UptimeRange {
        first,
        last,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn partial_dates_cover_their_year_or_month() {
        let r = parse_range(Some("2025"), Some("2025-03"), None, d("2025-06-01")).unwrap();
        assert_eq!((r.first, r.last), (d("2025-01-01"), d("2025-03-31")));
        let r = parse_range(Some("2024-02"), Some("2024-02"), None, d("2025-06-01")).unwrap();
        assert_eq!((r.first, r.last), (d("2024-02-01"), d("2024-02-29")));
        let r = parse_range(Some("2025-01-05T10:00:00Z"), None, None, d("2025-02-01")).unwrap();
        assert_eq!((r.first, r.last), (d("2025-01-05"), d("2025-02-01")));
    }

    #[test]
    fn the_default_is_ninety_days_but_not_before_the_start_date() {
        let r = parse_range(None, None, None, d("2025-06-30")).unwrap();
        assert_eq!((r.first, r.last), (d("2025-04-02"), d("2025-06-30")));
        let r = parse_range(None, None, Some(d("2025-06-01")), d("2025-06-30")).unwrap();
        assert_eq!(r.first, d("2025-06-01"));
    }

    #[test]
    fn ranges_are_bounded_and_ordered() {
        let today = d("2025-12-31");
        assert!(parse_range(Some("2025-01-01"), Some("2025-07-02"), None, today).is_err());
        assert!(parse_range(Some("2025-01-01"), Some("2025-07-01"), None, today).is_ok());
        let e = parse_range(Some("2025-05-01"), Some("2025-04-01"), None, today).unwrap_err();
        assert_eq!(e.field, "start");
        let e = parse_range(Some("yesterday"), None, None, today).unwrap_err();
        assert!(e.message.contains("start must be a date"), "{}", e.message);
        assert!(parse_range(Some("2025-13"), None, None, today).is_err());
        let r = parse_range(Some("2025-12-01"), Some("2026-01-10"), None, today).unwrap();
        assert_eq!(r.last, today);
        assert_eq!(r.warnings.len(), 1);
    }
}
