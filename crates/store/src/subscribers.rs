//! Subscribers: create (idempotent per target), confirm, unsubscribe, quarantine, reactivate,
//! list, count, rotate webhook secrets, purge.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::Invalid;
use herald_domain::actor::Actor;
use herald_domain::clock::from_ms;
use herald_domain::id::{ComponentId, IncidentId, PageId, SubscriberId};
use herald_domain::subscriber::{Channel, NewSubscriber, Subscriber, SubscriberState};
use serde_json::json;
use std::collections::HashMap;

use crate::columns::cols;
use crate::db::{SqlBuilder, args};
use crate::kinds::DeliverJob;
use crate::write::{Touched, Write};
use crate::{Result, Store, StoreError};

/// How long an unconfirmed subscriber is kept.
pub const UNCONFIRMED_TTL: TimeDelta = TimeDelta::days(7);
/// How long a quarantined subscriber is kept before it is purged (Statuspage: 90 days).
pub const QUARANTINE_TTL: TimeDelta = TimeDelta::days(90);

#[derive(sqlx::FromRow)]
struct SubscriberRow {
    id: String,
    page_id: String,
    channel: String,
    email: Option<String>,
    phone_number: Option<String>,
    phone_country: Option<String>,
    endpoint: Option<String>,
    incident_id: Option<String>,
    state: String,
    failures: i64,
    created_at: i64,
    confirmed_at: Option<i64>,
    quarantined_at: Option<i64>,
    unsubscribed_at: Option<i64>,
    purge_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    subscriber_id: String,
    component_id: String,
}

fn corrupt(id: &str, what: &str) -> StoreError {
    StoreError::Internal(format!("subscriber {id} has an unknown {what}"))
}

impl SubscriberRow {
    fn into_subscriber(self, component_ids: Vec<String>) -> Result<Subscriber> {
        Ok(Subscriber {
            channel: self
                .channel
                .parse()
                .map_err(|()| corrupt(&self.id, "channel"))?,
            state: self
                .state
                .parse()
                .map_err(|()| corrupt(&self.id, "state"))?,
            created_at: from_ms(self.created_at),
            confirmed_at: self.confirmed_at.map(from_ms),
            quarantined_at: self.quarantined_at.map(from_ms),
            unsubscribed_at: self.unsubscribed_at.map(from_ms),
            purge_at: self.purge_at.map(from_ms),
            id: self.id.into(),
            page_id: PageId::from(self.page_id),
            email: self.email,
            phone_number: self.phone_number,
            phone_country: self.phone_country,
            endpoint: self.endpoint,
            incident_id: self.incident_id.map(Into::into),
            component_ids: component_ids.into_iter().map(Into::into).collect(),
            failures: self.failures,
        })
    }
}

/// Which subscribers to list.
#[derive(Debug, Clone, Default)]
pub struct SubscriberQuery {
    pub channel: Option<Channel>,
    /// `None`: every state but unsubscribed.
    pub state: Option<SubscriberState>,
    /// Text in the email, phone number or endpoint.
    pub q: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// A webhook subscriber's signing secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSecrets {
    pub current: String,
    /// The previous secret, still signed with until `until`.
    pub previous: Option<(String, DateTime<Utc>)>,
}

fn target_of(s: &NewSubscriber) -> String {
    s.email
        .clone()
        .filter(|_| s.channel == Channel::Email)
        .or_else(|| s.phone_number.clone())
        .or_else(|| s.endpoint.clone())
        .unwrap_or_default()
}

