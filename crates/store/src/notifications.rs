//! Notification events, their fan-out, the delivery log, shared rate limits and instance
//! secrets.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::clock::from_ms;
use herald_domain::id::{ComponentId, IncidentId, PageId, SubscriberId};
use herald_domain::notification::{DeliveryState, EventKind};
use herald_domain::subscriber::Channel;
use serde_json::Value;

use crate::columns::cols;
use crate::db::{Backend, One, SqlBuilder, args};
use crate::kinds::{FanoutJob, NOTIFY_FANOUT};
use crate::write::Write;
use crate::{Result, Store, StoreError};

/// A notification event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub page_id: PageId,
    pub kind: EventKind,
    pub incident_id: Option<IncidentId>,
    pub update_id: Option<String>,
    pub component_id: Option<ComponentId>,
    /// Facts recorded with the event (a component's `old_status` and `new_status`).
    pub data: Value,
    /// The rendered payload, once the fan-out has rendered it.
    pub payload: Option<Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    page_id: String,
    kind: String,
    incident_id: Option<String>,
    update_id: Option<String>,
    component_id: Option<String>,
    data: Option<String>,
    payload: Option<String>,
    created_at: i64,
}

impl EventRow {
    fn into_event(self) -> Result<Event> {
        Ok(Event {
            kind: self.kind.parse().map_err(|()| {
                StoreError::Internal(format!("event {} has kind {:?}", self.id, self.kind))
            })?,
            payload: self
                .payload
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok()),
            data: self
                .data
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or(Value::Null),
            created_at: from_ms(self.created_at),
            id: self.id,
            page_id: self.page_id.into(),
            incident_id: self.incident_id.map(IncidentId::from),
            update_id: self.update_id,
            component_id: self.component_id.map(ComponentId::from),
        })
    }
}

/// What a write tells subscribers about.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent<'a> {
    pub kind: EventKind,
    pub page_id: &'a PageId,
    pub incident_id: Option<&'a str>,
    pub update_id: Option<&'a str>,
    pub component_id: Option<&'a str>,
    pub data: Option<Value>,
}

/// Records an event and enqueues its fan-out, inside the write that causes it: the event,
/// and so every notification it leads to, exists if and only if the change commits.
pub(crate) async fn record_event(w: &mut Write<'_>, e: NewEvent<'_>) -> Result<String> {
    let id = herald_domain::id::generate();
    w.tx.execute(
        "INSERT INTO notification_events (id, page_id, kind, incident_id, update_id, component_id, data, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)",
        args![&id, e.page_id, e.kind.as_str(), e.incident_id, e.update_id, e.component_id, e.data.map(|d| d.to_string()), w.now],
    )
    .await?;
    let mut job = NOTIFY_FANOUT.job(
        Some(e.page_id),
        &FanoutJob {
            event_id: id.clone(),
        },
    );
    job.unique_key = Some(format!("fanout:{id}"));
    w.enqueue(&[job]).await?;
    Ok(id)
}

/// One (subscriber, channel) a fan-out batch found.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    pub subscriber_id: SubscriberId,
    pub channel: Channel,
}

/// A delivery's outcome, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord<'a> {
    pub id: &'a str,
    pub event_id: &'a str,
    pub subscriber_id: &'a SubscriberId,
    pub page_id: &'a PageId,
    pub channel: Channel,
    pub state: DeliveryState,
    pub attempt: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// A row of the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub subscriber_id: SubscriberId,
    pub page_id: String,
    pub channel: Channel,
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    event_id: String,
    subscriber_id: String,
    page_id: String,
    channel: String,
    state: String,
    attempts: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    delivered_at: Option<i64>,
}

