use super::*;
use ComponentStatus as S;
use chrono::TimeZone;

fn t(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn ch(at: DateTime<Utc>, status: S) -> StatusChange {
    StatusChange { at, status }
}

const H: i64 = 3_600_000;

#[test]
fn default_weights_are_designs() {
    let w = UptimeWeights::default();
    assert_eq!(
        (w.major_outage, w.partial_outage, w.degraded_performance),
        (1.0, 0.3, 0.0)
    );
    assert!(UptimeWeights::new(1.0, 1.5, 0.0).is_err());
    assert!(UptimeWeights::new(-0.1, 0.3, 0.0).is_err());
}

#[test]
fn a_full_operational_day_is_100_percent() {
    let history = [ch(t(2025, 1, 1, 0, 0), S::Operational)];
    let tl = Timeline::new(&history, None, PageZone::UTC, t(2025, 1, 10, 0, 0));
    let days = tl.days(PageZone::UTC, date(2025, 1, 2), date(2025, 1, 2));
    assert_eq!(days[0].figures.observed_ms, 24 * H);
    assert_eq!(days[0].figures.uptime(&UptimeWeights::default()), Some(1.0));
    assert_eq!(days[0].figures.level(), Level::Operational);
}

#[test]
fn weights_apply_per_status() {
    // 2 h major, 2 h partial, 2 h degraded, rest operational, on 2025-01-02.
    let history = [
        ch(t(2025, 1, 1, 0, 0), S::Operational),
        ch(t(2025, 1, 2, 1, 0), S::MajorOutage),
        ch(t(2025, 1, 2, 3, 0), S::PartialOutage),
        ch(t(2025, 1, 2, 5, 0), S::DegradedPerformance),
        ch(t(2025, 1, 2, 7, 0), S::Operational),
    ];
    let tl = Timeline::new(&history, None, PageZone::UTC, t(2025, 1, 10, 0, 0));
    let f = tl.days(PageZone::UTC, date(2025, 1, 2), date(2025, 1, 2))[0].figures;
    assert_eq!(
        (f.major_ms, f.partial_ms, f.degraded_ms),
        (2 * H, 2 * H, 2 * H)
    );
    let w = UptimeWeights::default();
    let expected = 1.0 - (2.0 + 0.6) / 24.0;
    assert!((f.uptime(&w).unwrap() - expected).abs() < 1e-12);
    assert_eq!(f.level(), Level::Major);
    let strict = UptimeWeights::new(1.0, 1.0, 1.0).unwrap();
    assert!((f.uptime(&strict).unwrap() - 18.0 / 24.0).abs() < 1e-12);
}

#[test]
fn maintenance_is_excluded_from_the_count() {
    let history = [
        ch(t(2025, 1, 1, 0, 0), S::Operational),
        ch(t(2025, 1, 2, 0, 0), S::UnderMaintenance),
        ch(t(2025, 1, 2, 12, 0), S::MajorOutage),
        ch(t(2025, 1, 2, 18, 0), S::Operational),
    ];
    let tl = Timeline::new(&history, None, PageZone::UTC, t(2025, 1, 10, 0, 0));
    let f = tl.days(PageZone::UTC, date(2025, 1, 2), date(2025, 1, 2))[0].figures;
    assert_eq!(f.counted_ms(), 12 * H);
    assert_eq!(f.uptime(&UptimeWeights::default()), Some(0.5));
    // A day spent entirely in maintenance has no uptime figure but is not "no data".
    let all_maint = [ch(t(2025, 1, 1, 0, 0), S::UnderMaintenance)];
    let tl = Timeline::new(&all_maint, None, PageZone::UTC, t(2025, 1, 3, 0, 0));
    let f = tl.days(PageZone::UTC, date(2025, 1, 2), date(2025, 1, 2))[0].figures;
    assert_eq!(f.uptime(&UptimeWeights::default()), None);
    assert_eq!(f.level(), Level::Maintenance);
}

#[test]
fn days_before_the_start_date_have_no_data() {
    let history = [ch(t(2024, 12, 1, 0, 0), S::MajorOutage)];
    let tl = Timeline::new(
        &history,
        Some(date(2025, 1, 3)),
        PageZone::UTC,
        t(2025, 1, 5, 0, 0),
    );
    let days = tl.days(PageZone::UTC, date(2025, 1, 1), date(2025, 1, 4));
    assert_eq!(days.len(), 4);
    assert_eq!(days[0].figures.level(), Level::NoData);
    assert_eq!(days[1].figures.level(), Level::NoData);
    assert_eq!(days[1].figures.uptime(&UptimeWeights::default()), None);
    assert_eq!(days[2].figures.observed_ms, 24 * H);
    assert_eq!(days[2].figures.level(), Level::Major);
}

#[test]
fn days_before_the_first_status_and_the_future_have_no_data() {
    let history = [ch(t(2025, 1, 2, 12, 0), S::Operational)];
    let now = t(2025, 1, 3, 6, 0);
    let tl = Timeline::new(&history, None, PageZone::UTC, now);
    let days = tl.days(PageZone::UTC, date(2025, 1, 1), date(2025, 1, 4));
    assert_eq!(days[0].figures.observed_ms, 0);
    assert_eq!(
        days[1].figures.observed_ms,
        12 * H,
        "from the first status on"
    );
    assert_eq!(days[2].figures.observed_ms, 6 * H, "today, until now");
    assert_eq!(days[3].figures.level(), Level::NoData, "tomorrow");
}

#[test]
fn day_boundaries_follow_the_page_zone() {
    // An outage from 23:00 to 01:00 UTC is one day in UTC, but in Paris (UTC+1 in winter)
    // it runs from 00:00 to 02:00 local: entirely on the second day.
    let history = [
        ch(t(2025, 1, 1, 0, 0), S::Operational),
        ch(t(2025, 1, 1, 23, 0), S::MajorOutage),
        ch(t(2025, 1, 2, 1, 0), S::Operational),
    ];
    let now = t(2025, 1, 5, 0, 0);
    let utc = Timeline::new(&history, None, PageZone::UTC, now);
    let d = utc.days(PageZone::UTC, date(2025, 1, 1), date(2025, 1, 2));
    assert_eq!((d[0].figures.major_ms, d[1].figures.major_ms), (H, H));
    let paris = PageZone::parse("tz", "Europe/Paris").unwrap();
    let tl = Timeline::new(&history, None, paris, now);
    let d = tl.days(paris, date(2025, 1, 1), date(2025, 1, 2));
    assert_eq!((d[0].figures.major_ms, d[1].figures.major_ms), (0, 2 * H));
    assert_eq!(d[1].figures.observed_ms, 24 * H);
}

#[test]
fn dst_days_are_23_and_25_hours_long() {
    let paris = PageZone::parse("tz", "Europe/Paris").unwrap();
    let history = [ch(t(2025, 1, 1, 0, 0), S::Operational)];
    let tl = Timeline::new(&history, None, paris, t(2025, 12, 1, 0, 0));
    let spring = tl.days(paris, date(2025, 3, 30), date(2025, 3, 30))[0].figures;
    let autumn = tl.days(paris, date(2025, 10, 26), date(2025, 10, 26))[0].figures;
    assert_eq!(spring.observed_ms, 23 * H);
    assert_eq!(autumn.observed_ms, 25 * H);
}

#[test]
fn group_figures_are_the_sum_of_their_components() {
    let a = Figures {
        observed_ms: 24 * H,
        major_ms: 12 * H,
        ..Figures::default()
    };
    let b = Figures {
        observed_ms: 24 * H,
        ..Figures::default()
    };
    let g = Figures::sum([&a, &b]);
    assert_eq!(g.uptime(&UptimeWeights::default()), Some(0.75));
    assert_eq!(g.level(), Level::Major);
}

#[test]
fn last_days_and_months() {
    let (first, last) = last_days(PageZone::UTC, t(2025, 3, 31, 12, 0), 90);
    assert_eq!(last, date(2025, 3, 31));
    assert_eq!((last - first).num_days(), 89);
    assert_eq!(
        month_bounds(date(2025, 3, 15), 0),
        (date(2025, 3, 1), date(2025, 3, 31))
    );
    assert_eq!(
        month_bounds(date(2025, 3, 15), 1),
        (date(2025, 2, 1), date(2025, 2, 28))
    );
    assert_eq!(
        month_bounds(date(2025, 1, 15), 1),
        (date(2024, 12, 1), date(2024, 12, 31))
    );
    assert_eq!(
        month_bounds(date(2025, 1, 15), 13),
        (date(2023, 12, 1), date(2023, 12, 31))
    );
}

#[test]
fn incidents_touch_the_days_they_span() {
    let paris = PageZone::parse("tz", "Europe/Paris").unwrap();
    let (a, b) = incident_dates(
        paris,
        t(2025, 1, 1, 22, 0),
        Some(t(2025, 1, 1, 23, 30)),
        t(2025, 2, 1, 0, 0),
    );
    assert_eq!((a, b), (date(2025, 1, 1), date(2025, 1, 2)));
    let (a, b) = incident_dates(
        PageZone::UTC,
        t(2025, 1, 1, 22, 0),
        None,
        t(2025, 1, 3, 1, 0),
    );
    assert_eq!((a, b), (date(2025, 1, 1), date(2025, 1, 3)));
}

#[test]
fn percentages_never_round_up_to_100() {
    assert_eq!(percent(1.0), "100.00");
    assert_eq!(percent(0.99999), "99.99");
    assert_eq!(percent(0.5), "50.00");
}
