//! View models of uptime: the 90 daily bars of the home page and the month calendars of
//! `/uptime`, computed with `herald_domain::uptime` from the page's status history.

use chrono::NaiveDate;
use herald_domain::component::Component;
use herald_domain::uptime::{self, Day, Figures, StatusChange, Timeline};
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

/// Per-component timelines and incident dates, computed once per render.
pub struct Uptime<'a> {
    src: &'a Source,
    timelines: HashMap<&'a str, Timeline>,
    incidents: Vec<(NaiveDate, NaiveDate, &'a str, &'a [String])>,
}

impl<'a> Uptime<'a> {
    /// Builds every component's timeline.
    pub fn new(src: &'a Source) -> Self {
        let mut history: HashMap<&str, Vec<StatusChange>> = HashMap::new();
        for e in &src.log {
            history
                .entry(e.component_id.as_str())
                .or_default()
                .push(StatusChange {
                    at: e.at,
                    status: e.status,
                });
        }
        let zone = src.page.zone;
        let timelines = src
            .components
            .iter()
            .filter(|c| !c.is_group)
            .map(|c| {
                let h = history.get(c.id.as_str()).map_or(&[][..], |v| v.as_slice());
                (c.id.as_str(), Timeline::new(h, c.start_date, zone, src.now))
            })
            .collect();
        let incidents = src
            .incidents
            .iter()
            .map(|i| {
                let (a, b) = uptime::incident_dates(zone, i.started_at, i.resolved_at, src.now);
                (a, b, i.name.as_str(), i.component_ids.as_slice())
            })
            .collect();
        Self {
            src,
            timelines,
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
        let zone = self.src.page.zone;
        let per: Vec<Vec<Day>> = self
            .members(c)
            .iter()
            .filter_map(|id| self.timelines.get(id))
            .map(|t| t.days(zone, first, last))
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
                    incidents: self
                        .incidents
                        .iter()
                        .filter(|(a, b, _, ids)| {
                            *a <= d.date
                                && d.date <= *b
                                && ids.iter().any(|id| members.contains(&id.as_str()))
                        })
                        .map(|(_, _, name, _)| (*name).to_owned())
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
