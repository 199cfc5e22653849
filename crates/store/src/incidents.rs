//! Incidents, scheduled maintenances, their timelines and postmortems.

use chrono::{DateTime, Utc};
use herald_domain::Invalid;
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::component::Component;
use herald_domain::id::{IncidentId, PageId};
use herald_domain::incident::{
    AffectedComponent, Incident, IncidentChange, IncidentKind, IncidentUpdate, MaintenanceFlags,
    Postmortem,
};
use herald_domain::page::Page;
use herald_domain::status::IncidentStatus;
use serde_json::json;
use std::collections::HashMap;

use crate::columns::cols;
use crate::components::{named_components_tx, record_component_event, set_status};
use crate::db::{Reads, SqlBuilder, Tx, args};
use crate::notifications::{NewEvent, record_event};
use crate::write::{Touched, Write, diff};
use crate::{Result, Store, StoreError};
use herald_domain::notification::EventKind;

/// Which incidents to list.
#[derive(Debug, Clone)]
pub struct IncidentQuery {
    /// Only realtime incidents, or only maintenances.
    pub kind: Option<IncidentKind>,
    /// Only these statuses (empty: any).
    pub statuses: Vec<IncidentStatus>,
    /// Only names containing this text (case-insensitive).
    pub q: Option<String>,
    pub limit: i64,
    pub offset: i64,
    pub order: IncidentOrder,
}

impl Default for IncidentQuery {
    fn default() -> Self {
        Self {
            kind: None,
            statuses: Vec::new(),
            q: None,
            limit: 100,
            offset: 0,
            order: IncidentOrder::NewestFirst,
        }
    }
}

/// Order of an incident list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentOrder {
    /// Most recently created first.
    NewestFirst,
    /// Soonest maintenance window first.
    SoonestScheduled,
}

#[derive(sqlx::FromRow)]
pub(crate) struct IncidentRow {
    id: String,
    page_id: String,
    kind: String,
    name: String,
    status: String,
    impact: String,
    impact_override: Option<String>,
    created_at: i64,
    updated_at: i64,
    started_at: i64,
    monitoring_at: Option<i64>,
    resolved_at: Option<i64>,
    scheduled_for: Option<i64>,
    scheduled_until: Option<i64>,
    scheduled_reminded_at: Option<i64>,
    scheduled_remind_prior: bool,
    scheduled_auto_in_progress: bool,
    scheduled_auto_completed: bool,
    auto_transition_to_maintenance_state: bool,
    auto_transition_to_operational_state: bool,
    auto_transition_deliver_notifications_at_start: bool,
    auto_transition_deliver_notifications_at_end: bool,
    backfilled: bool,
    metadata: String,
    pm_body: Option<String>,
    pm_body_updated_at: Option<i64>,
    pm_body_draft: Option<String>,
    pm_body_draft_updated_at: Option<i64>,
    pm_published_at: Option<i64>,
    pm_notify_subscribers: bool,
    pm_notify_twitter: bool,
    pm_custom_tweet: Option<String>,
    pm_ignored: bool,
    pm_notified_subscribers: bool,
    pm_notified_twitter: bool,
    pm_created_at: Option<i64>,
    pm_updated_at: Option<i64>,
}

fn corrupt(what: &str, id: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("{what} of {id} is {value:?}"))
}

fn ts(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.map(from_ms)
}

