//! Page settings (owners): name, address (slug, custom domain, subdomain), time zone, texts,
//! links and branding. The form is turned into the v1 API's `PagePatch` and applied as the
//! API applies it (`Page::apply_domain_rules`: herald's own host is no page's domain) inside
//! `update_page`'s transaction (one audit entry). A form opened
//! before someone else changed these settings is refused there: the form carries a digest of
//! the values it was opened with (not the page's version, which every incident bumps).
//! The page model has no uptime weights of its own (they are service-wide), so the form has
//! none.

use askama::Template;
use axum::extract::{Path, Query, State};
use herald_domain::Invalid;
use herald_domain::page::{Page, PagePatch};
use herald_domain::user::Role;
use herald_store::StoreError;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::form::{Fields, FormState};
use super::incidents::page_for;
use super::session::{Posted, Signed};
use super::views::Layout;
use super::{form_page, see_other};
use crate::error::PageResult;
use crate::state::AppState;

/// (field, label, hint) of every setting the form edits, in order.
const FIELDS: &[(&str, &str, &str)] = &[
    ("name", "Name", ""),
    (
        "slug",
        "Slug",
        "Lower-case letters, digits and dashes; the page is at /p/<slug>.",
    ),
    (
        "domain",
        "Custom domain",
        "e.g. status.example.com (optional)",
    ),
    ("subdomain", "Subdomain", "optional"),
    (
        "time_zone",
        "Time zone",
        "An IANA name such as Europe/Berlin or UTC.",
    ),
    ("headline", "Headline", "optional"),
    ("page_description", "Description", "optional"),
    ("url", "Company website", "https://… (optional)"),
    ("support_url", "Support link", "https://… (optional)"),
    ("favicon_logo", "Favicon URL", "https://… (optional)"),
    ("transactional_logo", "Logo URL", "https://… (optional)"),
    ("hero_cover", "Cover image URL", "https://… (optional)"),
    (
        "css_body_background_color",
        "Background colour",
        "#rrggbb (optional)",
    ),
    ("css_font_color", "Text colour", "#rrggbb (optional)"),
    ("css_link_color", "Link colour", "#rrggbb (optional)"),
    ("css_greens", "Operational colour", "#rrggbb (optional)"),
    ("css_yellows", "Degraded colour", "#rrggbb (optional)"),
    ("css_oranges", "Partial outage colour", "#rrggbb (optional)"),
    ("css_reds", "Major outage colour", "#rrggbb (optional)"),
    ("css_blues", "Maintenance colour", "#rrggbb (optional)"),
    (
        "major_outage",
        "Uptime: share of major-outage time counted as down",
        "0 to 1. Leave all three blank for the instance's weights.",
    ),
    (
        "partial_outage",
        "Uptime: share of partial-outage time counted as down",
        "0 to 1, e.g. 0.3",
    ),
    (
        "degraded_performance",
        "Uptime: share of degraded-performance time counted as down",
        "0 to 1, e.g. 0",
    ),
];

/// The form fields of the page's uptime weights (a `PagePatch::uptime_weights` object).
const WEIGHTS: [&str; 3] = ["major_outage", "partial_outage", "degraded_performance"];

/// Fields that cannot be cleared.
const REQUIRED: &[&str] = &["name", "slug", "time_zone"];

