//! Components and component groups, and the log of every status change (the source of
//! uptime).

use chrono::{DateTime, Utc};
use herald_domain::Invalid;
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::component::{
    Component, ComponentPatch, GroupInput, GroupPatch, NewComponent, derive_group_statuses,
    display_order,
};
use herald_domain::id::{ComponentId, PageId};
use herald_domain::status::{ComponentStatus, IncidentStatus, RollupInput};
use serde_json::json;

use crate::columns::cols;
use crate::db::{One, SqlBuilder, Tx, args};
use crate::write::{Touched, Write, diff};
use crate::{Result, Store, StoreError};

#[derive(sqlx::FromRow)]
pub(crate) struct ComponentRow {
    id: String,
    page_id: String,
    group_id: Option<String>,
    is_group: bool,
    name: String,
    description: Option<String>,
    status: String,
    position: i64,
    showcase: bool,
    only_show_if_degraded: bool,
    start_date: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ComponentRow {
    fn into_component(self) -> Result<Component> {
        Ok(Component {
            status: self.status.parse().map_err(|()| {
                StoreError::Internal(format!(
                    "component {} has status {:?}",
                    self.id, self.status
                ))
            })?,
            start_date: self.start_date.as_deref().and_then(|d| d.parse().ok()),
            id: self.id,
            page_id: PageId::from(self.page_id),
            group_id: self.group_id,
            is_group: self.is_group,
            name: self.name,
            description: self.description,
            position: self.position,
            showcase: self.showcase,
            only_show_if_degraded: self.only_show_if_degraded,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        })
    }
}

/// Component rows as they are (groups' statuses not derived, in no particular order).
pub(crate) fn rows_to_components(rows: Vec<ComponentRow>) -> Result<Vec<Component>> {
    rows.into_iter().map(ComponentRow::into_component).collect()
}

pub(crate) fn to_components(rows: Vec<ComponentRow>) -> Result<Vec<Component>> {
    let mut v = rows_to_components(rows)?;
    derive_group_statuses(&mut v);
    Ok(display_order(&v).into_iter().cloned().collect())
}

/// Every component of a page, inside a write transaction (which holds the page's lock), with
/// group statuses derived.
pub(crate) async fn page_components_tx(tx: &mut Tx, page_id: &PageId) -> Result<Vec<Component>> {
    let rows: Vec<ComponentRow> = tx
        .fetch_all(
            concat!(
                "SELECT ",
                cols!(components),
                " FROM components WHERE page_id = $1"
            ),
            args![page_id],
        )
        .await?;
    to_components(rows)
}

/// Most ids a write looks up one by one; a request naming more reads the page's components.
const NAMED_MAX: usize = 200;

/// The components of page `page_id` among `ids` (what an incident write names), in no
/// particular order and groups without their derived status: a write reads these, not the
/// whole page, so its cost does not grow with the page.
pub(crate) async fn named_components_tx(
    tx: &mut Tx,
    page_id: &PageId,
    ids: &[String],
) -> Result<Vec<Component>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if ids.len() > NAMED_MAX {
        return page_components_tx(tx, page_id).await;
    }
    let mut sql = SqlBuilder::new(concat!(
        "SELECT ",
        cols!(components),
        " FROM components WHERE page_id = "
    ));
    sql.bind(page_id).push(" AND id IN ").bind_list(ids.iter());
    let (text, a) = sql.finish();
    let rows: Vec<ComponentRow> = tx.fetch_all(text, a).await?;
    rows_to_components(rows)
}

/// Sets a component's status and logs the change, if it is one.
pub(crate) async fn set_status(
    w: &mut Write<'_>,
    c: &Component,
    status: ComponentStatus,
) -> Result<()> {
    if c.status == status || c.is_group {
        return Ok(());
    }
    w.tx.execute(
        "UPDATE components SET status = $2, updated_at = $3 WHERE id = $1",
        args![&c.id, status.as_str(), w.now],
    )
    .await?;
    let at = w.now;
    log_status(w, c.page_id.as_str(), &c.id, status, at).await
}

