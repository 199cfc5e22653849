//! Deleting an incident (incident managers and owners): a confirmation page whose button
//! posts the delete. One store call (one audit entry), then the public page is re-rendered.

use axum::extract::{Path, State};
use herald_domain::id::{IncidentId, PageId};
use herald_domain::user::Role;

use super::confirm::{Confirm, confirm_page};
use super::incident_view::load_incident;
use super::incidents::page_for;
use super::see_other;
use super::session::{Posted, Signed};
use super::views::Layout;
use crate::error::PageResult;
use crate::state::AppState;

/// Asks before deleting an incident.
pub(super) async fn confirm_delete(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, incident_id)): Path<(String, String)>,
) -> PageResult {
    let page = page_for(&app, &who, &page_id, Role::IncidentManager).await?;
    let i = load_incident(&app, &page, &incident_id).await?;
    confirm_page(&Confirm {
        l: Layout::new(&who, format!("Delete {}", i.name)),
        text: format!(
            "Delete {:?} and its whole timeline? It disappears from the public page and its history; this cannot be undone.",
            i.name
        ),
        action: format!("/admin/pages/{page_id}/incidents/{incident_id}/delete"),
        button: "Delete incident".to_owned(),
        back: format!("/admin/pages/{page_id}/incidents/{incident_id}"),
    })
}

/// Deletes an incident.
pub(super) async fn delete_incident(
    State(app): State<AppState>,
    Path((page_id, incident_id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::IncidentManager)?;
    match app
        .store()
        .delete_incident(
            &PageId::from(&page_id),
            &IncidentId::from(&incident_id),
            &p.who.actor,
            app.now(),
        )
        .await
    {
        Ok(_) => {
            app.page_changed(&PageId::from(page_id.as_str())).await;
            see_other(&format!("/admin/pages/{page_id}"))
        }
        Err(e) => Err(e.into()),
    }
}
