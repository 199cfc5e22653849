//! One imported incident or maintenance: the row, its component links, the updates not yet
//! here, and the component status history its updates record.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::incident::Incident;
use herald_domain::status::ComponentStatus;
use serde_json::json;
use std::collections::{HashMap, HashSet};

use super::{Imported, log_at, owners};
use crate::db::{SqlBuilder, args};
use crate::incidents::{save_incident, save_update};
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

/// What one incident's import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentImport {
    pub outcome: Imported,
    /// Updates written (those the incident did not have yet).
    pub new_updates: u64,
    /// `(update id, why)` of updates left out.
    pub skipped_updates: Vec<(String, String)>,
}

/// The status history an incident's timeline records, as `(component, status, at)` rows:
/// each affected component's new status at its update's `display_at`, oldest first; when the
/// incident is closed, each component it left in another status than the one it found goes
/// back to that one at the close (Statuspage records the return to operational on the
/// resolving update, but not every page posts it). Rows at or after `now` are left out.
pub(crate) fn derived_history(
    i: &Incident,
    known: &HashSet<String>,
    now: DateTime<Utc>,
) -> Vec<(String, ComponentStatus, DateTime<Utc>)> {
    let mut rows = Vec::new();
    let mut first_old: HashMap<String, ComponentStatus> = HashMap::new();
    let mut last_new: HashMap<String, ComponentStatus> = HashMap::new();
    let mut ordered: Vec<_> = i.updates.iter().collect();
    ordered.sort_by_key(|u| (u.display_at, u.created_at));
    for u in &ordered {
        for a in u.affected_components.iter().flatten() {
            if !known.contains(&a.code) {
                continue;
            }
            first_old.entry(a.code.clone()).or_insert(a.old_status);
            last_new.insert(a.code.clone(), a.new_status);
            rows.push((a.code.clone(), a.new_status, u.display_at));
        }
    }
    let closed_at = i
        .status
        .is_closed()
        .then(|| i.resolved_at.or(ordered.last().map(|u| u.display_at)))
        .flatten();
    if let Some(at) = closed_at {
        let mut codes: Vec<_> = last_new.keys().cloned().collect();
        codes.sort();
        for code in codes {
            let (Some(before), Some(after)) = (first_old.get(&code), last_new.get(&code)) else {
                continue;
            };
            if before != after {
                rows.push((code, *before, at));
            }
        }
    }
    rows.retain(|r| r.2 < now);
    rows
}

impl Store {
    /// Writes an incident as the source has it: the row (upserted), its component links,
    /// and the updates it does not have yet (oldest first), with the component status
    /// history those updates record. One transaction. Fails with `Conflict` when the id is
    /// taken on another page. Components `i` names must be on the page (the caller filters).
    pub async fn import_incident(
        &self,
        i: &Incident,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<IncidentImport> {
        let page_id = &i.page_id;
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Everything);
        let owner = owners(&mut w.tx, "incidents", &[i.id.as_str()]).await?;
        let existed = match owner.get(&i.id) {
            Some(p) if p != page_id => {
                return Err(StoreError::Conflict(format!(
                    "incident {} exists on another page",
                    i.id
                )));
            }
            Some(_) => true,
            None => false,
        };
        #[derive(sqlx::FromRow)]
        struct UpdateOwner {
            id: String,
            incident_id: String,
        }
        let mut taken: HashMap<String, String> = HashMap::new();
        for chunk in i.updates.chunks(500) {
            let mut sql =
                SqlBuilder::new("SELECT id, incident_id FROM incident_updates WHERE id IN ");
            sql.bind_list(chunk.iter().map(|u| u.id.as_str()));
            let (text, a) = sql.finish();
            let rows: Vec<UpdateOwner> = w.tx.fetch_all(text, a).await?;
            taken.extend(rows.into_iter().map(|r| (r.id, r.incident_id)));
        }
        let mut skipped_updates = Vec::new();
        let mut fresh = Vec::new();
        for u in &i.updates {
            match taken.get(&u.id) {
                Some(owner) if *owner != i.id => skipped_updates.push((
                    u.id.clone(),
                    "the id is taken by an update of another incident".to_owned(),
                )),
                Some(_) => {}
                None => fresh.push(u.clone()),
            }
        }
        if existed {
            w.tx.execute(
                "DELETE FROM incident_components WHERE incident_id = $1",
                args![&i.id],
            )
            .await?;
        }
        save_incident(&mut w.tx, i).await?;
        fresh.sort_by_key(|u| (u.display_at, u.created_at));
        for u in &fresh {
            save_update(&mut w.tx, u).await?;
        }
        let known: HashSet<String> = {
            #[derive(sqlx::FromRow)]
            struct Id {
                id: String,
            }
            let rows: Vec<Id> =
                w.tx.fetch_all(
                    "SELECT id FROM components WHERE page_id = $1 AND is_group = FALSE",
                    args![page_id],
                )
                .await?;
            rows.into_iter().map(|r| r.id).collect()
        };
        // History only from updates written now: a re-run never logs a change twice.
        let fresh_ids: HashSet<&str> = fresh.iter().map(|u| u.id.as_str()).collect();
        let mut only_fresh = i.clone();
        only_fresh
            .updates
            .retain(|u| fresh_ids.contains(u.id.as_str()));
        if existed {
            // The closing return is derived once, when the incident is first imported.
            only_fresh.status = herald_domain::status::IncidentStatus::Investigating;
        }
        for (code, status, at) in derived_history(&only_fresh, &known, now) {
            log_at(&mut w, page_id.as_str(), &code, status, at).await?;
        }
        w.audit(
            Some(page_id),
            "import.incident",
            "incident",
            &i.id,
            json!({"name": [null, i.name], "updates": fresh.len()}),
        )
        .await?;
        w.commit().await?;
        Ok(IncidentImport {
            outcome: if existed {
                Imported::Updated
            } else {
                Imported::Created
            },
            new_updates: fresh.len() as u64,
            skipped_updates,
        })
    }
}
