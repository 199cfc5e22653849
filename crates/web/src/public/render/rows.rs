//! The home page's component list as pieces (`super::super::fragments`): per row, an
//! opening piece (the name, the status, and the bars of the days before today) and a closing
//! piece (today's bar and the run's uptime). The opening piece of a row whose inputs did not
//! change since the last render is taken as it was, not even rendered again; so a write that
//! moves one component re-renders and compresses one row, however many the page has.
//!
//! Each opening piece is found by a hash of everything it shows (the row's name, status and
//! description, and each closed day's date, colour, uptime and incident names) computed from
//! the day figures, which are cheap, before any text is made, which is not.

use askama::Template;
use chrono::NaiveDate;
use herald_domain::component::Component;
use herald_domain::status::ComponentStatus;
use herald_domain::uptime::{self, Day};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use super::Source;
use super::bars::{BAR_DAYS, BarDay, Uptime};
use crate::public::fragments::{Fragment, Pieces, Place, hasher};

/// What a row's opening piece shows.
#[derive(Template)]
#[template(path = "public/row_open.html")]
struct RowOpen<'a> {
    is_group: bool,
    open: bool,
    name: &'a str,
    status: &'static str,
    status_label: &'static str,
    description: Option<&'a str>,
    /// The bars' label and the days before today, when the row has bars.
    bars: Option<(&'a str, Vec<BarDay>)>,
}

/// What a row's closing piece shows.
#[derive(Template)]
#[template(path = "public/row_close.html")]
struct RowClose {
    is_group: bool,
    /// Today's bar, and the number of days and the run's uptime, when the row has bars.
    bars: Option<(BarDay, usize, Option<String>)>,
}

fn status_class(s: ComponentStatus) -> &'static str {
    match s {
        ComponentStatus::Operational => "operational",
        ComponentStatus::UnderMaintenance => "maintenance",
        ComponentStatus::DegradedPerformance => "degraded",
        ComponentStatus::PartialOutage => "partial",
        ComponentStatus::MajorOutage => "major",
    }
}

fn visible(c: &Component) -> bool {
    !(c.only_show_if_degraded && c.status == ComponentStatus::Operational)
}

fn render(view: &impl Template) -> Vec<u8> {
    view.render()
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "template failed");
            String::new()
        })
        .into_bytes()
}

/// The pieces of one row (a component, or a group without its children).
fn row(
    c: &Component,
    up: &Uptime<'_>,
    range: (NaiveDate, NaiveDate),
    pieces: &Pieces,
    out: &mut Vec<Arc<Fragment>>,
) {
    let has_bars = c.showcase || c.is_group;
    let days: Vec<(Day, Vec<&str>)> = if has_bars {
        up.day_figures(c, range.0, range.1)
    } else {
        Vec::new()
    };
    let (closed, today) = match days.split_last() {
        Some((today, closed)) => (closed, Some(today)),
        None => (&days[..], None),
    };
    let w = up.weights();
    // The opening piece's key: everything it shows.
    let mut h = hasher().build_hasher();
    (
        c.is_group,
        &c.name,
        &c.description,
        c.status.as_str(),
        has_bars,
    )
        .hash(&mut h);
    for (d, names) in closed {
        (
            d.date,
            d.figures.level().as_str(),
            d.figures.maintenance_ms > 0,
        )
            .hash(&mut h);
        d.figures.uptime(w).map(f64::to_bits).hash(&mut h);
        names.hash(&mut h);
    }
    let open = pieces.get_or_make(h.finish(), Place::Later, || {
        render(&RowOpen {
            is_group: c.is_group,
            open: c.status != ComponentStatus::Operational,
            name: &c.name,
            status: status_class(c.status),
            status_label: c.status.label(),
            description: c.description.as_deref(),
            bars: has_bars.then(|| {
                (
                    c.name.as_str(),
                    closed.iter().map(|(d, n)| up.bar_day(d, n)).collect(),
                )
            }),
        })
    });
    out.push(open);
    let close = RowClose {
        is_group: c.is_group,
        bars: today.map(|(d, n)| {
            let total = uptime::Figures::sum(days.iter().map(|(d, _)| &d.figures));
            (
                up.bar_day(d, n),
                days.len(),
                total.uptime(w).map(uptime::percent),
            )
        }),
    };
    out.push(pieces.get(render(&close), Place::Later));
}

/// The pieces of the home page's component list: every visible row, groups with their
/// visible components.
pub fn pieces(src: &Source, up: &Uptime<'_>, pieces: &Pieces) -> Vec<Arc<Fragment>> {
    let range = uptime::last_days(src.page.zone, src.now, BAR_DAYS);
    let mut out = Vec::new();
    for c in src.components.iter().filter(|c| c.group_id.is_none()) {
        if c.is_group {
            let kids: Vec<&Component> = src
                .components
                .iter()
                .filter(|k| k.group_id.as_deref() == Some(c.id.as_str()) && visible(k))
                .collect();
            if !kids.is_empty() {
                row(c, up, range, pieces, &mut out);
                for k in kids {
                    row(k, up, range, pieces, &mut out);
                }
                out.push(pieces.get(b"\n</ul>\n</details>\n</li>".to_vec(), Place::Later));
            }
        } else if visible(c) {
            row(c, up, range, pieces, &mut out);
        }
    }
    out
}
