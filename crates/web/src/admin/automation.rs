//! Automation: the page's integrations (Alertmanager, webhooks, heartbeats, HTTP/TCP/TLS
//! checks) with when each was last used and what its checks found; creating one (the
//! webhook or ping URL, with its secret token, is shown once, on the answer to the form) and
//! deleting one; and, per component, which integration last moved it, when and why, what
//! waits for its flap window and what was held back because an incident was open. Reading
//! needs an incident manager; creating and deleting need an owner. Writes are the v1 API's
//! store calls (`create_integration`, `delete_integration`).

use askama::Template;
use axum::extract::{Path, State};
use herald_domain::apikey;
use herald_domain::automation::{
    ComponentAutomation, Integration, IntegrationKind, TOKEN_PREFIX, Wish,
};
use herald_domain::id::PageId;
use herald_domain::page::Page;
use herald_domain::user::Role;
use std::collections::HashMap;

use super::confirm::{Confirm, confirm_page};
use super::form::{FormState, Opt, label, options};
use super::incidents::{components, page_for};
use super::session::{Posted, Signed};
use super::views::Layout;
use super::{form_page, see_other};
use crate::error::{PageError, PageResult};
use crate::state::AppState;

const KINDS: &[&str] = &["alertmanager", "webhook", "heartbeat", "http", "tcp", "tls"];
const DOWN: &[&str] = &[
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];
/// Fields the form shows a message beside.
const SHOWN: &[&str] = &[
    "type",
    "name",
    "component_id",
    "target",
    "down_status",
    "expected_status",
    "body_contains",
    "interval_seconds",
    "grace_seconds",
    "timeout_seconds",
    "failures_before_change",
    "successes_before_recovery",
    "expiry_days",
    "max_latency_ms",
    "flap_window_seconds",
    "template_id",
];

pub(super) struct IntegrationLine {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    /// Checks: what is checked (URL or host:port); heartbeats: the component.
    pub target: String,
    /// Checks and heartbeats: "every 60 s".
    pub interval: String,
    /// "never", or when it last received a request or last ran.
    pub last_used: String,
    /// Checks and heartbeats: "up" / "failing (3 in a row): why".
    pub state: String,
    pub failing: bool,
}

pub(super) struct ComponentLine {
    pub name: String,
    pub status: String,
    /// Empty when automation never moved it.
    pub moved_by: String,
    pub moved_at: String,
    pub moved_why: String,
    /// "partial outage by X (why), due at ..." or empty.
    pub pending: String,
    /// "major outage by X (why), at ..." or empty.
    pub held: String,
}

#[derive(Template)]
#[template(path = "admin/automation.html")]
pub(super) struct AutomationView {
    pub l: Layout,
    pub page_id: String,
    pub page_name: String,
    pub integrations: Vec<IntegrationLine>,
    pub comps: Vec<ComponentLine>,
    pub owner: bool,
    pub kinds: Vec<Opt>,
    pub downs: Vec<Opt>,
    /// `(id, name, selected)` of the components a check can move.
    pub targets: Vec<(String, String, bool)>,
    /// `(id, name, selected)` of the templates an incident can be opened from.
    pub templates: Vec<(String, String, bool)>,
    pub f: FormState,
    pub general: Vec<String>,
    /// A new integration's URL with its token, shown once.
    pub created_url: String,
    pub created_name: String,
}

fn when(page: &Page, t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(String::new, |t| {
        page.zone.strftime(t, "%Y-%m-%d %H:%M:%S %Z")
    })
}

fn integration_line(
    page: &Page,
    i: &Integration,
    names: &HashMap<String, String>,
) -> IntegrationLine {
    let check = i.config.check.as_ref();
    let last = match (
        i.kind.is_check() && i.kind != IntegrationKind::Heartbeat,
        i.check_state.last_run_at,
    ) {
        (true, Some(t)) => format!("ran {}", when(page, Some(t))),
        _ => i.last_request_at.map_or_else(
            || "never".to_owned(),
            |t| format!("{} ({} requests)", when(page, Some(t)), i.requests),
        ),
    };
    let state = match check {
        None => String::new(),
        Some(_) if i.check_state.up && i.check_state.last_error.is_none() => "up".to_owned(),
        Some(_) => format!(
            "{} ({} failures in a row){}",
            if i.check_state.up {
                "up, failing"
            } else {
                "down"
            },
            i.check_state.failures,
            i.check_state
                .last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ),
    };
    IntegrationLine {
        id: i.id.clone(),
        name: i.name.clone(),
        kind: i.kind.as_str(),
        target: match check {
            Some(c) => c.target.clone().unwrap_or_else(|| {
                format!(
                    "moves {}",
                    names.get(&c.component_id).cloned().unwrap_or_default()
                )
            }),
            None => String::new(),
        },
        interval: check.map_or_else(String::new, |c| format!("every {} s", c.interval_seconds)),
        last_used: last,
        failing: !state.is_empty() && state != "up",
        state,
    }
}

fn wish_text(w: &Wish, sources: &HashMap<String, String>) -> String {
    format!(
        "{} by {} ({})",
        label(w.status.as_str()),
        source_name(&w.source, sources),
        w.reason
    )
}

fn source_name(id: &str, sources: &HashMap<String, String>) -> String {
    sources
        .get(id)
        .cloned()
        .unwrap_or_else(|| format!("a deleted integration ({id})"))
}