/// Records a component status change for webhook subscribers (whose payload carries the
/// old and new status), inside the write that made it.
pub(crate) async fn record_component_event(
    w: &mut Write<'_>,
    page_id: &PageId,
    component_id: &str,
    old: ComponentStatus,
    new: ComponentStatus,
) -> Result<()> {
    let event = crate::notifications::NewEvent {
        kind: herald_domain::notification::EventKind::ComponentUpdated,
        page_id,
        incident_id: None,
        update_id: None,
        component_id: Some(component_id),
        data: Some(json!({"old_status": old.as_str(), "new_status": new.as_str()})),
    };
    crate::notifications::record_event(w, event)
        .await
        .map(|_| ())
}

/// Appends to the component's status history, stamped with the write's page version (what
/// a node's page model reads to catch up), and marks the page's components changed.
async fn log_status(
    w: &mut Write<'_>,
    page_id: &str,
    id: &str,
    status: ComponentStatus,
    at: DateTime<Utc>,
) -> Result<()> {
    let version = w.version();
    w.touch(Touched::Component(id));
    w.tx.execute(
        "INSERT INTO component_status_log (component_id, page_id, status, at, version) VALUES ($1, $2, $3, $4, $5)",
        args![id, page_id, status.as_str(), at, version],
    )
    .await?;
    Ok(())
}

async fn next_position(tx: &mut Tx, page_id: &str, group_id: Option<&str>) -> Result<i64> {
    let row: One<i64> = tx
        .fetch_one(
            "SELECT CAST(COALESCE(MAX(position), 0) + 1 AS BIGINT) AS v FROM components \
             WHERE page_id = $1 AND ((group_id IS NULL AND $2 IS NULL) OR group_id = $2)",
            args![page_id, group_id],
        )
        .await?;
    Ok(row.v)
}

fn find<'a>(all: &'a [Component], id: &str) -> Result<&'a Component> {
    all.iter().find(|c| c.id == id).ok_or(StoreError::NotFound)
}

/// Checks that `group_id` names a group on the page that `component` may join.
fn check_group(
    all: &[Component],
    group_id: &str,
    component: Option<&Component>,
) -> std::result::Result<(), Invalid> {
    let field = "component.group_id";
    match all.iter().find(|c| c.id == group_id) {
        Some(g) if g.is_group => {
            if component.is_some_and(|c| c.is_group) {
                Err(Invalid::new(
                    field,
                    "a component group cannot be put inside another group",
                ))
            } else {
                Ok(())
            }
        }
        Some(_) => Err(Invalid::new(
            field,
            format!("{field}: {group_id:?} is a component, not a group"),
        )),
        None => Err(Invalid::new(
            field,
            format!("{field}: no component group {group_id:?} on this page"),
        )),
    }
}