/// Enqueues the confirmation message of a subscriber that is waiting for one, in the write's
/// transaction (so a subscription acknowledged to its maker always gets its message).
async fn enqueue_confirmation(
    w: &mut Write<'_>,
    page_id: &PageId,
    id: &SubscriberId,
) -> Result<()> {
    let row: Option<crate::db::One<String>> =
        w.tx.fetch_optional(
            "SELECT channel AS v FROM subscribers WHERE id = $1 AND state = 'unconfirmed'",
            args![id],
        )
        .await?;
    let channel = match row {
        Some(r) => Some(r.v.parse::<Channel>().map_err(|()| {
            StoreError::Internal(format!("subscriber {id}: unknown channel {:?}", r.v))
        })?),
        None => None,
    };
    let spec = match channel {
        Some(Channel::Email) => crate::kinds::DELIVER_EMAIL,
        Some(Channel::Sms) => crate::kinds::DELIVER_SMS,
        _ => return Ok(()),
    };
    let job = DeliverJob::Confirmation {
        confirm_subscriber_id: id.clone(),
    };
    w.enqueue(&[spec.job(Some(page_id), &job)]).await?;
    Ok(())
}

impl Store {
    /// Sends (again) the confirmation message of unconfirmed subscribers; returns those it was
    /// sent to.
    pub async fn resend_confirmations(
        &self,
        page_id: &PageId,
        ids: &[SubscriberId],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<SubscriberId>> {
        if ids.is_empty() {
            return Ok(Vec::new()); // nothing to send: not even the page's version moves
        }
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        // Not on the public page: only the page row (its version) changes there.
        w.touch(Touched::Nothing);
        let mut sent = Vec::new();
        for id in ids {
            let row: Option<crate::db::One<String>> = w
                .tx
                .fetch_optional(
                    "SELECT id AS v FROM subscribers WHERE id = $1 AND page_id = $2 AND state = 'unconfirmed'",
                    args![id, page_id],
                )
                .await?;
            if row.is_some() {
                enqueue_confirmation(&mut w, page_id, id).await?;
                sent.push(id.clone());
            }
        }
        w.commit().await?;
        Ok(sent)
    }

    async fn attach_components(&self, rows: Vec<SubscriberRow>) -> Result<Vec<Subscriber>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut by: HashMap<String, Vec<String>> = HashMap::new();
        // In chunks: an export lists up to 100,000 subscribers, more parameters than SQLite
        // (32,766) takes in one statement.
        for chunk in rows.chunks(10_000) {
            let mut sql = SqlBuilder::new(
                "SELECT subscriber_id, component_id FROM subscriber_components WHERE subscriber_id IN ",
            );
            sql.bind_list(chunk.iter().map(|r| r.id.as_str()))
                .push(" ORDER BY component_id");
            let (text, a) = sql.finish();
            let links: Vec<LinkRow> = self.db.read(text, a).await?;
            for l in links {
                by.entry(l.subscriber_id).or_default().push(l.component_id);
            }
        }
        rows.into_iter()
            .map(|r| {
                let c = by.remove(&r.id).unwrap_or_default();
                r.into_subscriber(c)
            })
            .collect()
    }

