//! Moving a component (or group) one place up or down among its siblings: both positions
//! change in one transaction with one audit entry.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::component::{Component, display_order};
use herald_domain::id::{ComponentId, PageId};
use serde_json::json;

use crate::components::page_components_tx;
use crate::db::args;
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

impl Store {
    /// Swaps a component or group with its previous (`up`) or next sibling, renumbering the
    /// siblings 1..n first so equal positions cannot make the move a no-op. Moving the first
    /// one up (or the last one down) changes nothing and writes no audit entry.
    pub async fn move_component(
        &self,
        page_id: &PageId,
        id: &ComponentId,
        up: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Component> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Components);
        let all = page_components_tx(&mut w.tx, page_id).await?;
        let current = all
            .iter()
            .find(|c| c.id == *id)
            .ok_or(StoreError::NotFound)?
            .clone();
        let siblings: Vec<&Component> = display_order(&all)
            .into_iter()
            .filter(|c| c.group_id == current.group_id)
            .collect();
        let at = siblings
            .iter()
            .position(|c| c.id == *id)
            .ok_or(StoreError::NotFound)?;
        let to = if up { at.checked_sub(1) } else { Some(at + 1) };
        let Some(to) = to.filter(|t| *t < siblings.len()) else {
            return Ok(current);
        };
        let mut order: Vec<&str> = siblings.iter().map(|c| c.id.as_str()).collect();
        order.swap(at, to);
        for (i, cid) in order.iter().enumerate() {
            w.tx.execute(
                "UPDATE components SET position = $2, updated_at = $3 WHERE id = $1",
                args![*cid, i as i64 + 1, now],
            )
            .await?;
        }
        let kind = if current.is_group {
            "component_group"
        } else {
            "component"
        };
        w.audit(
            Some(page_id),
            &format!("{kind}.move"),
            kind,
            id.as_str(),
            json!({"position": [at + 1, to + 1]}),
        )
        .await?;
        w.commit().await?;
        let after = self.list_components(page_id).await?;
        after
            .into_iter()
            .find(|c| c.id == *id)
            .ok_or(StoreError::NotFound)
    }
}