impl DeliveryRow {
    /// The row as the log's type: a channel or state this build does not know is an error
    /// (a corrupt row, or a newer release's value), never read as some other value.
    fn into_delivery(self) -> Result<Delivery> {
        let bad = |what: &str, v: &str| {
            StoreError::Internal(format!("delivery {}: unknown {what} {v:?}", self.id))
        };
        let channel = self
            .channel
            .parse()
            .map_err(|()| bad("channel", &self.channel))?;
        let state = self.state.parse().map_err(|()| bad("state", &self.state))?;
        Ok(Delivery {
            id: self.id,
            event_id: self.event_id,
            subscriber_id: self.subscriber_id.into(),
            page_id: self.page_id,
            channel,
            state,
            attempts: self.attempts,
            last_status: self.last_status,
            last_error: self.last_error,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            delivered_at: self.delivered_at.map(from_ms),
        })
    }
}

impl Store {
    /// One event.
    pub async fn get_event(&self, id: &str) -> Result<Option<Event>> {
        let row: Option<EventRow> = self
            .db
            .read_opt(
                concat!(
                    "SELECT ",
                    cols!(notification_events),
                    " FROM notification_events WHERE id = $1"
                ),
                args![id],
            )
            .await?;
        row.map(EventRow::into_event).transpose()
    }

