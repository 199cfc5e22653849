//! View models of uptime: the 90 daily bars of the home page and the month calendars of
//! `/uptime`, computed with `herald_domain::uptime` from the page's status history.

use chrono::NaiveDate;
use herald_domain::component::Component;
use herald_domain::uptime::{self, Day, DayBounds, Figures, StatusChange, Timeline, UptimeWeights};
use std::collections::HashMap;
use std::sync::Arc;

use super::Source;

/// Days of bars on the home page.
pub const BAR_DAYS: u32 = 90;

/// A day as its bar names it: `Mar 3, 2025`.
fn label(date: NaiveDate) -> String {
    date.format("%b %-d, %Y").to_string()
}

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

/// The incidents that touched each component, computed once per render; each component's
/// days are cut from the part of its history they need (`Uptime::days`).
pub struct Uptime<'a> {
    src: &'a Source,
    /// The days from the first one shown to today.
    bounds: DayBounds,
    /// Per component: the incidents that named it, in the page's incident order (newest
    /// first), as indexes into `incidents`.
    touched: HashMap<&'a str, Vec<usize>>,
    /// The incidents that may touch a bar: each one's index in the page's incidents, its
    /// first and last dates, and its name. Only these: a page with years of history keeps
    /// a few months' worth here, not a vector as long as its history on every render.
    incidents: Vec<(usize, NaiveDate, NaiveDate, &'a str)>,
    /// Today, and its date as the bars show it (every row has a bar for today).
    today: (NaiveDate, String),
}

impl<'a> Uptime<'a> {
    /// Ready to figure days from `since` to today.
    pub fn new(src: &'a Source, since: NaiveDate) -> Self {
        let zone = src.page.zone;
        let today = zone.date(src.now);
        let bounds = DayBounds::new(zone, since, today);
        // Incidents resolved before the first day shown touch no bar (a day's margin for
        // the zone): they are skipped before any date arithmetic.
        let from = bounds.instant_from().unwrap_or(src.now) - chrono::TimeDelta::days(1);
        let mut touched: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut incidents = Vec::new();
        for (at, i) in src.incidents.iter().enumerate() {
            if i.resolved_at.is_some_and(|r| r < from) {
                continue;
            }
            let (a, b) = uptime::incident_dates(zone, i.started_at, i.resolved_at, src.now);
            let n = incidents.len();
            incidents.push((at, a, b, i.name.as_str()));
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
            touched,
            incidents,
            today: (today, label(today)),
        }
    }

    /// The components whose figures make `c`'s: its own, or a group's components.
    fn members(&self, c: &'a Component) -> Vec<&'a Component> {
        if c.is_group {
            self.src
                .components
                .iter()
                .filter(|x| x.group_id.as_deref() == Some(c.id.as_str()))
                .collect()
        } else {
            vec![c]
        }
    }

    fn history(&self, id: &str) -> Option<&'a Arc<Vec<StatusChange>>> {
        self.src.histories.get(id)
    }

    /// The incidents that named any of `members`, once each, in the page's order.
    fn touching(&self, members: &[&Component]) -> Vec<usize> {
        let mut touching: Vec<usize> = members
            .iter()
            .filter_map(|m| self.touched.get(m.id.as_str()))
            .flatten()
            .copied()
            .collect();
        touching.sort_unstable();
        touching.dedup();
        touching
    }

    /// A hash of everything `c`'s figures and incident names from `first` to `last` depend
    /// on but the passing of time: its members' histories (by identity: the histories are
    /// returned, to be held as long as the hash is remembered, so that no other history can
    /// take their place in memory) and start dates, and the revisions of the incidents that
    /// named them. Days before today do not depend on the time, so for them this is a key.
    pub fn key(
        &self,
        c: &'a Component,
        first: NaiveDate,
        last: NaiveDate,
    ) -> (u64, Vec<Arc<Vec<StatusChange>>>) {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = crate::public::fragments::hasher().build_hasher();
        let members = self.members(c);
        let mut held = Vec::with_capacity(members.len());
        (first, last, self.src.page.zone.name()).hash(&mut h);
        let w = &self.src.weights;
        (
            w.major_outage.to_bits(),
            w.partial_outage.to_bits(),
            w.degraded_performance.to_bits(),
        )
            .hash(&mut h);
        for m in &members {
            (&m.id, m.start_date).hash(&mut h);
            match self.history(&m.id) {
                Some(v) => {
                    (Arc::as_ptr(v) as usize).hash(&mut h);
                    held.push(v.clone());
                }
                None => 0usize.hash(&mut h),
            }
        }
        for n in self.touching(&members) {
            self.src.incidents[self.incidents[n].0].rev.hash(&mut h);
        }
        (h.finish(), held)
    }

    /// Daily figures of `members` (summed) from `first` to `last`.
    fn days_of(&self, members: &[&'a Component], first: NaiveDate, last: NaiveDate) -> Vec<Day> {
        let bounds = self.bounds.slice(first, last);
        let zone = self.src.page.zone;
        let from = bounds.instant_from().unwrap_or(self.src.now);
        let per: Vec<Vec<Day>> = members
            .iter()
            .filter_map(|m| Some((m, self.history(&m.id)?)))
            .map(|(m, h)| {
                // Changes before the last one at or before the first day begins show on no
                // day asked for: the timeline starts there.
                let k = h.partition_point(|x| x.at <= from).saturating_sub(1);
                Timeline::new(&h[k..], m.start_date, zone, self.src.now).days_in(&bounds)
            })
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

    /// The figures of each day from `first` to `last` of a component (a group: the sum of
    /// its components'), each with the names of the incidents that touched it that day.
    pub fn day_figures(
        &self,
        c: &'a Component,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Vec<(Day, Vec<&'a str>)> {
        let members = self.members(c);
        let touching = self.touching(&members);
        self.days_of(&members, first, last)
            .into_iter()
            .map(|d| {
                let names = touching
                    .iter()
                    .map(|&n| self.incidents[n])
                    .filter(|(_, a, b, _)| *a <= d.date && d.date <= *b)
                    .map(|(_, _, _, name)| name)
                    .collect();
                (d, names)
            })
            .collect()
    }

    /// The uptime weights in force.
    pub fn weights(&self) -> &UptimeWeights {
        &self.src.weights
    }

    /// One day's bar.
    pub fn bar_day(&self, d: &Day, incidents: &[&str]) -> BarDay {
        let w = &self.src.weights;
        BarDay {
            level: d.figures.level().as_str(),
            date: if d.date == self.today.0 {
                self.today.1.clone()
            } else {
                label(d.date)
            },
            uptime: match d.figures.uptime(w) {
                Some(u) => format!("{}% uptime", uptime::percent(u)),
                None if d.figures.maintenance_ms > 0 => "Maintenance".to_owned(),
                None => "No data".to_owned(),
            },
            incidents: incidents.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    /// Bars for the days `first..=last`.
    pub fn bars(&self, c: &'a Component, first: NaiveDate, last: NaiveDate) -> Bars {
        let days = self.day_figures(c, first, last);
        let total = Figures::sum(days.iter().map(|(d, _)| &d.figures));
        Bars {
            label: c.name.clone(),
            percent: total.uptime(&self.src.weights).map(uptime::percent),
            days: days.iter().map(|(d, n)| self.bar_day(d, n)).collect(),
        }
    }
}
