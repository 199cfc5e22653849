//! The delivery log (per page and per subscriber) and replaying a dead delivery. A replay
//! puts the delivery's discarded job back in its queue with `replay_job`: same job, payload
//! and unique key, so the receiver sees the same `webhook-id` (idempotency key) again.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use herald_domain::id::{PageId, SubscriberId};
use herald_domain::user::Role;
use herald_store::{Delivery, JobState, StoreError};

use super::incidents::load_page;
use super::see_other;
use super::session::{Posted, Signed};
use super::views::Layout;
use crate::error::{PageError, PageResult};
use crate::state::AppState;

/// Log rows read per screen.
const LOG_LIMIT: i64 = 200;

pub(super) struct DeliveryLine {
    pub id: String,
    pub subscriber_id: String,
    pub channel: &'static str,
    pub state: &'static str,
    pub attempts: i64,
    pub status: String,
    pub error: String,
    pub at: String,
    pub replayable: bool,
}

#[derive(Template)]
#[template(path = "admin/deliveries.html")]
pub(super) struct DeliveriesView {
    pub l: Layout,
    pub page_id: String,
    pub page_name: String,
    /// Set on a subscriber's log.
    pub subscriber: String,
    pub subscriber_id: String,
    pub rows: Vec<DeliveryLine>,
    pub message: String,
    pub can_replay: bool,
    pub can_unsubscribe: bool,
}

fn lines(ds: &[Delivery], zone: herald_domain::time::PageZone) -> Vec<DeliveryLine> {
    ds.iter()
        .map(|d| DeliveryLine {
            id: d.id.clone(),
            subscriber_id: d.subscriber_id.to_string(),
            channel: d.channel.as_str(),
            state: d.state.as_str(),
            attempts: d.attempts,
            status: d.last_status.map(|s| s.to_string()).unwrap_or_default(),
            error: d.last_error.clone().unwrap_or_default(),
            at: zone.strftime(d.updated_at, "%Y-%m-%d %H:%M:%S %Z"),
            replayable: d.state.replayable(),
        })
        .collect()
}

async fn log(
    app: &AppState,
    who: &Signed,
    page_id: &str,
    subscriber_id: Option<&SubscriberId>,
    message: String,
) -> PageResult {
    let page = load_page(app, page_id).await?;
    let mut subscriber = String::new();
    if let Some(sid) = subscriber_id {
        match app.store().get_subscriber(&page.id, sid).await {
            Ok(Some(s)) => {
                subscriber = format!(
                    "{} {} ({})",
                    s.channel.as_str(),
                    s.endpoint
                        .or(s.phone_number)
                        .or(s.email)
                        .unwrap_or_default(),
                    s.state.as_str()
                );
            }
            Ok(None) => return Err(PageError::NotFound),
            Err(e) => return Err(e.into()),
        }
    }
    let ds = app
        .store()
        .list_deliveries(&page.id, subscriber_id, LOG_LIMIT)
        .await?;
    let title = if subscriber_id.is_some() {
        format!("Subscriber · {}", page.name)
    } else {
        format!("Deliveries · {}", page.name)
    };
    let refused = !message.is_empty();
    let v = DeliveriesView {
        l: Layout::new(who, title),
        page_id: page.id.to_string(),
        page_name: page.name.clone(),
        subscriber,
        subscriber_id: subscriber_id.map(ToString::to_string).unwrap_or_default(),
        rows: lines(&ds, page.zone),
        message,
        can_replay: who.can(Role::IncidentManager),
        can_unsubscribe: who.can(Role::Owner),
    };
    crate::error::form_page(refused, Html(v.render()?))
}

/// The page's newest deliveries (incident managers and owners).
pub(super) async fn page_log(
    State(app): State<AppState>,
    who: Signed,
    Path(page_id): Path<String>,
) -> PageResult {
    who.require(Role::IncidentManager)?;
    log(&app, &who, &page_id, None, String::new()).await
}

/// One subscriber and its deliveries (incident managers and owners).
pub(super) async fn subscriber_log(
    State(app): State<AppState>,
    who: Signed,
    Path((page_id, subscriber_id)): Path<(String, SubscriberId)>,
) -> PageResult {
    who.require(Role::IncidentManager)?;
    log(&app, &who, &page_id, Some(&subscriber_id), String::new()).await
}

/// Replays a dead delivery: its discarded job goes back to its queue (incident managers and
/// owners). A delivery still being retried has no discarded job; the log says so.
pub(super) async fn replay(
    State(app): State<AppState>,
    Path((page_id, delivery_id)): Path<(String, String)>,
    p: Posted,
) -> PageResult {
    p.who.require(Role::IncidentManager)?;
    let back = p.fields.opt("subscriber").map(SubscriberId::from);
    let pages = [PageId::from(&page_id)];
    let job = match app
        .store()
        .list_jobs_of(JobState::Discarded, Some(&pages), 10_000)
        .await
    {
        Ok(jobs) => jobs
            .into_iter()
            .find(|j| j.unique_key.as_deref() == Some(delivery_id.as_str())),
        Err(e) => return Err(e.into()),
    };
    let outcome = match job {
        None => Err(
            "This delivery has no dead job to replay: it was delivered, is still being retried, or was replayed already."
                .to_owned(),
        ),
        Some(j) => match app.store().replay_job(j.id, &p.who.actor, app.now()).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err("It was replayed already.".to_owned()),
            Err(e) => return Err(e.into()),
        },
    };
    match outcome {
        Ok(()) => match back {
            Some(s) => see_other(&format!("/admin/pages/{page_id}/subscribers/{s}")),
            None => see_other(&format!("/admin/pages/{page_id}/deliveries")),
        },
        Err(m) => log(&app, &p.who, &page_id, back.as_ref(), m).await,
    }
}
