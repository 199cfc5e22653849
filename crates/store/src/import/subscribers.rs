//! Imported subscribers: written in batches, each batch one transaction, with their state
//! as the source has it and no confirmation or notification of any kind. The multi-row
//! insert ([`insert_subscribers`]) is also the bulk import's (`bulk.rs`).

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::id::PageId;
use herald_domain::subscriber::{Channel, SubscriberState};
use serde_json::json;
use std::collections::HashSet;

use crate::db::SqlBuilder;
use crate::write::{Touched, Write};
use crate::{QUARANTINE_TTL, Result, Store, UNCONFIRMED_TTL};

/// A subscriber read from the source, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedSubscriber {
    pub id: String,
    pub channel: Channel,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub phone_country: Option<String>,
    pub endpoint: Option<String>,
    pub incident_id: Option<String>,
    /// Components it follows (empty: the whole page); each must be on the page.
    pub component_ids: Vec<String>,
    /// `Active`, `Unconfirmed` or `Quarantined`.
    pub state: SubscriberState,
    pub created_at: DateTime<Utc>,
    pub quarantined_at: Option<DateTime<Utc>>,
    /// The signing secret of a webhook subscriber (the source has none: herald makes one).
    pub secret: Option<String>,
}

/// What one batch wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberImport {
    /// Written now.
    pub created: u64,
    /// Already here (the same id, or the same address on the page): left as they are.
    pub existing: u64,
}

/// The unique key of a subscriber's address on a page (`subscribers.target`).
pub(super) fn target(s: &ImportedSubscriber) -> String {
    match s.channel {
        Channel::Email => s.email.clone(),
        Channel::Sms => s.phone_number.clone(),
        _ => s.endpoint.clone(),
    }
    .unwrap_or_default()
}

/// Rows per statement: 15 parameters each, well under both backends' limits.
pub(super) const ROWS: usize = 500;

/// Inserts subscribers in multi-row statements ([`ROWS`] a statement), with their component
/// links, skipping any whose id or address (`subscribers_target`) is taken; returns the ids
/// written. Marks them added by the team. Shared by `herald import statuspage` and the bulk
/// import of the API and admin UI.
pub(super) async fn insert_subscribers(
    w: &mut Write<'_>,
    page_id: &str,
    subs: &[ImportedSubscriber],
    now: DateTime<Utc>,
) -> Result<HashSet<String>> {
    let mut written: HashSet<String> = HashSet::with_capacity(subs.len());
    for chunk in subs.chunks(ROWS) {
        let mut sql = SqlBuilder::new(
            "INSERT INTO subscribers (id, page_id, channel, email, phone_number, phone_country, endpoint, incident_id, \
               state, secret, created_at, confirmed_at, quarantined_at, purge_at, target, added_by_team) VALUES ",
        );
        for (n, s) in chunk.iter().enumerate() {
            let purge_at = match s.state {
                SubscriberState::Unconfirmed => Some(now + UNCONFIRMED_TTL),
                SubscriberState::Quarantined => {
                    Some(s.quarantined_at.unwrap_or(now).max(now) + QUARANTINE_TTL)
                }
                _ => None,
            };
            let confirmed_at = (s.state != SubscriberState::Unconfirmed).then_some(s.created_at);
            sql.push(if n == 0 { "(" } else { ", (" });
            sql.bind(&s.id).push(", ").bind(page_id).push(", ");
            sql.bind(s.channel.as_str()).push(", ");
            sql.bind(s.email.as_deref()).push(", ");
            sql.bind(s.phone_number.as_deref()).push(", ");
            sql.bind(s.phone_country.as_deref()).push(", ");
            sql.bind(s.endpoint.as_deref()).push(", ");
            sql.bind(s.incident_id.as_deref()).push(", ");
            sql.bind(s.state.as_str()).push(", ");
            sql.bind(s.secret.as_deref()).push(", ");
            sql.bind(s.created_at).push(", ");
            sql.bind(confirmed_at).push(", ");
            sql.bind(s.quarantined_at).push(", ");
            sql.bind(purge_at).push(", ");
            sql.bind(target(s)).push(", TRUE)");
        }
        sql.push(" ON CONFLICT DO NOTHING RETURNING id AS v");
        let (text, a) = sql.finish();
        let rows: Vec<crate::db::One<String>> = w.tx.fetch_all(text, a).await?;
        written.extend(rows.into_iter().map(|r| r.v));
    }
    let links: Vec<(&str, &str)> = subs
        .iter()
        .filter(|s| written.contains(&s.id))
        .flat_map(|s| {
            s.component_ids
                .iter()
                .map(move |c| (s.id.as_str(), c.as_str()))
        })
        .collect();
    for chunk in links.chunks(ROWS) {
        let mut sql = SqlBuilder::new(
            "INSERT INTO subscriber_components (subscriber_id, component_id) VALUES ",
        );
        for (n, (s, c)) in chunk.iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" });
            sql.bind(*s).push(", ").bind(*c).push(")");
        }
        sql.push(" ON CONFLICT DO NOTHING");
        let (text, a) = sql.finish();
        w.tx.execute(text, a).await?;
    }
    Ok(written)
}

impl Store {
    /// Writes a batch of subscribers in one transaction, skipping those already here (by id,
    /// or by address on the page). Enqueues nothing: no confirmation, no notification.
    /// Imported subscribers count as added by the team (`added_by_team`).
    pub async fn import_subscribers(
        &self,
        page_id: &PageId,
        subs: &[ImportedSubscriber],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<SubscriberImport> {
        let mut out = SubscriberImport::default();
        if subs.is_empty() {
            return Ok(out);
        }
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        w.touch(Touched::Nothing);
        let written = insert_subscribers(&mut w, page_id.as_str(), subs, now).await?;
        out.created = written.len() as u64;
        out.existing = subs.len() as u64 - out.created;
        if out.created == 0 {
            return Ok(out);
        }
        w.audit(
            Some(page_id),
            "import.subscribers",
            "page",
            page_id.as_str(),
            json!({"created": out.created}),
        )
        .await?;
        w.commit().await?;
        Ok(out)
    }

    /// Ids of a page's subscribers among `ids` (to tell a dry run what is already here).
    pub async fn existing_subscriber_ids(
        &self,
        page_id: &PageId,
        ids: &[&str],
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(ROWS) {
            let mut sql = SqlBuilder::new("SELECT id AS v FROM subscribers WHERE page_id = ");
            sql.bind(page_id).push(" AND id IN ");
            sql.bind_list(chunk.iter().copied());
            let (text, a) = sql.finish();
            let rows: Vec<crate::db::One<String>> = self.db.read(text, a).await?;
            out.extend(rows.into_iter().map(|r| r.v));
        }
        Ok(out)
    }
}
