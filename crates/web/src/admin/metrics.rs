//! System metrics: the page's providers, its metrics with what their polls found (the newest
//! data, the last fetch, the last provider error) and a preview of each one's last day
//! (`preview.svg`, drawn by the public page's chart code from the database), creating a
//! metric of a provider with its query and deleting one. Reading needs an incident manager;
//! creating and deleting need an owner. Writes are the v1 API's (`Metric::parse`,
//! `create_metric`, `delete_metric`) followed by a re-render of the page, as there.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use herald_domain::id::PageId;
use herald_domain::metric::{Metric, MetricInput, Provider, Transform};
use herald_domain::page::Page;
use herald_domain::user::Role;
use herald_store::StoreError;

use super::confirm::{Confirm, confirm_page};
use super::form::{FormState, Opt, options};
use super::incidents::page_for;
use super::session::{Posted, Signed};
use super::views::Layout;
use super::{form_page, see_other};
use crate::error::{PageError, PageResult};
use crate::public::render::charts::day_preview;
use crate::state::AppState;

const TRANSFORMS: &[&str] = &["average", "count", "max", "min", "sum"];

pub(super) struct ProviderLine {
    pub kind: &'static str,
    pub base: String,
    pub state: &'static str,
    pub metrics: usize,
}

pub(super) struct MetricLine {
    pub id: String,
    pub name: String,
    pub provider: String,
    pub query: String,
    pub shown: &'static str,
    pub recent: String,
    pub fetched: String,
    pub error: String,
    /// The preview's text alternative.
    pub summary: String,
}

#[derive(Template)]
#[template(path = "admin/metrics.html")]
pub(super) struct MetricsView {
    pub l: Layout,
    pub page_id: String,
    pub page_name: String,
    pub providers: Vec<ProviderLine>,
    pub metrics: Vec<MetricLine>,
    pub owner: bool,
    /// `(id, label, selected)`.
    pub provider_opts: Vec<(String, String, bool)>,
    pub transforms: Vec<Opt>,
    pub f: FormState,
    pub general: Vec<String>,
}

fn when(page: &Page, t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(
        || "never".to_owned(),
        |t| page.zone.strftime(t, "%Y-%m-%d %H:%M:%S %Z"),
    )
}

fn provider_label(p: &Provider) -> String {
    match &p.metric_base_uri {
        Some(b) => format!("{} ({b})", p.kind.as_str()),
        None => p.kind.as_str().to_owned(),
    }
}

async fn screen(app: &AppState, who: &Signed, page: &Page, f: FormState) -> PageResult {
    let store = app.store();
    let (providers, metrics) = match (
        store.list_providers(&page.id).await,
        store.list_metrics(&page.id, None).await,
    ) {
        (Ok(p), Ok(m)) => (p, m),
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    let now = app.now();
    let mut lines = Vec::with_capacity(metrics.len());
    for m in &metrics {
        let summary = match store.chart_data(&m.id, now).await {
            Ok(d) => day_preview(m, &d, now).1,
            Err(e) => return Err(e.into()),
        };
        lines.push(MetricLine {
            id: m.id.clone(),
            name: m.name.clone(),
            provider: providers
                .iter()
                .find(|p| p.id == m.provider_id)
                .map(provider_label)
                .unwrap_or_default(),
            query: m.metric_identifier.clone(),
            shown: if m.display { "shown" } else { "hidden" },
            recent: when(page, m.most_recent_data_at),
            fetched: when(page, m.last_fetched_at),
            error: match (&m.last_error, m.last_error_at) {
                (Some(e), at) => format!("{e} ({})", when(page, at)),
                (None, _) => String::new(),
            },
            summary,
        });
    }
    let invalid = f.has_errors();
    let chosen = f.v("provider_id").to_owned();
    form_page(
        invalid,
        &MetricsView {
            l: Layout::new(who, format!("Metrics · {}", page.name)),
            page_id: page.id.to_string(),
            page_name: page.name.clone(),
            providers: providers
                .iter()
                .map(|p| ProviderLine {
                    kind: p.kind.as_str(),
                    base: p.metric_base_uri.clone().unwrap_or_default(),
                    state: if p.disabled { "disabled" } else { "enabled" },
                    metrics: metrics.iter().filter(|m| m.provider_id == p.id).count(),
                })
                .collect(),
            metrics: lines,
            owner: who.can(Role::Owner),
            provider_opts: providers
                .iter()
                .map(|p| (p.id.clone(), provider_label(p), p.id == chosen))
                .collect(),
            transforms: options(
                TRANSFORMS,
                if f.v("transform").is_empty() {
                    "average"
                } else {
                    f.v("transform")
                },
            ),
            general: super::incidents::general(
                &f,
                &[
                    "provider_id",
                    "name",
                    "metric_identifier",
                    "suffix",
                    "decimal_places",
                    "transform",
                ],
            ),
            f,
        },
    )
}

/// The metrics screen (incident managers and owners).
pub(super) async fn metrics(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::IncidentManager).await?;
    screen(&app, &who, &page, FormState::default()).await
}

