//! The bulk subscriber import of the API and the admin UI: a whole validated file in one
//! transaction, through the same multi-row inserts as `herald import statuspage`.
//!
//! All or nothing: the plan is finished inside the transaction against the page's components
//! and incidents as they are there, and a plan with any bad row writes nothing. Addresses the
//! page has already are skipped and counted (an unsubscribed one is never signed up again);
//! confirmations are enqueued in the same transaction, one job per new subscriber waiting
//! for one.

use chrono::{DateTime, Utc};
use herald_domain::actor::Actor;
use herald_domain::id::PageId;
use herald_domain::subscriber::import::{At, Plan, Rejected, SkipReason, Skipped};
use herald_domain::subscriber::{Channel, SubscriberState};
use serde_json::json;
use std::collections::{HashMap, HashSet};

use super::subscribers::{ImportedSubscriber, ROWS, insert_subscribers};
use crate::db::{One, SqlBuilder, args};
use crate::kinds::{DELIVER_EMAIL, DELIVER_SMS, DeliverJob};
use crate::write::{Touched, Write};
use crate::{Result, Store};

/// One subscriber a bulk import created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkCreated {
    pub at: At,
    pub id: String,
    pub channel: Channel,
}

/// What a bulk import wrote and what it left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkImported {
    /// In file order.
    pub created: Vec<BulkCreated>,
    /// In file order.
    pub skipped: Vec<Skipped>,
    /// Confirmation messages enqueued.
    pub confirmations: u64,
}

/// Above this many rows already there, they are found by reading the page's subscribers
/// once rather than by lookups.
const WHOLE_PAGE_FROM: usize = 2_000;

#[derive(sqlx::FromRow)]
struct Existing {
    id: String,
    channel: String,
    target: String,
    incident: String,
    state: String,
    added_by_team: bool,
}

impl Store {
    /// Imports a page's subscriber list in one transaction, or refuses it whole (`Ok(Err)`)
    /// when a row is bad (including a component or incident that is not on the page). New
    /// subscribers are active when the plan says confirmed, else unconfirmed with their
    /// confirmation enqueued here. Existing addresses are skipped (and, unless unsubscribed,
    /// marked as vouched for by the team, as adding one by hand does).
    pub async fn bulk_import_subscribers(
        &self,
        page_id: &PageId,
        mut plan: Plan,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<BulkImported, Rejected>> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        // Not on the public page: only the page row (its version) changes there.
        w.touch(Touched::Nothing);
        let components: Vec<One<String>> =
            w.tx.fetch_all(
                "SELECT id AS v FROM components WHERE page_id = $1 AND is_group = FALSE",
                args![page_id],
            )
            .await?;
        let components: HashSet<String> = components.into_iter().map(|r| r.v).collect();
        let mut incidents = HashSet::new();
        for chunk in plan.incident_ids().chunks(ROWS) {
            let mut sql = SqlBuilder::new("SELECT id AS v FROM incidents WHERE page_id = ");
            sql.bind(page_id).push(" AND id IN ");
            sql.bind_list(chunk.iter().copied());
            let (text, a) = sql.finish();
            let rows: Vec<One<String>> = w.tx.fetch_all(text, a).await?;
            incidents.extend(rows.into_iter().map(|r| r.v));
        }
        plan.check_scope(&components, &incidents);
        if let Some(refused) = plan.rejected() {
            // Dropped without a commit: rolled back, nothing written.
            return Ok(Err(refused));
        }
        let now = w.now;
        let subs: Vec<ImportedSubscriber> = plan
            .rows
            .iter()
            .map(|p| ImportedSubscriber {
                id: herald_domain::id::generate(),
                channel: p.new.channel,
                email: p.new.email.clone(),
                phone_number: p.new.phone_number.clone(),
                phone_country: p.new.phone_country.clone(),
                endpoint: p.new.endpoint.clone(),
                incident_id: p.new.incident_id.clone(),
                component_ids: p.new.component_ids.clone(),
                state: if p.new.confirmed {
                    SubscriberState::Active
                } else {
                    SubscriberState::Unconfirmed
                },
                created_at: now,
                quarantined_at: None,
                secret: p.secret.clone(),
            })
            .collect();
        let written = insert_subscribers(&mut w, page_id.as_str(), &subs, now).await?;
        let mut out = BulkImported::default();
        let mut jobs = Vec::new();
        let mut taken: Vec<(At, &ImportedSubscriber)> = Vec::new();
        for (p, s) in plan.rows.iter().zip(&subs) {
            if !written.contains(&s.id) {
                taken.push((p.at, s));
                continue;
            }
            if s.state == SubscriberState::Unconfirmed {
                let spec = match s.channel {
                    Channel::Email => DELIVER_EMAIL,
                    Channel::Sms => DELIVER_SMS,
                    _ => continue,
                };
                jobs.push(spec.job(
                    Some(page_id),
                    &DeliverJob::Confirmation {
                        confirm_subscriber_id: s.id.clone().into(),
                    },
                ));
            }
            out.created.push(BulkCreated {
                at: p.at,
                id: s.id.clone(),
                channel: s.channel,
            });
        }
        out.skipped = plan.skipped;
        out.skipped
            .extend(skip_existing(&mut w, page_id.as_str(), &taken).await?);
        out.skipped.sort_by_key(|s| s.at);
        if !jobs.is_empty() {
            w.enqueue(&jobs).await?;
        }
        out.confirmations = jobs.len() as u64;
        w.audit(
            Some(page_id),
            "subscribers.import",
            "page",
            page_id.as_str(),
            json!({
                "created": out.created.len(),
                "skipped": out.skipped.len(),
                "confirmations": out.confirmations,
            }),
        )
        .await?;
        w.commit().await?;
        Ok(Ok(out))
    }
}

