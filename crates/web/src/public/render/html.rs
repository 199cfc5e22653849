//! The home page and the pieces every HTML page shares: the layout (branding, navigation,
//! footer), incident cards and component rows. Templates are in `templates/public/`; askama
//! escapes every value, and user markdown goes through `herald_domain::markdown::to_html`.

use askama::Template;
use base64::Engine;
use herald_domain::incident::{Incident, IncidentKind};
use herald_domain::markdown;
use herald_domain::page::Page;
use herald_domain::status::IncidentStatus;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use super::bars::Uptime;
use super::{Source, assets::css_path, in_progress};
use crate::public::fragments::{Fragment, Insert, Pieces, Place, hasher, splice};
use crate::public::model::Held;
use std::hash::BuildHasher;

/// What every page's layout shows.
pub struct Layout {
    pub title: String,
    pub page_name: String,
    pub headline: Option<String>,
    pub logo: Option<String>,
    pub website: Option<String>,
    pub support_url: Option<String>,
    pub favicon: Option<String>,
    pub header_text: Option<String>,
    pub footer_text: Option<String>,
    /// Prefix of links to the page's other documents: `` at the top, `../` one level down.
    pub root: String,
    /// Link to the home page.
    pub home: String,
    pub css: &'static str,
    /// The inline theme style (its hash is in the CSP).
    pub style: String,
    pub updated: String,
    pub updated_iso: String,
    /// Only the home page says when the page last changed: other pages then stay the same
    /// across writes that do not touch them, and are reused rather than re-rendered.
    pub show_updated: bool,
    pub feeds: bool,
    /// `hidden_from_search`: ask search engines not to index the page.
    pub noindex: bool,
}

impl Layout {
    /// The layout of a document `depth` levels below the page's root; [`ANYWHERE`] for a
    /// document served at any depth (the 404 page), whose links are absolute.
    pub fn new(src: &Source, title: &str, depth: usize) -> Layout {
        let (root, home) = match depth {
            0 => (String::new(), "./".to_owned()),
            1 => ("../".to_owned(), "../".to_owned()),
            _ => {
                let abs = format!("{}/", src.page_url());
                (abs.clone(), abs)
            }
        };
        Layout::with_links(&src.page, title, root, home)
    }

    /// The layout of a page's document served outside the snapshots (the subscription
    /// pages), with absolute links to the page at `page_url`.
    pub fn for_page(page: &Page, page_url: &str, title: &str) -> Layout {
        let abs = format!("{page_url}/");
        Layout::with_links(page, title, abs.clone(), abs)
    }

    fn with_links(page: &Page, title: &str, root: String, home: String) -> Layout {
        let s = &page.settings;
        let z = page.zone;
        Layout {
            title: if title.is_empty() {
                format!("{} Status", page.name)
            } else {
                format!("{title} · {} Status", page.name)
            },
            page_name: page.name.clone(),
            headline: s.headline.clone(),
            logo: s
                .transactional_logo
                .clone()
                .or_else(|| s.hero_cover.clone()),
            website: s.url.clone(),
            support_url: s.support_url.clone(),
            favicon: s.favicon_logo.clone(),
            header_text: s.custom_header_text.clone(),
            footer_text: s.custom_footer_text.clone(),
            root,
            home,
            css: css_path(),
            style: theme(page),
            updated: z.strftime(page.updated_at, "%b %-d, %Y %H:%M %Z"),
            updated_iso: z.format(page.updated_at),
            show_updated: false,
            feeds: s.allow_rss_atom_feeds,
            noindex: s.hidden_from_search,
        }
    }
}

/// The page's colours as CSS variables. Every value was checked to be `#hex` when saved.
fn theme(page: &Page) -> String {
    let s = &page.settings;
    let hex = |v: &Option<String>| {
        v.as_deref()
            .filter(|c| c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned)
    };
    let mut all = String::new();
    for (var, v) in [
        ("--ok", &s.css_greens),
        ("--minor", &s.css_yellows),
        ("--major", &s.css_oranges),
        ("--critical", &s.css_reds),
        ("--maint", &s.css_blues),
        ("--nodata", &s.css_no_data),
    ] {
        if let Some(c) = hex(v) {
            all.push_str(&format!("{var}:{c};"));
        }
    }
    let mut light = String::new();
    for (var, v) in [
        ("--bg", &s.css_body_background_color),
        ("--fg", &s.css_font_color),
        ("--muted", &s.css_light_font_color),
        ("--line", &s.css_border_color),
        ("--link", &s.css_link_color),
    ] {
        if let Some(c) = hex(v) {
            light.push_str(&format!("{var}:{c};"));
        }
    }
    format!(":root{{{all}}}@media (prefers-color-scheme: light){{:root{{{light}}}}}")
}

/// The depth of a document served at any depth: its links are absolute.
pub const ANYWHERE: usize = usize::MAX;

/// The CSP source allowing exactly `style`.
pub fn style_hash(style: &str) -> String {
    let d = Sha256::digest(style.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(d)
    )
}

/// One update in a timeline.
pub struct UpdateView {
    pub status: &'static str,
    pub body: String,
    pub when: String,
    pub when_iso: String,
}