/// The form as the API's metric input; a field that does not parse is a message on it.
fn input(f: &mut FormState) -> MetricInput {
    let fields = f.fields.clone();
    let decimal_places = fields
        .opt("decimal_places")
        .and_then(|v| match v.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                f.add("decimal_places", "Enter a whole number from 0 to 6.");
                None
            }
        });
    let transform = match fields.get("transform") {
        "" => None,
        t => match serde_json::from_value::<Transform>(serde_json::Value::String(t.to_owned())) {
            Ok(t) => Some(t),
            Err(_) => {
                f.add("transform", "Choose one of the transforms offered.");
                None
            }
        },
    };
    MetricInput {
        name: Some(fields.get("name").to_owned()),
        metric_identifier: fields.opt("metric_identifier"),
        transform,
        suffix: fields.opt("suffix"),
        display: Some(fields.checked("display")),
        decimal_places,
        ..MetricInput::default()
    }
}

/// Creates a metric of one of the page's providers (owners).
pub(super) async fn create_metric(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> PageResult {
    let page = page_for(&app, &p.who, &page_id, Role::Owner).await?;
    let mut f = FormState::new(p.fields.clone());
    let input = input(&mut f);
    let provider = match p.fields.opt("provider_id") {
        None => {
            f.add("provider_id", "Choose a provider.");
            None
        }
        Some(id) => match app.store().get_provider(&page.id, &id).await {
            Ok(Some(pr)) => Some(pr),
            Ok(None) => {
                f.add("provider_id", "Choose one of this page's providers.");
                None
            }
            Err(e) => return Err(e.into()),
        },
    };
    if let (Some(provider), false) = (provider, f.has_errors()) {
        let now = app.now();
        let saved = match Metric::parse(&provider, &input, now) {
            Ok(m) => app.store().create_metric(&m, &p.who.actor, now).await,
            Err(inv) => Err(StoreError::Invalid(inv)),
        };
        match saved {
            Ok(_) => {
                app.page_changed(&page.id).await;
                return see_other(&format!("/admin/pages/{page_id}/metrics"));
            }
            Err(StoreError::Invalid(inv)) => {
                let field = inv.field.rsplit('.').next().unwrap_or("");
                f.add(field, inv.message.replace("metric.", ""));
            }
            Err(e) => f.store_error(e)?,
        }
    }
    screen(&app, &p.who, &page, f).await
}

/// A metric's last day as SVG, for the screen's preview.
pub(super) async fn preview(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, id)): Path<(String, String)>,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::IncidentManager).await?;
    let m = app
        .store()
        .get_metric(&page.id, &id)
        .await?
        .ok_or(PageError::NotFound)?;
    let now = app.now();
    let d = app.store().chart_data(&m.id, now).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        day_preview(&m, &d, now).0,
    )
        .into_response())
}

/// Asks before deleting a metric (owners).
pub(super) async fn confirm_delete(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, id)): Path<(String, String)>,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::Owner).await?;
    let m = app
        .store()
        .get_metric(&page.id, &id)
        .await?
        .ok_or(PageError::NotFound)?;
    confirm_page(&Confirm {
        l: Layout::new(&who, format!("Delete metric {}", m.name)),
        text: format!(
            "Delete the metric {:?} and every point it holds? Its chart leaves the status page.",
            m.name
        ),
        action: format!("/admin/pages/{page_id}/metrics/{id}/delete"),
        button: "Delete metric".to_owned(),
        back: format!("/admin/pages/{page_id}/metrics"),
    })
}

/// Deletes a metric (owners).
pub(super) async fn delete_metric(
    State(app): State<AppState>,
    Path((page_id, id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    match app
        .store()
        .delete_metric(
            &PageId::from(page_id.as_str()),
            &id,
            &p.who.actor,
            app.now(),
        )
        .await
    {
        Ok(_) => {
            app.page_changed(&PageId::from(page_id.as_str())).await;
            see_other(&format!("/admin/pages/{page_id}/metrics"))
        }
        Err(e) => Err(e.into()),
    }
}
