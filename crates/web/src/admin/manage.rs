//! The dashboard, a page's components, API keys and the audit log.

use axum::extract::{Path, Query, State};
use herald_domain::id::PageId;
use herald_domain::status::{ComponentStatus, Impact, IncidentStatus};
use herald_domain::user::Role;
use herald_store::{IncidentQuery, StoreError};
use serde::Deserialize;

use super::form::{FormState, options};
use super::incidents::{components, line, load_page, when};
use super::session::{Posted, Signed};
use super::views::{
    AuditLine, AuditView, CompLine, DashboardView, KeyLine, KeysView, Layout, PageRow, PageView,
};
use super::{form_page, html, see_other};
use crate::error::PageResult;
use crate::state::AppState;

const OPEN: &[IncidentStatus] = &[
    IncidentStatus::Investigating,
    IncidentStatus::Identified,
    IncidentStatus::Monitoring,
    IncidentStatus::InProgress,
    IncidentStatus::Verifying,
];

async fn open_incidents(
    app: &AppState,
    page_id: &str,
) -> Result<Vec<herald_domain::incident::Incident>, StoreError> {
    let q = IncidentQuery {
        statuses: OPEN.to_vec(),
        limit: 100,
        ..IncidentQuery::default()
    };
    app.store().list_incidents(&PageId::from(page_id), &q).await
}

/// Every page with its current status and open incidents.
pub(super) async fn dashboard(State(app): State<AppState>, who: Signed) -> PageResult {
    let pages = app.store().list_pages(true).await?;
    let mut rows = Vec::new();
    for page in pages {
        let comps = components(&app, &page).await?;
        let open = open_incidents(&app, page.id.as_str()).await?;
        let worst = comps
            .iter()
            .map(|c| c.status.implied_impact())
            .chain(open.iter().map(|i| i.impact))
            .filter(|i| *i != Impact::Maintenance)
            .fold(Impact::None, Impact::max);
        let affected = comps
            .iter()
            .filter(|c| c.status != ComponentStatus::Operational)
            .count();
        rows.push(PageRow {
            status: if affected == 0 && open.is_empty() {
                "All systems operational".to_owned()
            } else {
                format!(
                    "{} open incident(s), {affected} component(s) not operational",
                    open.len()
                )
            },
            indicator: worst.as_str(),
            open: open.iter().map(line).collect(),
            id: page.id.to_string(),
            name: page.name,
        });
    }
    html(&DashboardView {
        l: Layout::new(&who, "Dashboard"),
        pages: rows,
        can_manage: who.can(Role::IncidentManager),
    })
}

pub(super) async fn page_view(
    app: &AppState,
    who: &Signed,
    page_id: &str,
    f: FormState,
) -> PageResult<PageView> {
    let page = load_page(app, page_id).await?;
    let comps = components(app, &page).await?;
    let open = open_incidents(app, page.id.as_str()).await?;
    let recent = app
        .store()
        .list_incidents(
            &page.id,
            &IncidentQuery {
                limit: 20,
                ..IncidentQuery::default()
            },
        )
        .await?;
    const STATUSES: &[&str] = &[
        "operational",
        "degraded_performance",
        "partial_outage",
        "major_outage",
        "under_maintenance",
    ];
    Ok(PageView {
        l: Layout::new(who, page.name.clone()),
        page_id: page.id.to_string(),
        comps: comps
            .iter()
            .map(|c| CompLine {
                id: c.id.clone(),
                name: c.name.clone(),
                field: format!("status-{}", c.id),
                status: super::form::label(c.status.as_str()),
                opts: options(STATUSES, c.status.as_str()),
            })
            .collect(),
        open: open.iter().map(line).collect(),
        recent: recent.iter().map(line).collect(),
        can_manage: who.can(Role::IncidentManager),
        f,
    })
}

/// One page: components (with status pickers) and incidents.
pub(super) async fn page(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
) -> PageResult {
    html(&page_view(&app, &who, &page_id, FormState::default()).await?)
}

async fn keys_view(app: &AppState, who: &Signed, created: String, f: FormState) -> PageResult {
    let keys = app.store().list_keys().await?;
    let v = KeysView {
        l: Layout::new(who, "API keys"),
        keys: keys
            .into_iter()
            .map(|k| KeyLine {
                shown: format!("{}…{}", k.prefix, k.last4),
                revoked: k.revoked_at.is_some(),
                created: when(k.created_at),
                read_only: k.read_only,
                name: k.name,
                id: k.id,
            })
            .collect(),
        created,
        f,
    };
    form_page(v.f.has_errors(), &v)
}

/// API keys (owners).
pub(super) async fn keys(State(app): State<AppState>, who: Signed) -> PageResult {
    who.require(Role::Owner)?;
    keys_view(&app, &who, String::new(), FormState::default()).await
}

/// Creates a key and shows it, once.
pub(super) async fn create_key(State(app): State<AppState>, p: Posted) -> PageResult {
    p.who.require(Role::Owner)?;
    let mut f = FormState::new(p.fields.clone());
    let name = match herald_domain::error::required_name("name", p.fields.get("name"), 100) {
        Ok(n) => n,
        Err(e) => {
            f.add("name", &e.message);
            return keys_view(&app, &p.who, String::new(), f).await;
        }
    };
    let key = herald_domain::apikey::generate();
    match app
        .store()
        .create_key(
            &name,
            &key,
            p.fields.checked("read_only"),
            None,
            &p.who.actor,
            app.now(),
        )
        .await
    {
        Ok(_) => keys_view(&app, &p.who, key.secret, FormState::default()).await,
        Err(e) => {
            f.store_error(e)?;
            keys_view(&app, &p.who, String::new(), f).await
        }
    }
}

/// Revokes a key.
pub(super) async fn revoke_key(
    State(app): State<AppState>,
    Path(key_id): Path<String>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::Owner)?;
    app.store()
        .revoke_key(&key_id, &p.who.actor, app.now())
        .await?;
    see_other("/admin/keys")
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditFilter {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    page: String,
}

/// The audit log, newest first, filtered by action (prefix), actor id and page.
pub(super) async fn audit(
    State(app): State<AppState>,
    who: Signed,
    Query(q): Query<AuditFilter>,
) -> PageResult {
    let page = q.page.trim();
    let entries = app
        .store()
        .list_audit((!page.is_empty()).then_some(&PageId::from(page)), 2000)
        .await?;
    let (action, actor) = (q.action.trim(), q.actor.trim());
    html(&AuditView {
        l: Layout::new(&who, "Audit log"),
        entries: entries
            .into_iter()
            .filter(|e| action.is_empty() || e.action.starts_with(action))
            .filter(|e| actor.is_empty() || e.actor_id == actor)
            .take(200)
            .map(|e| AuditLine {
                at: e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                actor: format!("{} {}", e.actor_type, e.actor_id),
                action: e.action,
                target: format!("{} {}", e.target_type, e.target_id),
                changes: e.changes.to_string(),
                ip: e.source_ip.unwrap_or_default(),
            })
            .collect(),
        action: q.action.clone(),
        actor: q.actor.clone(),
        page: q.page.clone(),
    })
}