/// An incident or maintenance with its timeline.
pub struct IncidentCard {
    pub id: String,
    pub name: String,
    pub link: String,
    pub impact: &'static str,
    pub status: &'static str,
    pub window: Option<String>,
    pub components: Vec<String>,
    pub updates: Vec<UpdateView>,
    /// In place of the updates, a marker where they go as pieces (a long timeline).
    pub timeline: Option<&'static str>,
}

impl IncidentCard {
    /// `root` is the layout's link prefix.
    pub fn new(src: &Source, i: &Incident, root: &str) -> Self {
        let mut card = Self::frame(src, i, root, None);
        card.updates = updates(src, &i.updates);
        card
    }

    /// The card without its updates; `timeline` marks where they go, if anywhere.
    fn frame(src: &Source, i: &Incident, root: &str, timeline: Option<&'static str>) -> Self {
        let z = src.page.zone;
        let fmt = "%b %-d, %Y %H:%M %Z";
        IncidentCard {
            id: i.id.clone(),
            name: i.name.clone(),
            link: format!("{root}incidents/{}", i.id),
            impact: i.impact.as_str(),
            status: i.status.label(),
            window: match (i.kind, i.scheduled_for, i.scheduled_until) {
                (IncidentKind::Maintenance, Some(f), Some(u)) => Some(format!(
                    "Scheduled for {} to {}",
                    z.strftime(f, fmt),
                    z.strftime(u, fmt)
                )),
                _ => None,
            },
            components: i
                .component_ids
                .iter()
                .filter_map(|id| src.components.iter().find(|c| c.id == *id))
                .map(|c| c.name.clone())
                .collect(),
            updates: Vec::new(),
            timeline,
        }
    }
}

/// Updates as a timeline shows them.
fn updates(src: &Source, updates: &[herald_domain::incident::IncidentUpdate]) -> Vec<UpdateView> {
    let z = src.page.zone;
    updates
        .iter()
        .map(|u| UpdateView {
            status: u.status.label(),
            body: markdown::to_html(&u.body),
            when: z.strftime(u.display_at, "%b %-d, %Y %H:%M %Z"),
            when_iso: z.format(u.display_at),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "public/updates.html")]
struct UpdatesView {
    updates: Vec<UpdateView>,
}

/// A day of the "past incidents" list.
#[derive(Template)]
#[template(path = "public/past_day.html")]
struct PastDay<'a> {
    date: String,
    /// Each incident's name, link and impact.
    incidents: Vec<(&'a str, String, &'static str)>,
}

#[derive(Template)]
#[template(path = "public/index.html")]
struct IndexView {
    l: Layout,
    indicator: &'static str,
    description: &'static str,
    /// Where the cards of active incidents go, when there are any (each a piece).
    incidents: Option<&'static str>,
    /// Where the cards of maintenances in progress go.
    maintenances: Option<&'static str>,
    /// Where the cards of upcoming maintenances go.
    upcoming: Option<&'static str>,
    /// Where the component rows go (`super::rows` makes them as pieces).
    rows: &'static str,
    /// Where the metric charts go, when the page displays any (each a piece).
    metrics: Option<&'static str>,
    /// Where the days of the "past incidents" list go (a piece each: the page's
    /// last-updated time changes with every write, and must not take them along).
    past: &'static str,
    /// Which subscribe forms the page offers.
    subscribe: SubscribeForms,
}

/// Which subscribe forms a page (or an incident's page) offers: by e-mail, by SMS.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubscribeForms {
    pub email: bool,
    pub sms: bool,
}

impl SubscribeForms {
    /// What the page's settings allow, for the whole page or (`incident`) for one incident.
    pub fn of(s: &herald_domain::page::PageSettings, incident: bool) -> SubscribeForms {
        let open = if incident {
            s.allow_incident_subscribers
        } else {
            s.allow_page_subscribers
        };
        SubscribeForms {
            email: open && s.allow_email_subscribers,
            sms: open && s.allow_sms_subscribers,
        }
    }

    /// Whether any form is offered.
    pub fn any(&self) -> bool {
        self.email || self.sms
    }
}

/// Days of past incidents on the home page.
const PAST_DAYS: i64 = 7;

/// Mark where pieces go in the home page's template: comments no escaped or sanitised user
/// text can contain.
const ROWS: &str = "<!--herald:rows-->";
const ACTIVE: &str = "<!--herald:active-->";
const MAINTENANCE: &str = "<!--herald:maintenance-->";
const UPCOMING: &str = "<!--herald:upcoming-->";
const METRICS: &str = "<!--herald:metrics-->";
const PAST: &str = "<!--herald:past-->";

#[derive(Template)]
#[template(path = "public/card.html")]
struct CardView {
    i: IncidentCard,
}

/// Where a long timeline's runs go in its card.
const TIMELINE: &str = "<!--herald:timeline-->";