async fn screen(
    app: &AppState,
    who: &Signed,
    page: &Page,
    f: FormState,
    created: Option<(String, String)>,
) -> PageResult {
    let store = app.store();
    let (all, comps, states, templates) = match (
        store.list_integrations(&page.id).await,
        components(app, page).await,
        store.component_automation(&page.id).await,
        store.list_templates(&page.id).await,
    ) {
        (Ok(a), Ok(c), Ok(s), Ok(t)) => (a, c, s, t),
        (Err(e), _, _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => return Err(e.into()),
        (_, Err(r), _, _) => return Err(r),
    };
    let names: HashMap<String, String> = comps
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let sources: HashMap<String, String> =
        all.iter().map(|i| (i.id.clone(), i.name.clone())).collect();
    let by_component: HashMap<&str, &ComponentAutomation> = states
        .iter()
        .map(|s| (s.component_id.as_str(), s))
        .collect();
    let comp_lines = comps
        .iter()
        .map(|c| {
            let s = by_component.get(c.id.as_str());
            let changed_by = s.and_then(|s| s.changed_by.as_deref());
            ComponentLine {
                name: c.name.clone(),
                status: label(c.status.as_str()),
                moved_by: changed_by.map_or_else(String::new, |id| source_name(id, &sources)),
                moved_at: when(page, s.and_then(|s| s.changed_at)),
                moved_why: s.and_then(|s| s.changed_reason.clone()).unwrap_or_default(),
                pending: s
                    .and_then(|s| s.pending.as_ref().map(|w| (w, s.pending_due_at)))
                    .map_or_else(String::new, |(w, due)| {
                        format!("{}, due at {}", wish_text(w, &sources), when(page, due))
                    }),
                held: s
                    .and_then(|s| s.held.as_ref().map(|w| (w, s.held_at)))
                    .map_or_else(String::new, |(w, at)| {
                        format!("{}, at {}", wish_text(w, &sources), when(page, at))
                    }),
            }
        })
        .collect();
    let invalid = f.has_errors();
    let chosen = f.v("component_id").to_owned();
    let (created_name, created_url) = created.unwrap_or_default();
    form_page(
        invalid,
        &AutomationView {
            l: Layout::new(who, format!("Automation · {}", page.name)),
            page_id: page.id.to_string(),
            page_name: page.name.clone(),
            integrations: all
                .iter()
                .map(|i| integration_line(page, i, &names))
                .collect(),
            comps: comp_lines,
            owner: who.can(Role::Owner),
            kinds: options(KINDS, f.v("type")),
            downs: options(DOWN, f.v("down_status")),
            targets: comps
                .iter()
                .map(|c| (c.id.clone(), c.name.clone(), c.id == chosen))
                .collect(),
            templates: templates
                .iter()
                .map(|t| (t.id.clone(), t.name.clone(), t.id == f.v("template_id")))
                .collect(),
            general: super::incidents::general(&f, SHOWN),
            f,
            created_url,
            created_name,
        },
    )
}

/// The automation screen (incident managers and owners).
pub(super) async fn automation(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::IncidentManager).await?;
    screen(&app, &who, &page, FormState::default(), None).await
}

/// Creates an integration (owners); the answer shows its URL and token once.
pub(super) async fn create_integration(
    State(app): State<AppState>,
    Path(page_id): Path<String>,
    p: Posted,
) -> PageResult {
    let page = page_for(&app, &p.who, &page_id, Role::Owner).await?;
    let mut f = FormState::new(p.fields.clone());
    let input = super::automation_form::input(&mut f);
    if !f.has_errors() {
        let token = apikey::generate_with(TOKEN_PREFIX);
        match app
            .store()
            .create_integration(&page.id, &input, &token, &p.who.actor, app.now())
            .await
        {
            Ok(i) => {
                let url = crate::api::v1::integrations::hook_url(&app, &i.id, &token.secret);
                let shown = (i.name.clone(), url);
                return screen(&app, &p.who, &page, FormState::default(), Some(shown)).await;
            }
            Err(herald_store::StoreError::Invalid(inv)) => {
                let field = inv.field.rsplit('.').next().unwrap_or("");
                f.add(field, inv.message.replace("integration.", ""));
            }
            Err(e) => f.store_error(e)?,
        }
    }
    screen(&app, &p.who, &page, f, None).await
}

/// Asks before deleting an integration (owners).
pub(super) async fn confirm_delete(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, id)): Path<(String, String)>,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::Owner).await?;
    let i = app
        .store()
        .get_integration(&page.id, &id)
        .await?
        .ok_or(PageError::NotFound)?;
    confirm_page(&Confirm {
        l: Layout::new(&who, format!("Delete integration {}", i.name)),
        text: format!(
            "Delete the {} integration {:?}? Its URL stops working at once; the statuses it set stay.",
            i.kind.as_str(),
            i.name
        ),
        action: format!("/admin/pages/{page_id}/automation/{id}/delete"),
        button: "Delete integration".to_owned(),
        back: format!("/admin/pages/{page_id}/automation"),
    })
}

/// Deletes an integration (owners).
pub(super) async fn delete_integration(
    State(app): State<AppState>,
    Path((page_id, id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    match app
        .store()
        .delete_integration(
            &PageId::from(page_id.as_str()),
            &id,
            &p.who.actor,
            app.now(),
        )
        .await
    {
        Ok(_) => see_other(&format!("/admin/pages/{page_id}/automation")),
        Err(e) => Err(e.into()),
    }
}
