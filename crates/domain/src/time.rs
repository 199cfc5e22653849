//! Timestamps as Statuspage prints them: ISO 8601, exactly three fractional digits, and the
//! page's offset (`Z` for pages in UTC): `2020-12-03T08:11:21.385Z`,
//! `2019-06-24T06:07:14.473-07:00`. Dates are `YYYY-MM-DD`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

use crate::Invalid;

/// A page's time zone, parsed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageZone(Tz);

impl PageZone {
    /// UTC, the default.
    pub const UTC: PageZone = PageZone(Tz::Etc__UTC);

    /// Parses an IANA zone name such as `Europe/Paris` or `Etc/UTC`.
    pub fn parse(field: &str, name: &str) -> Result<Self, Invalid> {
        Tz::from_str(name.trim()).map(PageZone).map_err(|_| {
            Invalid::new(
                field,
                format!("{field} must be an IANA time zone such as Etc/UTC or Europe/Paris; got {name:?}"),
            )
        })
    }

    /// Like [`PageZone::parse`] for names already validated when they were stored; an
    /// unknown name (impossible unless the database was edited by hand) falls back to UTC.
    pub fn from_stored(name: &str) -> Self {
        Tz::from_str(name).map(PageZone).unwrap_or(Self::UTC)
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Whether timestamps print with `Z`.
    fn is_utc(self) -> bool {
        matches!(
            self.0,
            Tz::Etc__UTC
                | Tz::UTC
                | Tz::Etc__UCT
                | Tz::Etc__Universal
                | Tz::Etc__Zulu
                | Tz::Universal
                | Tz::Zulu
                | Tz::UCT
                | Tz::Etc__GMT
                | Tz::GMT
        )
    }

    /// `t` formatted as Statuspage does.
    pub fn format(self, t: DateTime<Utc>) -> String {
        if self.is_utc() {
            return t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        }
        t.with_timezone(&self.0)
            .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    }

    /// `t` formatted if present, else `None` (serialised as `null`).
    pub fn format_opt(self, t: Option<DateTime<Utc>>) -> Option<String> {
        t.map(|t| self.format(t))
    }

    /// The calendar date of `t` on this page.
    pub fn date(self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.0).date_naive()
    }

    /// The UTC offset at `t`, in seconds east of UTC.
    pub fn offset_seconds(self, t: DateTime<Utc>) -> i32 {
        self.0
            .offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc()
    }

    /// The first instant of `date` in this zone (local midnight, or the first instant after
    /// it when a DST change skips midnight).
    pub fn day_start(self, date: NaiveDate) -> DateTime<Utc> {
        let mut local = date.and_time(chrono::NaiveTime::MIN);
        for _ in 0..4 {
            if let Some(t) = self.0.from_local_datetime(&local).earliest() {
                return t.with_timezone(&Utc);
            }
            local += chrono::TimeDelta::minutes(30);
        }
        date.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// `[start, end)` of `date` in this zone, in UTC (23, 24 or 25 hours long).
    pub fn day_bounds(self, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let next = date.succ_opt().unwrap_or(date);
        (self.day_start(date), self.day_start(next))
    }

    /// `t` in this zone formatted with a `strftime` pattern (`%Z` gives the zone's
    /// abbreviation, e.g. `UTC` or `CET`).
    pub fn strftime(self, t: DateTime<Utc>, pattern: &str) -> String {
        t.with_timezone(&self.0).format(pattern).to_string()
    }

    /// Parses a timestamp sent by a client: RFC 3339 with an offset, or a local date-time
    /// without one (`2025-03-10T02:00`, what an HTML `datetime-local` input sends), which is
    /// read in this page's zone. Sub-millisecond digits are dropped.
    pub fn parse_datetime(self, field: &str, s: &str) -> Result<DateTime<Utc>, Invalid> {
        let s = s.trim();
        let bad = || {
            Invalid::new(
                field,
                format!(
                    "{field} must be an ISO 8601 timestamp such as 2025-03-10T02:00:00Z; got {s:?}"
                ),
            )
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(crate::clock::truncate_ms(t.with_timezone(&Utc)));
        }
        let naive = [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .ok_or_else(bad)?;
        self.0
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| crate::clock::truncate_ms(t.with_timezone(&Utc)))
            .ok_or_else(bad)
    }
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(field: &str, s: &str) -> Result<NaiveDate, Invalid> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        Invalid::new(
            field,
            format!("{field} must be a date such as 2024-01-31; got {s:?}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_ms;

    #[test]
    fn utc_pages_print_z_and_three_digits() {
        let t = from_ms(1_606_983_081_385);
        assert_eq!(PageZone::UTC.format(t), "2020-12-03T08:11:21.385Z");
        assert_eq!(
            PageZone::UTC.format(from_ms(1_606_983_081_000)),
            "2020-12-03T08:11:21.000Z"
        );
    }

    #[test]
    fn other_zones_print_their_offset() {
        let la = PageZone::parse("tz", "America/Los_Angeles").unwrap();
        let t = from_ms(1_561_381_634_473); // 2019-06-24T13:07:14.473Z
        assert_eq!(la.format(t), "2019-06-24T06:07:14.473-07:00");
        let london = PageZone::parse("tz", "Europe/London").unwrap();
        assert_eq!(london.format(from_ms(0)), "1970-01-01T01:00:00.000+01:00");
    }

    #[test]
    fn unknown_zones_are_rejected() {
        assert!(PageZone::parse("page.time_zone", "Mars/Olympus").is_err());
    }

    #[test]
    fn client_timestamps_parse_with_or_without_offset() {
        let paris = PageZone::parse("tz", "Europe/Paris").unwrap();
        let a = paris.parse_datetime("f", "2025-03-10T02:00:00Z").unwrap();
        assert_eq!(a.timestamp_millis(), 1_741_572_000_000);
        let b = paris.parse_datetime("f", "2025-03-10T03:00").unwrap();
        assert_eq!(a, b, "local time is read in the page's zone");
        assert!(paris.parse_datetime("f", "yesterday").is_err());
    }

    #[test]
    fn dates_parse_strictly() {
        assert!(parse_date("d", "2024-02-30").is_err());
        assert_eq!(
            parse_date("d", "2024-02-29").unwrap().to_string(),
            "2024-02-29"
        );
    }
}