/// An incident's card on the home page, as pieces: one, made only when the incident, the
/// components or the page's fields changed; for a long timeline, the card around it and its
/// runs of updates (`super::timeline`).
fn card(src: &Source, i: &Held, pieces: &Pieces) -> Vec<Arc<Fragment>> {
    let render = |timeline: Option<&'static str>| {
        let view = CardView {
            i: match timeline {
                None => IncidentCard::new(src, i, ""),
                Some(_) => IncidentCard::frame(src, i, "", timeline),
            },
        };
        view.render().unwrap_or_default().into_bytes()
    };
    if !super::timeline::is_long(i) {
        let key = hasher().hash_one(("card", i.rev, src.revs));
        return vec![pieces.get_or_make(key, Place::Later, || render(None))];
    }
    let runs = super::timeline::run_pieces(src, i, "card", pieces, |u, _| {
        let view = UpdatesView {
            updates: updates(src, u),
        };
        view.render().unwrap_or_default().into_bytes()
    });
    splice(
        &render(Some(TIMELINE)),
        vec![(Insert::comment(TIMELINE), runs)],
        pieces,
    )
}

/// The home page as pieces (the text around them, each incident card, each component row),
/// with its `style-src` hash. Unchanged pieces come from `pieces` as they were.
pub fn index(src: &Source, pieces: &Pieces) -> (Vec<Arc<Fragment>>, String) {
    let mut l = Layout::new(src, "", 0);
    l.show_updated = true;
    let (first, _) =
        herald_domain::uptime::last_days(src.page.zone, src.now, super::bars::BAR_DAYS);
    let up = Uptime::new(src, first);
    let cards = |keep: &dyn Fn(&Held) -> bool, rev: bool| -> Vec<Arc<Fragment>> {
        let chosen = src.incidents.iter().filter(|i| keep(i));
        if rev {
            chosen.rev().flat_map(|i| card(src, i, pieces)).collect()
        } else {
            chosen.flat_map(|i| card(src, i, pieces)).collect()
        }
    };
    let active = cards(&|i| i.kind == IncidentKind::Realtime && i.is_open(), false);
    let maintenance = cards(&|i| in_progress(i), false);
    let upcoming = cards(&|i| i.status == IncidentStatus::Scheduled, true);
    let z = src.page.zone;
    let today = z.date(src.now);
    // Only incidents that started in the last days (and a day's margin for the zone) are
    // placed in a day: the rest are skipped before any date arithmetic.
    let since = src.now - chrono::TimeDelta::days(PAST_DAYS + 1);
    let recent: Vec<&Held> = src
        .incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Realtime && i.started_at >= since)
        .map(|i| &**i)
        .collect();
    let past: Vec<Arc<Fragment>> = (0..PAST_DAYS)
        .map(|n| today - chrono::TimeDelta::days(n))
        .map(|d| {
            let day = PastDay {
                date: d.format("%b %-d, %Y").to_string(),
                incidents: recent
                    .iter()
                    .filter(|i| z.date(i.started_at) == d)
                    .map(|i| {
                        (
                            i.name.as_str(),
                            format!("incidents/{}", i.id),
                            i.impact.as_str(),
                        )
                    })
                    .collect(),
            };
            let mut text = b"\n".to_vec();
            text.extend_from_slice(day.render().unwrap_or_default().as_bytes());
            pieces.get(text, Place::Later)
        })
        .collect();
    let settings = &src.page.settings;
    let some =
        |list: &Vec<Arc<Fragment>>, marker: &'static str| (!list.is_empty()).then_some(marker);
    let view = IndexView {
        subscribe: SubscribeForms::of(settings, false),
        indicator: src.status.indicator.as_str(),
        description: src.status.description,
        incidents: some(&active, ACTIVE),
        maintenances: some(&maintenance, MAINTENANCE),
        upcoming: some(&upcoming, UPCOMING),
        rows: ROWS,
        metrics: (!src.metrics.is_empty()).then_some(METRICS),
        past: PAST,
        l,
    };
    let (html, style) = finish(&view, &view.l.style);
    let rows = super::rows::pieces(src, &up, pieces);
    let charts = src
        .metrics
        .iter()
        .map(|c| pieces.get(super::charts::figure(src, c).into_bytes(), Place::Later))
        .collect();
    let inserts = vec![
        (Insert::comment(ACTIVE), active),
        (Insert::comment(MAINTENANCE), maintenance),
        (Insert::comment(UPCOMING), upcoming),
        (Insert::comment(ROWS), rows),
        (Insert::comment(METRICS), charts),
        (Insert::comment(PAST), past),
    ];
    (splice(html.as_bytes(), inserts, pieces), style)
}

#[derive(Template)]
#[template(path = "public/not_found.html")]
struct NotFoundView {
    l: Layout,
}

/// The page's 404 page.
pub fn not_found(src: &Source) -> (String, String) {
    let view = NotFoundView {
        l: Layout::new(src, "Not found", ANYWHERE),
    };
    finish(&view, &view.l.style)
}

/// Renders a template; a render failure (a bug) leaves a plain message rather than no page.
pub fn finish(view: &impl Template, style: &str) -> (String, String) {
    let html = view.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template failed");
        "<!doctype html><title>Status</title><p>This page could not be rendered.</p>".to_owned()
    });
    (html, style_hash(style))
}