impl IncidentRow {
    fn into_incident(self) -> Result<Incident> {
        Ok(Incident {
            status: self
                .status
                .parse()
                .map_err(|()| corrupt("status", &self.id, &self.status))?,
            impact: self
                .impact
                .parse()
                .map_err(|()| corrupt("impact", &self.id, &self.impact))?,
            impact_override: match &self.impact_override {
                Some(i) => Some(
                    i.parse()
                        .map_err(|()| corrupt("impact_override", &self.id, i))?,
                ),
                None => None,
            },
            kind: IncidentKind::from_stored(&self.kind),
            metadata: serde_json::from_str(&self.metadata).unwrap_or_else(|_| json!({})),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            started_at: from_ms(self.started_at),
            monitoring_at: ts(self.monitoring_at),
            resolved_at: ts(self.resolved_at),
            scheduled_for: ts(self.scheduled_for),
            scheduled_until: ts(self.scheduled_until),
            scheduled_reminded_at: ts(self.scheduled_reminded_at),
            flags: MaintenanceFlags {
                remind_prior: self.scheduled_remind_prior,
                auto_in_progress: self.scheduled_auto_in_progress,
                auto_completed: self.scheduled_auto_completed,
                auto_transition_to_maintenance_state: self.auto_transition_to_maintenance_state,
                auto_transition_to_operational_state: self.auto_transition_to_operational_state,
                auto_transition_deliver_notifications_at_start: self
                    .auto_transition_deliver_notifications_at_start,
                auto_transition_deliver_notifications_at_end: self
                    .auto_transition_deliver_notifications_at_end,
            },
            backfilled: self.backfilled,
            postmortem: Postmortem {
                body: self.pm_body,
                body_updated_at: ts(self.pm_body_updated_at),
                body_draft: self.pm_body_draft,
                body_draft_updated_at: ts(self.pm_body_draft_updated_at),
                published_at: ts(self.pm_published_at),
                notify_subscribers: self.pm_notify_subscribers,
                notify_twitter: self.pm_notify_twitter,
                custom_tweet: self.pm_custom_tweet,
                ignored: self.pm_ignored,
                notified_subscribers: self.pm_notified_subscribers,
                notified_twitter: self.pm_notified_twitter,
                created_at: ts(self.pm_created_at),
                updated_at: ts(self.pm_updated_at),
            },
            id: self.id,
            page_id: PageId::from(self.page_id),
            name: self.name,
            component_ids: Vec::new(),
            updates: Vec::new(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct UpdateRow {
    id: String,
    incident_id: String,
    status: String,
    body: String,
    created_at: i64,
    updated_at: i64,
    display_at: i64,
    deliver_notifications: bool,
    custom_tweet: Option<String>,
    tweet_id: Option<String>,
    wants_twitter_update: bool,
    twitter_updated_at: Option<i64>,
    affected_components: Option<String>,
}

impl UpdateRow {
    fn into_update(self) -> Result<IncidentUpdate> {
        Ok(IncidentUpdate {
            status: self
                .status
                .parse()
                .map_err(|()| corrupt("update status", &self.id, &self.status))?,
            affected_components: match &self.affected_components {
                Some(j) => Some(
                    serde_json::from_str::<Vec<AffectedComponent>>(j)
                        .map_err(|_| corrupt("affected_components", &self.id, j))?,
                ),
                None => None,
            },
            id: self.id,
            incident_id: self.incident_id,
            body: self.body,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            display_at: from_ms(self.display_at),
            deliver_notifications: self.deliver_notifications,
            custom_tweet: self.custom_tweet,
            tweet_id: self.tweet_id,
            wants_twitter_update: self.wants_twitter_update,
            twitter_updated_at: ts(self.twitter_updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    incident_id: String,
    component_id: String,
}

/// Writes every column of the incident row (insert or overwrite).
pub(crate) async fn save_incident(tx: &mut Tx, i: &Incident) -> Result<()> {
    let p = &i.postmortem;
    let f = &i.flags;
    tx.execute(
        "INSERT INTO incidents (id, page_id, kind, name, status, impact, impact_override, created_at, updated_at, started_at, \
           monitoring_at, resolved_at, scheduled_for, scheduled_until, scheduled_reminded_at, scheduled_remind_prior, \
           scheduled_auto_in_progress, scheduled_auto_completed, auto_transition_to_maintenance_state, \
           auto_transition_to_operational_state, auto_transition_deliver_notifications_at_start, \
           auto_transition_deliver_notifications_at_end, backfilled, metadata, pm_body, pm_body_updated_at, pm_body_draft, \
           pm_body_draft_updated_at, pm_published_at, pm_notify_subscribers, pm_notify_twitter, pm_custom_tweet, pm_ignored, \
           pm_notified_subscribers, pm_notified_twitter, pm_created_at, pm_updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
           $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status, impact = excluded.impact, \
           impact_override = excluded.impact_override, updated_at = excluded.updated_at, monitoring_at = excluded.monitoring_at, \
           resolved_at = excluded.resolved_at, scheduled_for = excluded.scheduled_for, scheduled_until = excluded.scheduled_until, \
           scheduled_reminded_at = excluded.scheduled_reminded_at, scheduled_remind_prior = excluded.scheduled_remind_prior, \
           scheduled_auto_in_progress = excluded.scheduled_auto_in_progress, scheduled_auto_completed = excluded.scheduled_auto_completed, \
           auto_transition_to_maintenance_state = excluded.auto_transition_to_maintenance_state, \
           auto_transition_to_operational_state = excluded.auto_transition_to_operational_state, \
           auto_transition_deliver_notifications_at_start = excluded.auto_transition_deliver_notifications_at_start, \
           auto_transition_deliver_notifications_at_end = excluded.auto_transition_deliver_notifications_at_end, \
           metadata = excluded.metadata, pm_body = excluded.pm_body, pm_body_updated_at = excluded.pm_body_updated_at, \
           pm_body_draft = excluded.pm_body_draft, pm_body_draft_updated_at = excluded.pm_body_draft_updated_at, \
           pm_published_at = excluded.pm_published_at, pm_notify_subscribers = excluded.pm_notify_subscribers, \
           pm_notify_twitter = excluded.pm_notify_twitter, pm_custom_tweet = excluded.pm_custom_tweet, pm_ignored = excluded.pm_ignored, \
           pm_notified_subscribers = excluded.pm_notified_subscribers, pm_notified_twitter = excluded.pm_notified_twitter, \
           pm_created_at = excluded.pm_created_at, pm_updated_at = excluded.pm_updated_at",
        args![
            &i.id, &i.page_id, i.kind.as_str(), &i.name, i.status.as_str(), i.impact.as_str(),
            i.impact_override.map(|o| o.as_str()), i.created_at, i.updated_at, i.started_at, i.monitoring_at,
            i.resolved_at, i.scheduled_for, i.scheduled_until, i.scheduled_reminded_at, f.remind_prior,
            f.auto_in_progress, f.auto_completed, f.auto_transition_to_maintenance_state,
            f.auto_transition_to_operational_state, f.auto_transition_deliver_notifications_at_start,
            f.auto_transition_deliver_notifications_at_end, i.backfilled, i.metadata.to_string(), p.body.as_deref(),
            p.body_updated_at, p.body_draft.as_deref(), p.body_draft_updated_at, p.published_at, p.notify_subscribers,
            p.notify_twitter, p.custom_tweet.as_deref(), p.ignored, p.notified_subscribers, p.notified_twitter,
            p.created_at, p.updated_at
        ],
    )
    .await?;
    for (n, cid) in i.component_ids.iter().enumerate() {
        tx.execute(
            "INSERT INTO incident_components (incident_id, component_id, position) VALUES ($1, $2, $3) \
             ON CONFLICT (incident_id, component_id) DO NOTHING",
            args![&i.id, cid, n as i64],
        )
        .await?;
    }
    Ok(())
}

/// Writes every column of an update row (insert or overwrite).
pub(crate) async fn save_update(tx: &mut Tx, u: &IncidentUpdate) -> Result<()> {
    let affected = match &u.affected_components {
        Some(a) => Some(serde_json::to_string(a).map_err(|e| StoreError::Internal(e.to_string()))?),
        None => None,
    };
    tx.execute(
        "INSERT INTO incident_updates (id, incident_id, status, body, created_at, updated_at, display_at, deliver_notifications, \
           custom_tweet, tweet_id, wants_twitter_update, twitter_updated_at, affected_components, seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
           (SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_updates WHERE incident_id = $2)) \
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at, display_at = excluded.display_at, \
           deliver_notifications = excluded.deliver_notifications, wants_twitter_update = excluded.wants_twitter_update",
        args![
            &u.id, &u.incident_id, u.status.as_str(), &u.body, u.created_at, u.updated_at, u.display_at,
            u.deliver_notifications, u.custom_tweet.as_deref(), u.tweet_id.as_deref(), u.wants_twitter_update,
            u.twitter_updated_at, affected
        ],
    )
    .await?;
    Ok(())
}

/// The incident row and its component links, inside a write transaction.
pub(crate) async fn load_tx(tx: &mut Tx, page_id: &PageId, id: &IncidentId) -> Result<Incident> {
    let row: IncidentRow = tx
        .fetch_one(
            concat!(
                "SELECT ",
                cols!(incidents),
                " FROM incidents WHERE id = $1 AND page_id = $2"
            ),
            args![id, page_id],
        )
        .await?;
    let mut i = row.into_incident()?;
    let links: Vec<LinkRow> = tx
        .fetch_all(
            "SELECT incident_id, component_id FROM incident_components WHERE incident_id = $1 ORDER BY position",
            args![id],
        )
        .await?;
    i.component_ids = links.into_iter().map(|l| l.component_id).collect();
    Ok(i)
}

/// Whose timelines [`attach`] reads.
pub(crate) enum Timelines<'a> {
    /// Those of the incident rows given (an `IN` list of their ids).
    OfRows,
    /// Every incident of this page (a join, for when the rows are all of them).
    OfPage(&'a str),
}

/// Turns incident rows into incidents with their timelines (newest first) and component ids,
/// read through `r`.
pub(crate) async fn attach(
    r: &mut Reads<'_>,
    rows: Vec<IncidentRow>,
    whose: Timelines<'_>,
) -> Result<Vec<Incident>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut incidents = rows
        .into_iter()
        .map(IncidentRow::into_incident)
        .collect::<Result<Vec<_>>>()?;
    let (updates, links): (Vec<UpdateRow>, Vec<LinkRow>) = match whose {
        Timelines::OfRows => {
            let ids: Vec<&str> = incidents.iter().map(|i| i.id.as_str()).collect();
            let mut sql = SqlBuilder::new(concat!("SELECT ", cols!(incident_updates), " FROM incident_updates WHERE incident_id IN "));
            sql.bind_list(ids.iter().copied())
                .push(" ORDER BY display_at DESC, seq DESC");
            let (text, a) = sql.finish();
            let updates = r.fetch_all(text, a).await?;
            let mut sql = SqlBuilder::new(
                "SELECT incident_id, component_id FROM incident_components WHERE incident_id IN ",
            );
            sql.bind_list(ids.iter().copied())
                .push(" ORDER BY position");
            let (text, a) = sql.finish();
            (updates, r.fetch_all(text, a).await?)
        }
        Timelines::OfPage(page_id) => (
            r.fetch_all(
                concat!(
                    "SELECT ",
                    cols!(incident_updates),
                    " FROM incident_updates WHERE incident_id IN \
                     (SELECT id FROM incidents WHERE page_id = $1) ORDER BY display_at DESC, seq DESC"
                ),
                args![page_id],
            )
            .await?,
            r.fetch_all(
                "SELECT l.incident_id, l.component_id FROM incident_components l \
                 JOIN incidents i ON i.id = l.incident_id WHERE i.page_id = $1 ORDER BY l.position",
                args![page_id],
            )
            .await?,
        ),
    };
    let mut by_incident: HashMap<String, Vec<IncidentUpdate>> = HashMap::new();
    for u in updates {
        let u = u.into_update()?;
        by_incident
            .entry(u.incident_id.clone())
            .or_default()
            .push(u);
    }
    let mut components: HashMap<String, Vec<String>> = HashMap::new();
    for l in links {
        components
            .entry(l.incident_id)
            .or_default()
            .push(l.component_id);
    }
    for i in &mut incidents {
        i.updates = by_incident.remove(&i.id).unwrap_or_default();
        i.component_ids = components.remove(&i.id).unwrap_or_default();
    }
    Ok(incidents)
}

fn incident_audit(before: Option<&Incident>, after: &Incident) -> serde_json::Value {
    let f = |i: Option<&Incident>| {
        i.map(|i| {
            [
                json!(i.name),
                json!(i.status.as_str()),
                json!(i.impact.as_str()),
                json!(i.scheduled_for.map(|t| t.timestamp_millis())),
                json!(i.scheduled_until.map(|t| t.timestamp_millis())),
                json!(i.postmortem.published_at.map(|t| t.timestamp_millis())),
            ]
        })
        .unwrap_or_default()
    };
    let (b, a) = (f(before), f(Some(after)));
    let names = [
        "name",
        "status",
        "impact",
        "scheduled_for",
        "scheduled_until",
        "postmortem_published_at",
    ];
    diff(
        &names
            .iter()
            .zip(b.into_iter().zip(a))
            .map(|(n, (b, a))| (*n, b, a))
            .collect::<Vec<_>>(),
    )
}

/// Writes an incident change inside `w`: the incident, its new update, the component
/// statuses it sets, the notification events of a delivered update and the audit entry.
/// Automation opens and resolves its incidents through this too.
pub(crate) async fn apply_change(
    w: &mut Write<'_>,
    components: &[Component],
    before: Option<&Incident>,
    change: &IncidentChange,
) -> Result<()> {
    let i = &change.incident;
    w.touch(Touched::Incident(&i.id));
    save_incident(&mut w.tx, i).await?;
    if let Some(u) = &change.new_update {
        save_update(&mut w.tx, u).await?;
    }
    for (cid, status) in &change.component_changes {
        if let Some(c) = components.iter().find(|c| c.id == *cid) {
            set_status(w, c, *status).await?;
        }
    }
    // Subscribers hear of each update the author wants delivered (never of backfilled
    // history), and webhooks of each component change it made.
    if let Some(u) = change
        .new_update
        .as_ref()
        .filter(|u| u.deliver_notifications && !i.backfilled)
    {
        let kind = EventKind::of_update(before.is_none(), u.status);
        let event = NewEvent {
            kind,
            page_id: &i.page_id,
            incident_id: Some(&i.id),
            update_id: Some(&u.id),
            component_id: None,
            data: None,
        };
        record_event(w, event).await?;
        for a in u.affected_components.iter().flatten() {
            record_component_event(w, &i.page_id, &a.code, a.old_status, a.new_status).await?;
        }
    }
    let action = match (before, &change.new_update) {
        (None, _) => "incident.create",
        (Some(_), Some(_)) => "incident.post_update",
        (Some(_), None) => "incident.update",
    };
    let mut changes = incident_audit(before, i);
    if let (Some(u), Some(obj)) = (&change.new_update, changes.as_object_mut()) {
        obj.insert("update".to_owned(), json!({"id": u.id, "status": u.status.as_str(), "components": u.affected_components.as_ref().map(|a| a.len()).unwrap_or(0)}));
    }
    w.audit(Some(&i.page_id), action, "incident", &i.id, changes)
        .await
}

impl Store {
    /// Incidents of a page, each with its timeline (newest first) and component ids.
    pub async fn list_incidents(
        &self,
        page_id: &PageId,
        q: &IncidentQuery,
    ) -> Result<Vec<Incident>> {
        let mut sql = SqlBuilder::new(concat!(
            "SELECT ",
            cols!(incidents),
            " FROM incidents WHERE page_id = "
        ));
        sql.bind(page_id);
        if let Some(kind) = q.kind {
            sql.push(" AND kind = ").bind(kind.as_str());
        }
        if !q.statuses.is_empty() {
            sql.push(" AND status IN ")
                .bind_list(q.statuses.iter().map(|s| s.as_str()));
        }
        if let Some(text) = q.q.as_deref().filter(|t| !t.is_empty()) {
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            sql.push(" AND LOWER(name) LIKE ")
                .bind(format!("%{escaped}%"))
                .push(" ESCAPE '\\'");
        }
        sql.push(match q.order {
            IncidentOrder::NewestFirst => " ORDER BY created_at DESC, id DESC",
            IncidentOrder::SoonestScheduled => " ORDER BY scheduled_for ASC, created_at ASC, id",
        });
        sql.push(" LIMIT ")
            .bind(q.limit.clamp(0, 1000))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let (text, args) = sql.finish();
        let rows: Vec<IncidentRow> = self.db.read(text, args).await?;
        attach(&mut Reads::Pools(&self.db), rows, Timelines::OfRows).await
    }

    /// One incident with its timeline.
    pub async fn get_incident(
        &self,
        page_id: &PageId,
        id: &IncidentId,
    ) -> Result<Option<Incident>> {
        let rows: Vec<IncidentRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(incidents),
                    " FROM incidents WHERE id = $1 AND page_id = $2"
                ),
                args![id, page_id],
            )
            .await?;
        Ok(attach(&mut Reads::Pools(&self.db), rows, Timelines::OfRows)
            .await?
            .pop())
    }

    /// Creates an incident or maintenance. `plan` gets the page and the components `named`
    /// (the ids its request names: `IncidentInput::named_components`) as they are inside
    /// the transaction, and returns what to write.
    pub async fn create_incident<F>(
        &self,
        page_id: &PageId,
        actor: &Actor,
        now: DateTime<Utc>,
        named: &[String],
        plan: F,
    ) -> Result<Incident>
    where
        F: FnOnce(
                &Page,
                &[Component],
                DateTime<Utc>,
            ) -> std::result::Result<IncidentChange, Invalid>
            + Send,
    {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        let page = w.page()?;
        let components = named_components_tx(&mut w.tx, page_id, named).await?;
        let change = plan(&page, &components, w.now)?;
        let id = change.incident.id.clone();
        apply_change(&mut w, &components, None, &change).await?;
        w.commit().await?;
        self.get_incident(page_id, &IncidentId::from(id.as_str()))
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Changes an incident (and posts an update when the plan has one). `plan` gets the page,
    /// the incident, and its components with those `named` (the ids its request names), as
    /// they are inside the transaction, which holds the page's lock: concurrent updates
    /// queue, and none is lost.
    pub async fn update_incident<F>(
        &self,
        page_id: &PageId,
        id: &IncidentId,
        actor: &Actor,
        now: DateTime<Utc>,
        named: &[String],
        plan: F,
    ) -> Result<Incident>
    where
        F: FnOnce(
                &Page,
                &Incident,
                &[Component],
                DateTime<Utc>,
            ) -> std::result::Result<IncidentChange, Invalid>
            + Send,
    {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        let page = w.page()?;
        let current = load_tx(&mut w.tx, page_id, id).await?;
        let mut ids: Vec<String> = named
            .iter()
            .chain(&current.component_ids)
            .cloned()
            .collect();
        ids.sort();
        ids.dedup();
        let components = named_components_tx(&mut w.tx, page_id, &ids).await?;
        let change = plan(&page, &current, &components, w.now)?;
        apply_change(&mut w, &components, Some(&current), &change).await?;
        w.commit().await?;
        self.get_incident(page_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Rewrites an incident's own fields (postmortem, name...) through `change`, which gets
    /// the current incident inside the transaction. `action` names the change in the audit log.
    pub async fn modify_incident<F>(
        &self,
        page_id: &PageId,
        id: &IncidentId,
        action: &str,
        actor: &Actor,
        now: DateTime<Utc>,
        change: F,
    ) -> Result<Incident>
    where
        F: FnOnce(&Incident, DateTime<Utc>) -> std::result::Result<Incident, Invalid> + Send,
    {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Incident(id.as_str()));
        let current = load_tx(&mut w.tx, page_id, id).await?;
        let mut new = change(&current, w.now)?;
        let published =
            current.postmortem.published_at.is_none() && new.postmortem.published_at.is_some();
        if published && new.postmortem.notify_subscribers {
            new.postmortem.notified_subscribers = true;
            let event = NewEvent {
                kind: EventKind::PostmortemPublished,
                page_id,
                incident_id: Some(id.as_str()),
                update_id: None,
                component_id: None,
                data: None,
            };
            record_event(&mut w, event).await?;
        }
        save_incident(&mut w.tx, &new).await?;
        w.audit(
            Some(page_id),
            action,
            "incident",
            id.as_str(),
            incident_audit(Some(&current), &new),
        )
        .await?;
        w.commit().await?;
        self.get_incident(page_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes an incident and its timeline; returns it as it was.
    pub async fn delete_incident(
        &self,
        page_id: &PageId,
        id: &IncidentId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Incident> {
        let before = self
            .get_incident(page_id, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Incident(id.as_str()));
        let n =
            w.tx.execute(
                "DELETE FROM incidents WHERE id = $1 AND page_id = $2",
                args![id, page_id],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        w.audit(
            Some(page_id),
            "incident.delete",
            "incident",
            id.as_str(),
            json!({"name": [before.name, null]}),
        )
        .await?;
        w.commit().await?;
        Ok(before)
    }

    /// Edits a past update through `change` (body, display time, notification flag).
    pub async fn update_incident_update<F>(
        &self,
        page_id: &PageId,
        incident_id: &IncidentId,
        update_id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
        change: F,
    ) -> Result<IncidentUpdate>
    where
        F: FnOnce(
                &Page,
                &IncidentUpdate,
                DateTime<Utc>,
            ) -> std::result::Result<IncidentUpdate, Invalid>
            + Send,
    {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Incident(incident_id.as_str()));
        let page = w.page()?;
        load_tx(&mut w.tx, page_id, incident_id).await?;
        let row: UpdateRow =
            w.tx.fetch_one(
                concat!(
                    "SELECT ",
                    cols!(incident_updates),
                    " FROM incident_updates WHERE id = $1 AND incident_id = $2"
                ),
                args![update_id, incident_id],
            )
            .await?;
        let current = row.into_update()?;
        let new = change(&page, &current, w.now)?;
        save_update(&mut w.tx, &new).await?;
        w.tx.execute(
            "UPDATE incidents SET updated_at = $2 WHERE id = $1",
            args![incident_id, w.now],
        )
        .await?;
        let changes = diff(&[
            ("body", json!(current.body), json!(new.body)),
            (
                "display_at",
                json!(current.display_at.timestamp_millis()),
                json!(new.display_at.timestamp_millis()),
            ),
            (
                "deliver_notifications",
                json!(current.deliver_notifications),
                json!(new.deliver_notifications),
            ),
        ]);
        w.audit(
            Some(page_id),
            "incident_update.update",
            "incident_update",
            update_id,
            changes,
        )
        .await?;
        w.commit().await?;
        Ok(new)
    }

    /// Maintenances whose automation has something to do at `now`: start, complete, or
    /// remind subscribers (those starting before `remind_until`). Across all pages, as
    /// (page id, incident id).
    pub async fn due_maintenances(
        &self,
        now: DateTime<Utc>,
        remind_until: DateTime<Utc>,
    ) -> Result<Vec<(PageId, IncidentId)>> {
        #[derive(sqlx::FromRow)]
        struct Due {
            page_id: String,
            id: String,
        }
        let rows: Vec<Due> = self
            .db
            .read(
                "SELECT page_id, id FROM incidents WHERE kind = 'maintenance' AND ( \
                   (status = 'scheduled' AND scheduled_auto_in_progress AND scheduled_for <= $1) \
                   OR (status IN ('in_progress', 'verifying') AND scheduled_auto_completed AND scheduled_until <= $1) \
                   OR (status = 'scheduled' AND scheduled_remind_prior AND scheduled_reminded_at IS NULL AND scheduled_for <= $2)) \
                 ORDER BY scheduled_for, id",
                args![now, remind_until],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|d| (d.page_id.into(), d.id.into()))
            .collect())
    }

    /// Marks a scheduled maintenance that asked for a reminder and starts before
    /// `remind_until` as reminded, and records the reminder event (whose fan-out tells the
    /// subscribers) in the same transaction, once: returns false when there is nothing to remind (already
    /// reminded, not asked for, not yet time, or no longer scheduled).
    pub async fn mark_reminded(
        &self,
        page_id: &PageId,
        id: &IncidentId,
        remind_until: DateTime<Utc>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Incident(id.as_str()));
        let n = w
            .tx
            .execute(
                "UPDATE incidents SET scheduled_reminded_at = $3 WHERE id = $1 AND page_id = $2 \
                 AND scheduled_reminded_at IS NULL AND status = 'scheduled' AND kind = 'maintenance' \
                 AND scheduled_remind_prior AND scheduled_for <= $4",
                args![id, page_id, w.now, remind_until],
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        let event = NewEvent {
            kind: EventKind::MaintenanceReminder,
            page_id,
            incident_id: Some(id.as_str()),
            update_id: None,
            component_id: None,
            data: None,
        };
        record_event(&mut w, event).await?;
        w.audit(
            Some(page_id),
            "maintenance.remind",
            "incident",
            id.as_str(),
            json!({"scheduled_reminded_at": [null, w.now.timestamp_millis()]}),
        )
        .await?;
        w.commit().await?;
        Ok(true)
    }
}