    /// Stores the event's rendered payload unless one is stored already; returns the payload
    /// every delivery must use (the first one rendered wins, so retries never differ).
    pub async fn freeze_event_payload(&self, id: &str, payload: &Value) -> Result<Value> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "UPDATE notification_events SET payload = $2 WHERE id = $1 AND payload IS NULL",
            args![id, payload.to_string()],
        )
        .await?;
        let stored: One<Option<String>> = tx
            .fetch_one(
                "SELECT payload AS v FROM notification_events WHERE id = $1",
                args![id],
            )
            .await?;
        tx.commit().await?;
        stored
            .v
            .and_then(|p| serde_json::from_str(&p).ok())
            .ok_or_else(|| StoreError::Internal(format!("event {id} has no payload")))
    }

    /// The next batch of subscribers an event concerns, after `after` (ordered by id):
    /// active, of the page, on a channel the event reaches, whose scope (whole page, some of
    /// `components`, or this incident) includes it; with `team_only` (a private page), only
    /// those the page's team added.
    #[expect(
        clippy::too_many_arguments,
        reason = "one filter per argument of one query"
    )]
    pub async fn event_recipients(
        &self,
        page_id: &PageId,
        kind: EventKind,
        incident_id: Option<&IncidentId>,
        components: &[ComponentId],
        team_only: bool,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Recipient>> {
        #[derive(sqlx::FromRow)]
        struct RecipientRow {
            id: String,
            channel: String,
        }
        let channels: Vec<&str> = kind.channels().iter().map(|c| c.as_str()).collect();
        let mut sql =
            SqlBuilder::new("SELECT s.id, s.channel FROM subscribers s WHERE s.page_id = ");
        sql.bind(page_id)
            .push(" AND s.state = 'active' AND s.id > ")
            .bind(after);
        sql.push(" AND s.channel IN ").bind_list(channels);
        if team_only {
            sql.push(" AND s.added_by_team = TRUE");
        }
        match incident_id {
            Some(i) => sql
                .push(" AND (s.incident_id IS NULL OR s.incident_id = ")
                .bind(i)
                .push(")"),
            None => sql.push(" AND s.incident_id IS NULL"),
        };
        sql.push(" AND (NOT EXISTS (SELECT 1 FROM subscriber_components sc WHERE sc.subscriber_id = s.id)");
        if !components.is_empty() {
            sql.push(" OR EXISTS (SELECT 1 FROM subscriber_components sc WHERE sc.subscriber_id = s.id AND sc.component_id IN ")
                .bind_list(components)
                .push(")");
        }
        sql.push(") ORDER BY s.id LIMIT ")
            .bind(limit.clamp(1, 10_000));
        let (text, a) = sql.finish();
        let rows: Vec<RecipientRow> = self.db.read(text, a).await?;
        rows.into_iter()
            .map(|r| {
                Ok(Recipient {
                    channel: r.channel.parse().map_err(|()| {
                        StoreError::Internal(format!("subscriber {} channel {:?}", r.id, r.channel))
                    })?,
                    subscriber_id: r.id.into(),
                })
            })
            .collect()
    }

    /// Records an attempt's outcome in the delivery log (one row per delivery).
    ///
    /// The write does not wait for the disk: the delivery job's acknowledgement, a durable
    /// commit, comes after it and makes it durable (both databases write their log in
    /// order). Power lost in between loses both, and the job runs again, as at-least-once
    /// delivery allows. On SQLite this turns a flush per delivery into one per acknowledged
    /// batch.
    pub async fn record_delivery(&self, d: &DeliveryRecord<'_>, now: DateTime<Utc>) -> Result<()> {
        let delivered = (d.state == DeliveryState::Delivered).then_some(now);
        let _: Vec<One<i64>> = self
            .db
            .write_relaxed(
            "INSERT INTO deliveries (id, event_id, subscriber_id, page_id, channel, state, attempts, last_status, last_error, \
               created_at, updated_at, delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts, \
               last_status = excluded.last_status, last_error = excluded.last_error, updated_at = excluded.updated_at, \
               delivered_at = COALESCE(deliveries.delivered_at, excluded.delivered_at)",
            args![
                d.id,
                d.event_id,
                d.subscriber_id,
                d.page_id,
                d.channel.as_str(),
                d.state.as_str(),
                d.attempt,
                d.status.map(i64::from),
                d.error.as_deref(),
                now,
                delivered
            ],
        )
        .await?;
        Ok(())
    }

    /// The newest deliveries of a page, or of one of its subscribers.
    pub async fn list_deliveries(
        &self,
        page_id: &PageId,
        subscriber_id: Option<&SubscriberId>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let limit = limit.clamp(1, 10_000);
        let rows: Vec<DeliveryRow> = match subscriber_id {
            None => self
                .db
                .read(
                    concat!(
                        "SELECT ",
                        cols!(deliveries),
                        " FROM deliveries WHERE page_id = $1 ORDER BY updated_at DESC, id LIMIT $2"
                    ),
                    args![page_id, limit],
                )
                .await?,
            Some(s) => {
                self.db
                    .read(
                        concat!(
                            "SELECT ",
                            cols!(deliveries),
                            " FROM deliveries WHERE subscriber_id = $1 AND page_id = $2 \
                         ORDER BY updated_at DESC, id LIMIT $3"
                        ),
                        args![s, page_id, limit],
                    )
                    .await?
            }
        };
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }

    /// Counts one use of `bucket` if fewer than `limit` happened within `window`; returns
    /// whether it was allowed. Shared by every node (subscribe-form and sign-in limits).
    ///
    /// Atomic: uses of one bucket are serialised, so concurrent requests never take more
    /// than `limit` between them. SQLite's single writer already runs one transaction at a
    /// time; on PostgreSQL, where two READ COMMITTED transactions would both count the same
    /// rows and both insert, the transaction first takes an advisory lock on the bucket
    /// (released at commit or rollback; keyed by schema, as the reconciler locks are).
    pub async fn take_rate(
        &self,
        bucket: &str,
        limit: i64,
        window: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        if self.db.backend() == Backend::Postgres {
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':rate:' || $1, 0))",
                args![bucket],
            )
            .await?;
        }
        let used: One<i64> = tx
            .fetch_one(
                "SELECT CAST(COUNT(*) AS BIGINT) AS v FROM rate_events WHERE bucket = $1 AND at > $2",
                args![bucket, now - window],
            )
            .await?;
        if used.v >= limit {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO rate_events (bucket, at) VALUES ($1, $2)",
            args![bucket, now],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Forgets rate-limit uses older than `before`.
    pub async fn prune_rates(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let n = tx
            .execute("DELETE FROM rate_events WHERE at < $1", args![before])
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The instance secret `name`, created (randomly, by `make`) on first use and the same
    /// for every node afterwards.
    pub async fn instance_secret(
        &self,
        name: &str,
        make: impl FnOnce() -> String,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO instance_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            args![name, make(), now],
        )
        .await?;
        let v: One<String> = tx
            .fetch_one(
                "SELECT value AS v FROM instance_secrets WHERE name = $1",
                args![name],
            )
            .await?;
        tx.commit().await?;
        Ok(v.v)
    }
}