    /// Subscribes. Subscribing a target that already has a subscriber returns that one (with
    /// `created: false`) and changes nothing but, for an unsubscribed one, starting over; so
    /// a form answers alike whatever the address's state. `secret` is the signing secret of
    /// a new webhook subscriber. A subscriber added (or re-added) by the page's team
    /// ([`Actor::is_team`]) is marked so: private pages notify only those.
    pub async fn create_subscriber(
        &self,
        page_id: &PageId,
        new: &NewSubscriber,
        secret: Option<&str>,
        send_confirmation: bool,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(Subscriber, bool)> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        // Not on the public page: only the page row (its version) changes there.
        w.touch(Touched::Nothing);
        for cid in &new.component_ids {
            let n = w
                .tx
                .fetch_optional::<crate::db::One<String>>(
                    "SELECT id AS v FROM components WHERE id = $1 AND page_id = $2 AND is_group = FALSE",
                    args![cid, page_id],
                )
                .await?;
            if n.is_none() {
                return Err(Invalid::new(
                    "subscriber.component_ids",
                    format!("no component {cid:?} on this page"),
                )
                .into());
            }
        }
        if let Some(i) = &new.incident_id {
            let n =
                w.tx.fetch_optional::<crate::db::One<String>>(
                    "SELECT id AS v FROM incidents WHERE id = $1 AND page_id = $2",
                    args![i, page_id],
                )
                .await?;
            if n.is_none() {
                return Err(Invalid::new(
                    "subscriber.incident_id",
                    format!("no incident {i:?} on this page"),
                )
                .into());
            }
        }
        let target = target_of(new);
        let existing: Option<SubscriberRow> = w
            .tx
            .fetch_optional(
                concat!("SELECT ", cols!(subscribers), " FROM subscribers WHERE page_id = $1 AND channel = $2 AND target = $3 AND COALESCE(incident_id, '') = $4"),
                args![page_id, new.channel.as_str(), &target, new.incident_id.as_deref().unwrap_or("")],
            )
            .await?;
        let team = actor.is_team();
        let (id, created) = match existing {
            Some(row) if row.state != "unsubscribed" => {
                if team {
                    // The team vouches for a subscriber that came through the public form.
                    w.tx.execute(
                        "UPDATE subscribers SET added_by_team = TRUE WHERE id = $1",
                        args![&row.id],
                    )
                    .await?;
                }
                (row.id, false)
            }
            Some(row) => {
                let state = if new.confirmed {
                    "active"
                } else {
                    "unconfirmed"
                };
                w.tx.execute(
                    "UPDATE subscribers SET state = $2, unsubscribed_at = NULL, created_at = $3, confirmed_at = $4, \
                       purge_at = $5, failures = 0, added_by_team = $6 WHERE id = $1",
                    args![&row.id, state, now, new.confirmed.then_some(now), (!new.confirmed).then(|| now + UNCONFIRMED_TTL), team],
                )
                .await?;
                (row.id, true)
            }
            None => {
                let id = herald_domain::id::generate();
                let state = if new.confirmed {
                    "active"
                } else {
                    "unconfirmed"
                };
                w.tx.execute(
                    "INSERT INTO subscribers (id, page_id, channel, email, phone_number, phone_country, endpoint, incident_id, state, \
                       secret, created_at, confirmed_at, purge_at, target, added_by_team) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    args![
                        &id,
                        page_id,
                        new.channel.as_str(),
                        new.email.as_deref(),
                        new.phone_number.as_deref(),
                        new.phone_country.as_deref(),
                        new.endpoint.as_deref(),
                        new.incident_id.as_deref(),
                        state,
                        secret,
                        now,
                        new.confirmed.then_some(now),
                        (!new.confirmed).then(|| now + UNCONFIRMED_TTL),
                        &target,
                        team
                    ],
                )
                .await?;
                (id, true)
            }
        };
        if created {
            w.tx.execute(
                "DELETE FROM subscriber_components WHERE subscriber_id = $1",
                args![&id],
            )
            .await?;
            for cid in &new.component_ids {
                w.tx.execute(
                    "INSERT INTO subscriber_components (subscriber_id, component_id) VALUES ($1, $2)",
                    args![&id, cid],
                )
                .await?;
            }
            w.audit(
                Some(page_id),
                "subscriber.create",
                "subscriber",
                &id,
                json!({"channel": [null, new.channel.as_str()]}),
            )
            .await?;
        }
        let id = SubscriberId::from(id);
        if send_confirmation {
            enqueue_confirmation(&mut w, page_id, &id).await?;
        }
        w.commit().await?;
        let s = self.subscriber(&id).await?.ok_or(StoreError::NotFound)?;
        Ok((s, created))
    }

    /// A subscriber by id, whatever its page (for signed links).
    pub async fn subscriber(&self, id: &SubscriberId) -> Result<Option<Subscriber>> {
        let rows: Vec<SubscriberRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(subscribers),
                    " FROM subscribers WHERE id = $1"
                ),
                args![id],
            )
            .await?;
        Ok(self.attach_components(rows).await?.pop())
    }

    /// A subscriber of a page.
    pub async fn get_subscriber(
        &self,
        page_id: &PageId,
        id: &SubscriberId,
    ) -> Result<Option<Subscriber>> {
        Ok(self.subscriber(id).await?.filter(|s| s.page_id == *page_id))
    }

    /// Subscribers of a page, oldest first.
    pub async fn list_subscribers(
        &self,
        page_id: &PageId,
        q: &SubscriberQuery,
    ) -> Result<Vec<Subscriber>> {
        let mut sql = SqlBuilder::new(concat!(
            "SELECT ",
            cols!(subscribers),
            " FROM subscribers WHERE page_id = "
        ));
        sql.bind(page_id);
        match q.state {
            Some(s) => sql.push(" AND state = ").bind(s.as_str()),
            None => sql.push(" AND state <> 'unsubscribed'"),
        };
        if let Some(c) = q.channel {
            sql.push(" AND channel = ").bind(c.as_str());
        }
        if let Some(text) = q.q.as_deref().filter(|t| !t.is_empty()) {
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            sql.push(" AND LOWER(target) LIKE ")
                .bind(format!("%{escaped}%"))
                .push(" ESCAPE '\\'");
        }
        sql.push(" ORDER BY created_at, id LIMIT ")
            .bind(q.limit.clamp(1, 100_000))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let (text, a) = sql.finish();
        let rows: Vec<SubscriberRow> = self.db.read(text, a).await?;
        self.attach_components(rows).await
    }

    /// The subscribers of one incident (every state but unsubscribed), oldest first.
    pub async fn incident_subscribers(
        &self,
        page_id: &PageId,
        incident_id: &IncidentId,
    ) -> Result<Vec<Subscriber>> {
        let rows: Vec<SubscriberRow> = self
            .db
            .read(
                concat!(
                    "SELECT ",
                    cols!(subscribers),
                    " FROM subscribers WHERE page_id = $1 AND incident_id = $2 \
                 AND state <> 'unsubscribed' ORDER BY created_at, id"
                ),
                args![page_id, incident_id],
            )
            .await?;
        self.attach_components(rows).await
    }

    /// (channel, state, count) for a page.
    pub async fn count_subscribers(&self, page_id: &PageId) -> Result<Vec<(String, String, i64)>> {
        #[derive(sqlx::FromRow)]
        struct C {
            channel: String,
            state: String,
            n: i64,
        }
        let rows: Vec<C> = self
            .db
            .read(
                "SELECT channel, state, CAST(COUNT(*) AS BIGINT) AS n FROM subscribers WHERE page_id = $1 GROUP BY channel, state",
                args![page_id],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|c| (c.channel, c.state, c.n))
            .collect())
    }

    async fn set_state(
        &self,
        page_id: &PageId,
        ids: &[SubscriberId],
        from: &[&str],
        to: SubscriberState,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<SubscriberId>> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        // Not on the public page: only the page row (its version) changes there.
        w.touch(Touched::Nothing);
        let mut changed = Vec::new();
        for id in ids {
            let mut sql = SqlBuilder::new("UPDATE subscribers SET state = ");
            sql.bind(to.as_str());
            match to {
                SubscriberState::Active => sql.push(", confirmed_at = COALESCE(confirmed_at, ").bind(now).push("), quarantined_at = NULL, purge_at = NULL, failures = 0, paused_until = NULL"),
                SubscriberState::Unsubscribed => sql.push(", unsubscribed_at = ").bind(now).push(", purge_at = NULL"),
                SubscriberState::Quarantined => sql.push(", quarantined_at = ").bind(now).push(", purge_at = ").bind(now + QUARANTINE_TTL),
                SubscriberState::Unconfirmed => &mut sql,
            };
            sql.push(" WHERE id = ")
                .bind(id.as_str())
                .push(" AND page_id = ")
                .bind(page_id)
                .push(" AND state IN ")
                .bind_list(from.iter().copied());
            let (text, a) = sql.finish();
            if w.tx.execute(text, a).await? == 1 {
                changed.push(id.clone());
            }
        }
        for id in &changed {
            w.audit(
                Some(page_id),
                &format!("subscriber.{}", to.as_str()),
                "subscriber",
                id.as_str(),
                json!({"state": [null, to.as_str()]}),
            )
            .await?;
        }
        w.commit().await?;
        Ok(changed)
    }

    /// Confirms a subscriber (the link in the confirmation message was followed). True when
    /// it was waiting for confirmation.
    pub async fn confirm_subscriber(
        &self,
        page_id: &PageId,
        id: &SubscriberId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let ids = [id.clone()];
        Ok(!self
            .set_state(
                page_id,
                &ids,
                &["unconfirmed"],
                SubscriberState::Active,
                actor,
                now,
            )
            .await?
            .is_empty())
    }

    /// Unsubscribes; returns the ids that were subscribed.
    pub async fn unsubscribe(
        &self,
        page_id: &PageId,
        ids: &[SubscriberId],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<SubscriberId>> {
        self.set_state(
            page_id,
            ids,
            &["unconfirmed", "active", "quarantined"],
            SubscriberState::Unsubscribed,
            actor,
            now,
        )
        .await
    }

    /// Quarantines (repeated delivery failures); returns whether it was active.
    pub async fn quarantine_subscriber(
        &self,
        page_id: &PageId,
        id: &SubscriberId,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let ids = [id.clone()];
        Ok(!self
            .set_state(
                page_id,
                &ids,
                &["active"],
                SubscriberState::Quarantined,
                actor,
                now,
            )
            .await?
            .is_empty())
    }

    /// Reactivates quarantined subscribers; returns those reactivated.
    pub async fn reactivate_subscribers(
        &self,
        page_id: &PageId,
        ids: &[SubscriberId],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<SubscriberId>> {
        self.set_state(
            page_id,
            ids,
            &["quarantined"],
            SubscriberState::Active,
            actor,
            now,
        )
        .await
    }

    /// Replaces a subscriber's components (empty: the whole page).
    pub async fn set_subscriber_components(
        &self,
        page_id: &PageId,
        id: &SubscriberId,
        component_ids: &[ComponentId],
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Subscriber> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        // Not on the public page: only the page row (its version) changes there.
        w.touch(Touched::Nothing);
        let found =
            w.tx.fetch_optional::<crate::db::One<String>>(
                "SELECT id AS v FROM subscribers WHERE id = $1 AND page_id = $2",
                args![id, page_id],
            )
            .await?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        w.tx.execute(
            "DELETE FROM subscriber_components WHERE subscriber_id = $1",
            args![id],
        )
        .await?;
        for cid in component_ids {
            let n = w
                .tx
                .execute(
                    "INSERT INTO subscriber_components (subscriber_id, component_id) \
                     SELECT $1, id FROM components WHERE id = $2 AND page_id = $3 AND is_group = FALSE",
                    args![id, cid, page_id],
                )
                .await?;
            if n == 0 {
                return Err(Invalid::new(
                    "component_ids",
                    format!("no component {cid:?} on this page"),
                )
                .into());
            }
        }
        w.audit(
            Some(page_id),
            "subscriber.components",
            "subscriber",
            id.as_str(),
            json!({"components": [null, component_ids]}),
        )
        .await?;
        w.commit().await?;
        self.get_subscriber(page_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// A webhook subscriber's secrets.
    pub async fn webhook_secrets(
        &self,
        id: &SubscriberId,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookSecrets>> {
        #[derive(sqlx::FromRow)]
        struct S {
            secret: Option<String>,
            previous_secret: Option<String>,
            previous_secret_until: Option<i64>,
        }
        let row: Option<S> = self
            .db
            .read_opt("SELECT secret, previous_secret, previous_secret_until FROM subscribers WHERE id = $1", args![id])
            .await?;
        Ok(row.and_then(|r| {
            let previous = match (r.previous_secret, r.previous_secret_until.map(from_ms)) {
                (Some(p), Some(until)) if until > now => Some((p, until)),
                _ => None,
            };
            r.secret.map(|current| WebhookSecrets { current, previous })
        }))
    }

    /// Rotates a webhook subscriber's secret: `new` signs from now on, the old one also signs
    /// until `overlap_until`.
    pub async fn rotate_webhook_secret(
        &self,
        page_id: &PageId,
        id: &SubscriberId,
        new: &str,
        overlap_until: DateTime<Utc>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut w = Write::on_page(self, page_id, actor, now).await?;
        // Not on the public page: only the page row (its version) changes there.
        w.touch(Touched::Nothing);
        let n = w
            .tx
            .execute(
                "UPDATE subscribers SET previous_secret = secret, previous_secret_until = $3, secret = $4 \
                 WHERE id = $1 AND page_id = $2 AND channel = 'webhook'",
                args![id, page_id, overlap_until, new],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        w.audit(
            Some(page_id),
            "subscriber.rotate_secret",
            "subscriber",
            id.as_str(),
            json!({"secret": [null, "rotated"]}),
        )
        .await?;
        w.commit().await
    }

    /// Counts a failed delivery to a subscriber; returns its consecutive failures.
    pub async fn subscriber_failed(
        &self,
        id: &SubscriberId,
        paused_until: Option<DateTime<Utc>>,
    ) -> Result<i64> {
        let mut tx = self.db.begin().await?;
        let n: crate::db::One<i64> = tx
            .fetch_one(
                "UPDATE subscribers SET failures = failures + 1, paused_until = COALESCE($2, paused_until) WHERE id = $1 RETURNING failures AS v",
                args![id, paused_until],
            )
            .await?;
        tx.commit().await?;
        Ok(n.v)
    }

    /// Pauses deliveries to a subscriber until `until` (the circuit breaker); a later pause
    /// already set is kept.
    pub async fn pause_subscriber(&self, id: &SubscriberId, until: DateTime<Utc>) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE subscribers SET paused_until = $2 WHERE id = $1 AND (paused_until IS NULL OR paused_until < $2)",
            args![id, until],
        )
        .await?;
        tx.commit().await
    }

    /// Resets a subscriber's failure count after a success.
    pub async fn subscriber_succeeded(&self, id: &SubscriberId) -> Result<()> {
        let mut tx = self.db.begin().await?;
        tx.execute("UPDATE subscribers SET failures = 0, paused_until = NULL WHERE id = $1 AND failures > 0", args![id]).await?;
        tx.commit().await
    }

    /// What a delivery checks right before it sends: the subscriber's state now and when the
    /// pause of its deliveries (the circuit breaker) ends, if it is paused (`None`: the
    /// subscriber is gone).
    pub async fn subscriber_gate(
        &self,
        id: &SubscriberId,
    ) -> Result<Option<(SubscriberState, Option<DateTime<Utc>>)>> {
        #[derive(sqlx::FromRow)]
        struct G {
            state: String,
            paused_until: Option<i64>,
        }
        let row: Option<G> = self
            .db
            .read_opt(
                "SELECT state, paused_until FROM subscribers WHERE id = $1",
                args![id],
            )
            .await?;
        row.map(|g| {
            let state = g
                .state
                .parse()
                .map_err(|()| corrupt(id.as_str(), "state"))?;
            Ok((state, g.paused_until.map(from_ms)))
        })
        .transpose()
    }

    /// Deletes unconfirmed subscribers past their week and quarantined ones past their 90
    /// days. Returns how many.
    pub async fn purge_subscribers(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute(
                "DELETE FROM subscribers WHERE state IN ('unconfirmed', 'quarantined') AND purge_at IS NOT NULL AND purge_at < $1",
                args![now],
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }
}
