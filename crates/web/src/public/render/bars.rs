//! View models of uptime: the 90 daily bars of the home page and the month calendars of
//! `/uptime`, computed with `herald_domain::uptime` from the page's status history.

use chrono::NaiveDate;
use herald_domain::component::Component;
use herald_domain::uptime::{self, Day, DayBounds, Figures, Timeline};
use std::collections::HashMap;

use super::Source;

/// Days of bars on the home page.
pub const BAR_DAYS: u32 = 90;

/// One day's bar.
#[derive(Debug, Clone)]
pub struct BarDay {
    /// CSS class: `operational`, `degraded`, `partial`, `major`, `maintenance`, `nodata`.
    pub level: &'static str,
    /// `Mar 3, 2025`.
    pub date: String,
    /// `99.95% uptime`, or why there is no figure.
    pub uptime: String,
    /// Names of the incidents that touched that day.
    pub incidents: Vec<String>,
}

/// A run of day bars with their overall percentage.
#[derive(Debug, Clone)]
pub struct Bars {
    /// What the bars are of (for screen readers).
    pub label: String,
    /// Oldest first.
    pub days: Vec<BarDay>,
    /// Uptime over the whole run, `None` without data.
    pub percent: Option<String>,
}

/// Per-component timelines and the incidents that touched each component, computed once
/// per render.
pub struct Uptime<'a> {
    src: &'a Source,
    /// The days from the first one shown to today.
    bounds: DayBounds,
    timelines: HashMap<&'a str, Timeline>,
    /// Per component: the dates and names of the incidents that named it, in the page's
    /// incident order (newest first), as indexes into `incidents`.
    touched: HashMap<&'a str, Vec<usize>>,
    incidents: Vec<(NaiveDate, NaiveDate, &'a str)>,
}

impl<'a> Uptime<'a> {
    /// Builds every component's timeline, for days from `since` to today.
    pub fn new(src: &'a Source, since: NaiveDate) -> Self {
        let zone = src.page.zone;
        let today = zone.date(src.now);
        let bounds = DayBounds::new(zone, since, today);
        // Incidents resolved before the first day shown touch no bar (a day's margin for
        // the zone): they are skipped before any date arithmetic.
        let from = bounds.instant_from().unwrap_or(src.now) - chrono::TimeDelta::days(1);
        let timelines = src
            .components
            .iter()
            .filter(|c| !c.is_group)
            .map(|c| {
                let h = src
                    .histories
                    .get(c.id.as_str())
                    .map_or(&[][..], |v| v.as_slice());
                (c.id.as_str(), Timeline::new(h, c.start_date, zone, src.now))
            })
            .collect();
        let mut touched: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut incidents = Vec::with_capacity(src.incidents.len());
        for (n, i) in src.incidents.iter().enumerate() {
            if i.resolved_at.is_some_and(|r| r < from) {
                incidents.push((NaiveDate::MAX, NaiveDate::MIN, ""));
                continue;
            }
            let (a, b) = uptime::incident_dates(zone, i.started_at, i.resolved_at, src.now);
            incidents.push((a, b, i.name.as_str()));
            for id in &i.component_ids {
                let list = touched.entry(id.as_str()).or_default();
                if list.last() != Some(&n) {
                    list.push(n);
                }
            }
        }
        Self {
            src,
            bounds,
            timelines,
            touched,
            incidents,
        }
    }

    fn members(&self, c: &'a Component) -> Vec<&'a str> {
        if c.is_group {
            self.src
                .components
                .iter()
                .filter(|x| x.group_id.as_deref() == Some(c.id.as_str()))
                .map(|x| x.id.as_str())
                .collect()
        } else {
            vec![c.id.as_str()]
        }
    }

    /// Daily figures of a component (a group: the sum of its components') from `first` to
    /// `last`.
    pub fn days(&self, c: &'a Component, first: NaiveDate, last: NaiveDate) -> Vec<Day> {
        let bounds = self.bounds.slice(first, last);
        let per: Vec<Vec<Day>> = self
            .members(c)
            .iter()
            .filter_map(|id| self.timelines.get(id))
            .map(|t| t.days_in(&bounds))
            .collect();
        first
            .iter_days()
            .take_while(|d| *d <= last)
            .enumerate()
            .map(|(n, date)| Day {
                date,
                figures: Figures::sum(per.iter().filter_map(|v| v.get(n)).map(|d| &d.figures)),
            })
            .collect()
    }

    /// Bars for the days `first..=last`.
    pub fn bars(&self, c: &'a Component, first: NaiveDate, last: NaiveDate) -> Bars {
        let members = self.members(c);
        // The incidents that named any member, once each, in the page's order.
        let mut touching: Vec<usize> = members
            .iter()
            .filter_map(|id| self.touched.get(id))
            .flatten()
            .copied()
            .collect();
        touching.sort_unstable();
        touching.dedup();
        let w = &self.src.weights;
        let days = self.days(c, first, last);
        let total = Figures::sum(days.iter().map(|d| &d.figures));
        Bars {
            label: c.name.clone(),
            percent: total.uptime(w).map(uptime::percent),
            days: days
                .iter()
                .map(|d| BarDay {
                    level: d.figures.level().as_str(),
                    date: d.date.format("%b %-d, %Y").to_string(),
                    uptime: match d.figures.uptime(w) {
                        Some(u) => format!("{}% uptime", uptime::percent(u)),
                        None if d.figures.maintenance_ms > 0 => "Maintenance".to_owned(),
                        None => "No data".to_owned(),
                    },
                    incidents: touching
                        .iter()
                        .map(|&n| self.incidents[n])
                        .filter(|(a, b, _)| *a <= d.date && d.date <= *b)
                        .map(|(_, _, name)| name.to_owned())
                        .collect(),
                })
                .collect(),
        }
    }

    /// The home page's bars: the last 90 days.
    pub fn recent(&self, c: &'a Component) -> Bars {
        let (first, last) = uptime::last_days(self.src.page.zone, self.src.now, BAR_DAYS);
        self.bars(c, first, last)
    }
}