pub(super) struct SettingField {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
pub(super) struct SettingsView {
    pub l: Layout,
    pub page_id: String,
    pub version: String,
    pub fields: Vec<SettingField>,
    pub general: Vec<String>,
    pub saved: bool,
}

/// The current values, as the form shows them.
fn current(page: &Page) -> Fields {
    let v = serde_json::to_value(&page.settings).unwrap_or_default();
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (name, _, _) in FIELDS {
        let value = match *name {
            "name" => page.name.clone(),
            "slug" => page.slug.clone(),
            "domain" => page.domain.clone().unwrap_or_default(),
            "time_zone" => page.zone.name().to_owned(),
            w if WEIGHTS.contains(&w) => v
                .get("uptime_weights")
                .and_then(|o| o.get(w))
                .and_then(Value::as_f64)
                .map(|x| x.to_string())
                .unwrap_or_default(),
            other => v
                .get(other)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        };
        s.append_pair(name, &value);
    }
    Fields::parse(s.finish().as_bytes())
}

/// A digest of the values the form edits, to notice a form opened before another change.
fn digest(page: &Page) -> String {
    herald_domain::apikey::hash(&format!("{:?}", current(page)))
}

fn view(who: &Signed, page: &Page, f: &FormState, saved: bool) -> SettingsView {
    SettingsView {
        l: Layout::new(who, format!("Settings · {}", page.name)),
        page_id: page.id.to_string(),
        version: digest(page),
        fields: FIELDS
            .iter()
            .map(|(name, label, hint)| SettingField {
                name,
                label,
                hint,
                value: f.v(name).to_owned(),
                error: f.e(name).to_owned(),
            })
            .collect(),
        general: super::incidents::general(
            f,
            &FIELDS.iter().map(|(n, _, _)| *n).collect::<Vec<_>>(),
        ),
        saved,
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SavedQuery {
    saved: Option<String>,
}

/// The settings form (owners).
pub(super) async fn settings(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::Owner).await?;
    let f = FormState::new(current(&page));
    super::html(&view(&who, &page, &f, q.saved.is_some()))
}

/// The form as a `PagePatch`: every field is sent; a blank optional one clears the value.
fn patch(fields: &Fields, f: &mut FormState) -> Option<PagePatch> {
    let mut m = Map::new();
    for (name, _, _) in FIELDS.iter().filter(|(n, _, _)| !WEIGHTS.contains(n)) {
        let v = fields.get(name).trim();
        if v.is_empty() {
            if REQUIRED.contains(name) {
                f.add(name, "This cannot be empty.");
            }
            m.insert((*name).to_owned(), Value::Null);
        } else {
            m.insert((*name).to_owned(), Value::String(v.to_owned()));
        }
    }
    m.insert("uptime_weights".to_owned(), weights(fields, f));
    if f.has_errors() {
        return None;
    }
    match serde_json::from_value(Value::Object(m)) {
        Ok(p) => Some(p),
        Err(_) => {
            f.add("", "The form could not be read. Reload and try again.");
            None
        }
    }
}

/// The uptime weights of the form: all three blank is `null` (the instance's weights), all
/// three numbers an object (the domain checks their range), anything else a field error.
fn weights(fields: &Fields, f: &mut FormState) -> Value {
    let given: Vec<(&str, &str)> = WEIGHTS.iter().map(|w| (*w, fields.get(w).trim())).collect();
    if given.iter().all(|(_, v)| v.is_empty()) {
        return Value::Null;
    }
    let mut o = Map::new();
    for (w, v) in given {
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => {
                o.insert(w.to_owned(), x.into());
            }
            _ if v.is_empty() => {
                f.add(w, "Set all three weights, or leave all three blank.");
            }
            _ => f.add(w, "Enter a number from 0 to 1, such as 0.3."),
        }
    }
    Value::Object(o)
}

/// Saves the settings (owners).
pub(super) async fn save_settings(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> PageResult {
    let page = page_for(&app, &p.who, &page_id, Role::Owner).await?;
    let mut f = FormState::new(p.fields.clone());
    if let Some(patch) = patch(&p.fields, &mut f) {
        let seen = p.fields.get("version").to_owned();
        let result = app
            .store()
            .update_page(&page.id, &p.who.actor, app.now(), |cur| {
                if digest(cur) != seen {
                    return Err(Invalid::new(
                        "",
                        "Someone else changed this page since you opened the form. Reload to see their change, then make yours again.",
                    ));
                }
                cur.apply_domain_rules(&patch, &app.config().own_hosts())
            })
            .await;
        match result {
            Ok(_) => {
                app.page_changed(&page.id).await;
                return see_other(&format!("/admin/pages/{}/settings?saved=1", page.id));
            }
            Err(StoreError::Invalid(inv)) if inv.field.is_empty() => f.add("", inv.message),
            Err(e) => f.store_error(e)?,
        }
    }
    form_page(true, &view(&p.who, &page, &f, false))
}
