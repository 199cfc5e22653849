//! The home page's component list as pieces (`super::super::fragments`): per row, an
//! opening piece (the name, the status, and the bars of the days before today) and a closing
//! piece (today's bar and the run's uptime). The opening piece of a row whose inputs did not
//! change since the last render is taken as it was, not even rendered again; so a write that
//! moves one component re-renders and compresses one row, however many the page has.
//!
//! Each opening piece, with the sum of the closed days' figures, is found by a hash of what
//! it is made from (the row's name, status and description, the identity of its status
//! history, the revisions of the incidents that named it, the dates), computed before any
//! day is figured: so a render figures only today for each row, however long the history.

use askama::Template;
use chrono::NaiveDate;
use herald_domain::component::Component;
use herald_domain::status::ComponentStatus;
use herald_domain::uptime::{self, StatusChange};
use std::hash::BuildHasher;
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

/// What a row shows of the days before today, made once for the inputs it depends on.
struct Closed {
    /// The opening piece.
    open: Arc<Fragment>,
    /// The days' figures, summed.
    sum: uptime::Figures,
    /// How many days.
    days: usize,
    /// The histories [`Uptime::key`] names by identity, held while the key is remembered.
    _held: Vec<Arc<Vec<StatusChange>>>,
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
    let w = up.weights();
    let today = range.1;
    let last_closed = today.pred_opt().unwrap_or(NaiveDate::MIN);
    // The opening piece and the closed days' sum depend on the row's own fields and, with
    // bars, on what `Uptime::key` hashes: not on the time, so they are made once a day.
    let (days_key, held) = if has_bars {
        up.key(c, range.0, last_closed)
    } else {
        (0, Vec::new())
    };
    let key = hasher().hash_one((
        "row",
        days_key,
        c.is_group,
        &c.name,
        &c.description,
        c.status.as_str(),
        has_bars,
    ));
    let closed = pieces.memo(key, || {
        let days = if has_bars {
            up.day_figures(c, range.0, last_closed)
        } else {
            Vec::new()
        };
        let open = render(&RowOpen {
            is_group: c.is_group,
            open: c.status != ComponentStatus::Operational,
            name: &c.name,
            status: status_class(c.status),
            status_label: c.status.label(),
            description: c.description.as_deref(),
            bars: has_bars.then(|| {
                (
                    c.name.as_str(),
                    days.iter().map(|(d, n)| up.bar_day(d, n)).collect(),
                )
            }),
        });
        Closed {
            open: pieces.make(open, Place::Later),
            sum: uptime::Figures::sum(days.iter().map(|(d, _)| &d.figures)),
            days: days.len(),
            _held: held,
        }
    });
    out.push(closed.open.clone());
    let today = if has_bars {
        up.day_figures(c, today, today).into_iter().next()
    } else {
        None
    };
    let close = RowClose {
        is_group: c.is_group,
        bars: today.map(|(d, n)| {
            let mut total = closed.sum;
            total.add(&d.figures);
            (
                up.bar_day(&d, &n),
                closed.days + 1,
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