fn audit_fields(c: &Component) -> [(&'static str, serde_json::Value); 7] {
    [
        ("name", json!(c.name)),
        ("description", json!(c.description)),
        ("status", json!(c.status.as_str())),
        ("group_id", json!(c.group_id)),
        ("showcase", json!(c.showcase)),
        ("only_show_if_degraded", json!(c.only_show_if_degraded)),
        ("position", json!(c.position)),
    ]
}

fn audit_diff(before: Option<&Component>, after: Option<&Component>) -> serde_json::Value {
    let b = before.map(audit_fields);
    let a = after.map(audit_fields);
    let fields: Vec<(&str, serde_json::Value, serde_json::Value)> = (0..7)
        .map(|i| {
            let name = a.as_ref().or(b.as_ref()).map(|f| f[i].0).unwrap_or("");
            (
                name,
                b.as_ref().map(|f| f[i].1.clone()).unwrap_or_default(),
                a.as_ref().map(|f| f[i].1.clone()).unwrap_or_default(),
            )
        })
        .collect();
    diff(&fields)
}

/// An open incident as the page status needs it.
#[derive(sqlx::FromRow)]
struct OpenRow {
    status: String,
    impact: String,
}

impl Store {
    /// A page's components and groups in display order, groups with their derived status.
    pub async fn list_components(&self, page_id: &PageId) -> Result<Vec<Component>> {
        let rows: Vec<ComponentRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(components),
                    " FROM components WHERE page_id = $1"
                ),
                args![page_id],
            )
            .await?;
        to_components(rows)
    }

    /// The components (not groups) of page `page_id` among `ids`, in no particular order;
    /// ids of groups or of nothing on the page are left out. What a view of one incident
    /// needs, read without the rest of the page.
    pub async fn components_by_id(
        &self,
        page_id: &PageId,
        ids: &[ComponentId],
    ) -> Result<Vec<Component>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = SqlBuilder::new(concat!(
            "SELECT ",
            cols!(components),
            " FROM components WHERE is_group = false AND page_id = "
        ));
        sql.bind(page_id).push(" AND id IN ").bind_list(ids.iter());
        let (text, a) = sql.finish();
        let rows: Vec<ComponentRow> = self.db.read(text, a).await?;
        rows_to_components(rows)
    }

    /// What a page's overall status is computed from: its components' distinct statuses and
    /// its open incidents' impacts, read without timelines or the rest of the page.
    pub async fn rollup_input(&self, page_id: &PageId) -> Result<RollupInput> {
        let statuses: Vec<One<String>> = self
            .db
            .read(
                "SELECT DISTINCT status AS v FROM components WHERE page_id = $1 AND is_group = false",
                args![page_id],
            )
            .await?;
        let mut sql = SqlBuilder::new("SELECT status, impact FROM incidents WHERE page_id = ");
        sql.bind(page_id).push(" AND status IN ").bind_list(
            IncidentStatus::ALL
                .iter()
                .filter(|s| !s.is_closed())
                .map(|s| s.as_str()),
        );
        let (text, a) = sql.finish();
        let open: Vec<OpenRow> = self.db.read(text, a).await?;
        let parse =
            |what: &str, v: &str| StoreError::Internal(format!("bad {what} {v:?} in the database"));
        let mut input = RollupInput::default();
        for s in statuses {
            input
                .components
                .push(s.v.parse().map_err(|()| parse("component status", &s.v))?);
        }
        for o in open {
            let status: IncidentStatus = o
                .status
                .parse()
                .map_err(|()| parse("incident status", &o.status))?;
            if status.is_maintenance() {
                input.maintenance_in_progress |= matches!(
                    status,
                    IncidentStatus::InProgress | IncidentStatus::Verifying
                );
            } else {
                input
                    .open_incident_impacts
                    .push(o.impact.parse().map_err(|()| parse("impact", &o.impact))?);
            }
        }
        Ok(input)
    }

    /// One component or group of a page.
    pub async fn get_component(
        &self,
        page_id: &PageId,
        id: &ComponentId,
    ) -> Result<Option<Component>> {
        // A group's status derives from its children: read the page for it.
        Ok(self
            .list_components(page_id)
            .await?
            .into_iter()
            .find(|c| c.id == *id))
    }

    /// Creates a component, at the end of its group (or of the page).
    pub async fn create_component(
        &self,
        page_id: &PageId,
        new: &NewComponent,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Component> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Components);
        let all = page_components_tx(&mut w.tx, page_id).await?;
        if let Some(g) = &new.group_id {
            check_group(&all, g, None)?;
        }
        let id = herald_domain::id::generate();
        let position = next_position(&mut w.tx, page_id.as_str(), new.group_id.as_deref()).await?;
        w.tx.execute(
            "INSERT INTO components (id, page_id, group_id, is_group, name, description, status, position, showcase, only_show_if_degraded, start_date, created_at, updated_at) \
             VALUES ($1, $2, $3, FALSE, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
            args![
                &id,
                page_id,
                new.group_id.as_deref(),
                &new.name,
                new.description.as_deref(),
                new.status.as_str(),
                position,
                new.showcase,
                new.only_show_if_degraded,
                new.start_date.map(|d| d.to_string()),
                now
            ],
        )
        .await?;
        log_status(&mut w, page_id.as_str(), &id, new.status, now).await?;
        let created = page_components_tx(&mut w.tx, page_id).await?;
        let c = find(&created, &id)?.clone();
        w.audit(
            Some(page_id),
            "component.create",
            "component",
            &id,
            audit_diff(None, Some(&c)),
        )
        .await?;
        w.commit().await?;
        Ok(c)
    }

    /// Changes a component (not a group: see [`Store::update_group`]).
    pub async fn update_component(
        &self,
        page_id: &PageId,
        id: &ComponentId,
        patch: &ComponentPatch,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Component> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        let all = page_components_tx(&mut w.tx, page_id).await?;
        let current = find(&all, id.as_str())?.clone();
        if current.is_group {
            return Err(StoreError::NotFound);
        }
        // Its own row, unless it moves: then the page's order or grouping changes.
        if patch.group_id.is_some() || patch.position.is_some() {
            w.touch(Touched::Components);
        } else {
            w.touch(Touched::Component(id.as_str()));
        }
        let mut c = current.clone();
        if let Some(n) = &patch.name {
            c.name.clone_from(n);
        }
        if let Some(d) = &patch.description {
            c.description.clone_from(d);
        }
        if let Some(v) = patch.showcase {
            c.showcase = v;
        }
        if let Some(v) = patch.only_show_if_degraded {
            c.only_show_if_degraded = v;
        }
        if let Some(d) = patch.start_date {
            c.start_date = d;
        }
        if let Some(g) = &patch.group_id {
            if let Some(g) = g {
                check_group(&all, g, Some(&current))?;
            }
            if *g != current.group_id {
                c.group_id.clone_from(g);
                c.position = next_position(&mut w.tx, page_id.as_str(), g.as_deref()).await?;
            }
        }
        if let Some(p) = patch.position {
            c.position = p;
        }
        w.tx.execute(
            "UPDATE components SET group_id = $2, name = $3, description = $4, position = $5, showcase = $6, \
             only_show_if_degraded = $7, start_date = $8, updated_at = $9 WHERE id = $1",
            args![
                id,
                c.group_id.as_deref(),
                &c.name,
                c.description.as_deref(),
                c.position,
                c.showcase,
                c.only_show_if_degraded,
                c.start_date.map(|d| d.to_string()),
                now
            ],
        )
        .await?;
        if let Some(s) = patch.status.filter(|s| *s != current.status) {
            set_status(&mut w, &current, s).await?;
            record_component_event(&mut w, page_id, id.as_str(), current.status, s).await?;
        }
        let after = page_components_tx(&mut w.tx, page_id).await?;
        let c = find(&after, id.as_str())?.clone();
        w.audit(
            Some(page_id),
            "component.update",
            "component",
            id.as_str(),
            audit_diff(Some(&current), Some(&c)),
        )
        .await?;
        w.commit().await?;
        Ok(c)
    }

    /// Deletes a component, or a group (whose children then stand at the top level).
    pub async fn delete_component(
        &self,
        page_id: &PageId,
        id: &ComponentId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Component> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        // Deleting a component also takes it off every incident that named it (and its
        // status history): the page's models reload in full, which a rare edit can afford.
        w.touch(Touched::Everything);
        let all = page_components_tx(&mut w.tx, page_id).await?;
        let current = find(&all, id.as_str())?.clone();
        if current.is_group {
            let mut pos = next_position(&mut w.tx, page_id.as_str(), None).await?;
            for child in all
                .iter()
                .filter(|c| c.group_id.as_deref() == Some(id.as_str()))
            {
                w.tx.execute(
                    "UPDATE components SET group_id = NULL, position = $2, updated_at = $3 WHERE id = $1",
                    args![&child.id, pos, now],
                )
                .await?;
                pos += 1;
            }
        }
        w.tx.execute("DELETE FROM components WHERE id = $1", args![id])
            .await?;
        let kind = if current.is_group {
            "component_group"
        } else {
            "component"
        };
        w.audit(
            Some(page_id),
            &format!("{kind}.delete"),
            kind,
            id.as_str(),
            audit_diff(Some(&current), None),
        )
        .await?;
        w.commit().await?;
        Ok(current)
    }

    /// A page's groups.
    pub async fn list_groups(&self, page_id: &PageId) -> Result<Vec<Component>> {
        Ok(self
            .list_components(page_id)
            .await?
            .into_iter()
            .filter(|c| c.is_group)
            .collect())
    }

    /// Creates a group and moves the listed components into it, in the order given.
    pub async fn create_group(
        &self,
        page_id: &PageId,
        input: &GroupInput,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Component> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Components);
        let all = page_components_tx(&mut w.tx, page_id).await?;
        let id = herald_domain::id::generate();
        // The group takes the place of its first member that stood at the top level.
        let position = match all
            .iter()
            .filter(|c| c.group_id.is_none() && input.component_ids.contains(&c.id))
            .map(|c| c.position)
            .min()
        {
            Some(p) => p,
            None => next_position(&mut w.tx, page_id.as_str(), None).await?,
        };
        w.tx.execute(
            "INSERT INTO components (id, page_id, group_id, is_group, name, description, status, position, showcase, only_show_if_degraded, start_date, created_at, updated_at) \
             VALUES ($1, $2, NULL, TRUE, $3, $4, 'operational', $5, FALSE, FALSE, NULL, $6, $6)",
            args![&id, page_id, &input.name, input.description.as_deref(), position, now],
        )
        .await?;
        set_members(&mut w, &all, &id, &input.component_ids).await?;
        let after = page_components_tx(&mut w.tx, page_id).await?;
        let g = find(&after, &id)?.clone();
        let members: Vec<&str> = input.component_ids.iter().map(String::as_str).collect();
        w.audit(
            Some(page_id),
            "component_group.create",
            "component_group",
            &id,
            json!({"name": [null, g.name], "components": [null, members]}),
        )
        .await?;
        w.commit().await?;
        Ok(g)
    }

    /// Changes a group; a new component list replaces its membership (components dropped
    /// from the list move to the top level).
    pub async fn update_group(
        &self,
        page_id: &PageId,
        id: &ComponentId,
        patch: &GroupPatch,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Component> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Components);
        let all = page_components_tx(&mut w.tx, page_id).await?;
        let current = find(&all, id.as_str())?.clone();
        if !current.is_group {
            return Err(StoreError::NotFound);
        }
        let name = patch.name.clone().unwrap_or_else(|| current.name.clone());
        let description = patch
            .description
            .clone()
            .unwrap_or_else(|| current.description.clone());
        let position = patch.position.unwrap_or(current.position);
        w.tx.execute(
            "UPDATE components SET name = $2, description = $3, position = $4, updated_at = $5 WHERE id = $1",
            args![id, &name, description.as_deref(), position, now],
        )
        .await?;
        let before: Vec<String> = all
            .iter()
            .filter(|c| c.group_id.as_deref() == Some(id.as_str()))
            .map(|c| c.id.clone())
            .collect();
        if let Some(ids) = &patch.component_ids {
            let mut pos = next_position(&mut w.tx, page_id.as_str(), None).await?;
            for old in before.iter().filter(|o| !ids.contains(o)) {
                w.tx.execute(
                    "UPDATE components SET group_id = NULL, position = $2, updated_at = $3 WHERE id = $1",
                    args![old, pos, now],
                )
                .await?;
                pos += 1;
            }
            set_members(&mut w, &all, id.as_str(), ids).await?;
        }
        let after = page_components_tx(&mut w.tx, page_id).await?;
        let g = find(&after, id.as_str())?.clone();
        let members: Vec<String> = after
            .iter()
            .filter(|c| c.group_id.as_deref() == Some(id.as_str()))
            .map(|c| c.id.clone())
            .collect();
        let changes = diff(&[
            ("name", json!(current.name), json!(g.name)),
            (
                "description",
                json!(current.description),
                json!(g.description),
            ),
            ("position", json!(current.position), json!(g.position)),
            ("components", json!(before), json!(members)),
        ]);
        w.audit(
            Some(page_id),
            "component_group.update",
            "component_group",
            id.as_str(),
            changes,
        )
        .await?;
        w.commit().await?;
        Ok(g)
    }
}

/// Puts `ids` (components of this page, not groups) into `group_id`, positions in list order.
async fn set_members(
    w: &mut Write<'_>,
    all: &[Component],
    group_id: &str,
    ids: &[String],
) -> Result<()> {
    for (i, cid) in ids.iter().enumerate() {
        match all.iter().find(|c| c.id == *cid) {
            Some(c) if !c.is_group => {}
            Some(_) => {
                return Err(Invalid::new(
                    "component_group.components",
                    format!(
                        "component_group.components: {cid:?} is a group; groups cannot be nested"
                    ),
                )
                .into());
            }
            None => {
                return Err(Invalid::new(
                    "component_group.components",
                    format!("component_group.components: no component {cid:?} on this page"),
                )
                .into());
            }
        }
        w.tx.execute(
            "UPDATE components SET group_id = $2, position = $3, updated_at = $4 WHERE id = $1",
            args![cid, group_id, i as i64 + 1, w.now],
        )
        .await?;
    }
    Ok(())
}
