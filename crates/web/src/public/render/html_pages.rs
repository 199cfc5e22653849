//! The secondary HTML pages: an incident's own page, `/history` (by month, three months a
//! page) and `/uptime` (month calendars per component, three months a page).

use askama::Template;
use chrono::{Datelike, NaiveDate};
use herald_domain::incident::Incident;
use herald_domain::markdown;
use herald_domain::uptime;

use super::bars::{Bars, Uptime};
use super::html::{IncidentCard, Layout, SubscribeForms, finish};
use super::{MAX_HISTORY_PAGES, MONTHS_PER_PAGE, Source, UPTIME_MONTHS};

#[derive(Template)]
#[template(path = "public/incident.html")]
struct IncidentView {
    l: Layout,
    i: IncidentCard,
    kind: &'static str,
    postmortem: Option<String>,
    postmortem_at: Option<String>,
    resolved: Option<String>,
    /// The forms to subscribe to this incident (while it is open).
    subscribe: SubscribeForms,
}

/// `/incidents/<id>`.
pub fn incident(src: &Source, i: &Incident) -> (String, String) {
    let z = src.page.zone;
    let fmt = "%b %-d, %Y %H:%M %Z";
    let view = IncidentView {
        l: Layout::new(src, &i.name, 1),
        i: IncidentCard::new(src, i, "../"),
        kind: match i.kind {
            herald_domain::incident::IncidentKind::Realtime => "Incident",
            herald_domain::incident::IncidentKind::Maintenance => "Scheduled maintenance",
        },
        postmortem: i
            .postmortem
            .published_at
            .and(i.postmortem.body.as_deref())
            .map(markdown::to_html),
        postmortem_at: i.postmortem.published_at.map(|t| z.strftime(t, fmt)),
        resolved: i.resolved_at.map(|t| z.strftime(t, fmt)),
        subscribe: if i.is_open() {
            SubscribeForms::of(&src.page.settings, true)
        } else {
            SubscribeForms::default()
        },
    };
    finish(&view, &view.l.style)
}

/// One month of `/history`.
pub struct Month {
    pub title: String,
    pub incidents: Vec<IncidentCard>,
}

#[derive(Template)]
#[template(path = "public/history.html")]
struct HistoryView {
    l: Layout,
    months: Vec<Month>,
    newer: Option<String>,
    older: Option<String>,
}

/// How many `/history` pages there are: enough to reach the oldest incident (at least one).
pub fn history_pages(src: &Source) -> u32 {
    let z = src.page.zone;
    let today = z.date(src.now);
    let oldest = src
        .incidents
        .iter()
        .map(|i| z.date(i.started_at))
        .min()
        .unwrap_or(today);
    let months = (today.year() - oldest.year()) * 12 + today.month() as i32 - oldest.month() as i32;
    (u32::try_from(months).unwrap_or(0) / MONTHS_PER_PAGE + 1).min(MAX_HISTORY_PAGES)
}

fn pager(n: u32, last: u32) -> (Option<String>, Option<String>) {
    let newer = match n {
        1 => None,
        2 => Some("?page=1".to_owned()),
        _ => Some(format!("?page={}", n - 1)),
    };
    let older = (n < last).then(|| format!("?page={}", n + 1));
    (newer, older)
}

/// `/history?page=n`.
pub fn history(src: &Source, n: u32) -> (String, String) {
    let z = src.page.zone;
    let today = z.date(src.now);
    let months = (0..MONTHS_PER_PAGE)
        .map(|k| {
            let (first, last) = uptime::month_bounds(today, (n - 1) * MONTHS_PER_PAGE + k);
            Month {
                title: first.format("%B %Y").to_string(),
                incidents: src
                    .incidents
                    .iter()
                    .filter(|i| {
                        let d = z.date(i.started_at);
                        first <= d && d <= last
                    })
                    .map(|i| IncidentCard::new(src, i, ""))
                    .collect(),
            }
        })
        .collect();
    let (newer, older) = pager(n, history_pages(src));
    let view = HistoryView {
        l: Layout::new(src, "Incident history", 0),
        months,
        newer,
        older,
    };
    finish(&view, &view.l.style)
}

/// One component's month on `/uptime`.
pub struct MonthBars {
    pub title: String,
    pub bars: Bars,
}

/// One component on `/uptime`.
pub struct ComponentUptime {
    pub name: String,
    pub is_group: bool,
    pub months: Vec<MonthBars>,
}

#[derive(Template)]
#[template(path = "public/uptime.html")]
struct UptimeView {
    l: Layout,
    components: Vec<ComponentUptime>,
    newer: Option<String>,
    older: Option<String>,
    major: String,
    partial: String,
    degraded: String,
}

fn weight(w: f64) -> String {
    format!("{}", (w * 1000.0).round() / 10.0)
}

/// `/uptime?page=n`.
pub fn uptime(src: &Source, n: u32) -> (String, String) {
    let z = src.page.zone;
    let today = z.date(src.now);
    let ranges: Vec<(NaiveDate, NaiveDate)> = (0..MONTHS_PER_PAGE)
        .map(|k| uptime::month_bounds(today, (n - 1) * MONTHS_PER_PAGE + k))
        .collect();
    let oldest = ranges.iter().map(|r| r.0).min().unwrap_or(today);
    let up = Uptime::new(src, oldest);
    let components = src
        .components
        .iter()
        .filter(|c| c.showcase || c.is_group)
        .map(|c| ComponentUptime {
            name: c.name.clone(),
            is_group: c.is_group,
            months: ranges
                .iter()
                .map(|&(first, last)| MonthBars {
                    title: first.format("%B %Y").to_string(),
                    bars: up.bars(c, first, last),
                })
                .collect(),
        })
        .collect();
    let (newer, older) = pager(n, UPTIME_MONTHS / MONTHS_PER_PAGE);
    let w = &src.weights;
    let view = UptimeView {
        l: Layout::new(src, "Uptime", 0),
        components,
        newer,
        older,
        major: weight(w.major_outage),
        partial: weight(w.partial_outage),
        degraded: weight(w.degraded_performance),
    };
    finish(&view, &view.l.style)
}