/// The rows whose address the page has already: why each was skipped. The team vouches
/// for those still subscribed (`added_by_team`), as when one is added by hand.
async fn skip_existing(
    w: &mut Write<'_>,
    page_id: &str,
    taken: &[(At, &ImportedSubscriber)],
) -> Result<Vec<Skipped>> {
    let mut found: HashMap<(String, String, String), Existing> = HashMap::new();
    let cols = "SELECT id, channel, target, COALESCE(incident_id, '') AS incident, state, added_by_team \
                FROM subscribers WHERE page_id = ";
    if taken.len() > WHOLE_PAGE_FROM {
        // Many rows are there already (a list imported again): one pass over the page's
        // subscribers costs less than thousands of lookups, whatever the planner knows of a
        // table that has just grown.
        let mut sql = SqlBuilder::new(cols);
        sql.bind(page_id);
        let (text, a) = sql.finish();
        let rows: Vec<Existing> = w.tx.fetch_all(text, a).await?;
        for r in rows {
            found.insert((r.channel.clone(), r.target.clone(), r.incident.clone()), r);
        }
    } else {
        // By channel, so each lookup walks the `subscribers_target` index (page, channel,
        // target).
        let mut by_channel: HashMap<Channel, Vec<String>> = HashMap::new();
        for (_, s) in taken {
            by_channel
                .entry(s.channel)
                .or_default()
                .push(super::subscribers::target(s));
        }
        for (channel, targets) in &by_channel {
            for chunk in targets.chunks(ROWS) {
                let mut sql = SqlBuilder::new(cols);
                sql.bind(page_id)
                    .push(" AND channel = ")
                    .bind(channel.as_str());
                sql.push(" AND target IN ")
                    .bind_list(chunk.iter().map(String::as_str));
                let (text, a) = sql.finish();
                let rows: Vec<Existing> = w.tx.fetch_all(text, a).await?;
                for r in rows {
                    found.insert((r.channel.clone(), r.target.clone(), r.incident.clone()), r);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(taken.len());
    let mut vouched = Vec::new();
    for (at, s) in taken {
        let key = (
            s.channel.as_str().to_owned(),
            super::subscribers::target(s),
            s.incident_id.clone().unwrap_or_default(),
        );
        let reason = match found.get(&key) {
            Some(e) if e.state == "unsubscribed" => SkipReason::Unsubscribed,
            Some(e) => {
                if !e.added_by_team {
                    vouched.push(e.id.as_str());
                }
                SkipReason::AlreadySubscribed
            }
            None => SkipReason::AlreadySubscribed,
        };
        out.push(Skipped { at: *at, reason });
    }
    for chunk in vouched.chunks(ROWS) {
        let mut sql = SqlBuilder::new("UPDATE subscribers SET added_by_team = TRUE WHERE id IN ");
        sql.bind_list(chunk.iter().copied());
        let (text, a) = sql.finish();
        w.tx.execute(text, a).await?;
    }
    Ok(out)
}
