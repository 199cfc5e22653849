//! The delivery job: one event to one subscriber on its channel, at least once, never to a
//! subscriber who left.
//!
//! - The subscriber is read when the job runs: unsubscribed, quarantined or unconfirmed
//!   subscribers get nothing (the delivery is logged as skipped).
//! - Webhooks get the event's frozen Statuspage payload plus `meta.unsubscribe`, signed per
//!   Standard Webhooks with `webhook-id` = the delivery id (stable across retries and
//!   replays); chat hooks get their own message formats. Any 2xx is success; `410 Gone`
//!   unsubscribes the endpoint; anything else (3xx included) is retried with backoff,
//!   honouring `Retry-After`. A URL the egress guard refuses is never retried.
//! - Per destination (scheme, host, port), at most `delivery_per_destination` requests are
//!   in flight in a process ([`crate::limits`]); a delivery that finds its destination
//!   saturated snoozes without spending an attempt, so a hung endpoint holds a few worker
//!   slots, never the queue.
//! - Per endpoint, a circuit breaker pauses deliveries after 3 consecutive failures (1 min,
//!   doubling to 24 h) so a dead endpoint costs one attempt per pause, not one per message;
//!   a delivery that finds its endpoint paused snoozes until the pause ends. 10 consecutive
//!   failures quarantine the subscriber and e-mail its contact address; its undelivered
//!   messages become dead letters (replayable once the page's team reactivates it).
//! - Every attempt's outcome is written to the delivery log.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::actor::Actor;
use herald_domain::id::SubscriberId;
use herald_domain::notification::{DeliveryState, delivery_id};
use herald_domain::page::Page;
use herald_domain::subscriber::{Channel, Subscriber, SubscriberState};
use herald_store::kinds::{DELIVER_EMAIL, DeliverJob};
use herald_store::{DeliveryRecord, Event, Store, StoreError};
use herald_worker::{BoxFuture, Handler, JobContext, JobError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

use crate::egress::{Reply, SendError};
use crate::email::MailLinks;
use crate::links::Purpose;
use crate::render::{Frozen, color};
use crate::{Notifier, chat, signing};

/// Consecutive failures before deliveries to an endpoint pause.
pub const PAUSE_AFTER: i64 = 3;
/// Consecutive failures before an endpoint is quarantined (Statuspage: ~10 in an hour).
pub const QUARANTINE_AFTER: i64 = 10;
/// Longest pause.
pub const MAX_PAUSE: TimeDelta = TimeDelta::hours(24);

/// How long deliveries pause after `failures` consecutive failures.
pub fn pause_for(failures: i64) -> Option<TimeDelta> {
    (failures >= PAUSE_AFTER).then(|| {
        let doublings = u32::try_from((failures - PAUSE_AFTER).clamp(0, 20)).unwrap_or(20);
        (TimeDelta::minutes(1) * 2i32.pow(doublings)).min(MAX_PAUSE)
    })
}

/// Runs delivery jobs.
#[derive(Debug, Clone)]
pub struct Deliver {
    pub notifier: Arc<Notifier>,
}

/// What an attempt came to, before it is logged.
struct Attempt {
    state: DeliveryState,
    status: Option<u16>,
    result: Result<(), JobError>,
    /// Why nothing was sent, logged with the attempt instead of the error.
    note: Option<String>,
}

impl Attempt {
    /// What the delivery log says of it.
    fn error(&self) -> Option<String> {
        self.note
            .clone()
            .or_else(|| self.result.as_ref().err().map(ToString::to_string))
    }
}

fn ok(status: Option<u16>) -> Attempt {
    Attempt {
        state: DeliveryState::Delivered,
        status,
        result: Ok(()),
        note: None,
    }
}

/// A channel herald was not configured for: retried every 10 minutes, until it is.
fn unconfigured(error: &str) -> Attempt {
    failed(
        None,
        JobError::Retryable {
            error: error.to_owned(),
            retry_after: Some(Duration::from_secs(600)),
        },
    )
}

/// Nothing sent: the job runs again after `wait` without spending an attempt.
fn snooze(wait: Duration) -> Attempt {
    Attempt {
        state: DeliveryState::Snoozed,
        status: None,
        result: Err(JobError::Snooze(wait)),
        note: None,
    }
}

/// Nothing sent to a subscriber who is no longer active. A quarantined endpoint may come back
/// (reactivated by the page's team): its messages are kept as dead letters to replay.
/// Anyone else left: nothing to keep.
fn not_active(state: SubscriberState) -> Attempt {
    Attempt {
        state: DeliveryState::Skipped,
        status: None,
        result: if state == SubscriberState::Quarantined {
            Err(JobError::permanent("the endpoint is quarantined"))
        } else {
            Ok(())
        },
        note: Some(format!("subscriber is {state}")),
    }
}

fn failed(status: Option<u16>, e: JobError) -> Attempt {
    let state = match &e {
        JobError::Permanent(_) => DeliveryState::Dead,
        JobError::Retryable { .. } | JobError::Snooze(_) => DeliveryState::Failed,
    };
    Attempt {
        state,
        status,
        result: Err(e),
        note: None,
    }
}

impl Handler for Deliver {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            match ctx.payload()? {
                DeliverJob::Event {
                    event_id,
                    subscriber_id,
                } => self.event(ctx, &event_id, &subscriber_id).await,
                DeliverJob::Confirmation {
                    confirm_subscriber_id,
                } => self.confirmation(ctx, &confirm_subscriber_id).await,
                DeliverJob::QuarantineNotice { quarantine_notice } => {
                    self.quarantine_notice(ctx, &quarantine_notice).await
                }
            }
        })
    }
}

impl Deliver {
    async fn event(
        &self,
        ctx: &JobContext,
        event_id: &str,
        subscriber_id: &SubscriberId,
    ) -> Result<(), JobError> {
        let store = &ctx.store;
        let delivery = delivery_id(event_id, subscriber_id);
        let Some(sub) = store.subscriber(subscriber_id).await? else {
            return Ok(()); // deleted: nobody to tell
        };
        let Some(event) = store.get_event(event_id).await? else {
            return Err(JobError::permanent(format!("no event {event_id}")));
        };
        let log = |a: &Attempt, error: Option<String>| DeliveryRecord {
            id: &delivery,
            event_id,
            subscriber_id,
            page_id: &sub.page_id,
            channel: sub.channel,
            state: a.state,
            attempt: ctx.job.attempt,
            status: a.status,
            error,
        };
        if sub.state != SubscriberState::Active {
            let a = not_active(sub.state);
            store
                .record_delivery(&log(&a, a.error()), ctx.clock.now())
                .await?;
            return a.result;
        }
        let frozen: Frozen = event
            .payload
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| JobError::retry("the event is not rendered yet"))?;
        let Some(page) = store.get_page(&sub.page_id).await? else {
            return Ok(());
        };
        let now = ctx.clock.now();
        let attempt = match sub.channel {
            Channel::Email => self.email(&sub, &page, &delivery, &frozen, now).await,
            Channel::Sms => self.sms(&sub, &frozen).await,
            _ => {
                self.http(store, &sub, &event, &delivery, &frozen, now)
                    .await
            }
        };
        if let Err(JobError::Snooze(_)) = &attempt.result {
            return attempt.result; // nothing was sent: no attempt to log
        }
        store
            .record_delivery(&log(&attempt, attempt.error()), ctx.clock.now())
            .await?;
        attempt.result
    }

    fn unsubscribe_links(&self, sub: &Subscriber, page: &Page, now: DateTime<Utc>) -> MailLinks {
        let base = page.public_url(&self.notifier.base_url);
        let l = &self.notifier.links;
        MailLinks {
            manage: format!(
                "{base}/subscriptions/{}",
                l.token(&sub.id, Purpose::Manage, now)
            ),
            unsubscribe: format!(
                "{base}/subscriptions/unsubscribe/{}",
                l.token(&sub.id, Purpose::Unsubscribe, now)
            ),
        }
    }

    async fn email(
        &self,
        sub: &Subscriber,
        page: &Page,
        delivery: &str,
        frozen: &Frozen,
        now: DateTime<Utc>,
    ) -> Attempt {
        let Some(mailer) = &self.notifier.mailer else {
            return unconfigured("e-mail is not configured (smtp_url)");
        };
        let Some(to) = &sub.email else {
            return failed(None, JobError::permanent("no address"));
        };
        let links = self.unsubscribe_links(sub, page, now);
        let s = &page.settings;
        match mailer
            .send_notification(to, delivery, &frozen.message, s, &links)
            .await
        {
            Ok(()) => ok(None),
            Err(e) => failed(None, e.into()),
        }
    }

    async fn sms(&self, sub: &Subscriber, frozen: &Frozen) -> Attempt {
        let Some(sms) = &self.notifier.sms else {
            return unconfigured("SMS is not configured (sms_url)");
        };
        let Some(to) = &sub.phone_number else {
            return failed(None, JobError::permanent("no number"));
        };
        match sms.send(to, &crate::sms::text(&frozen.message)).await {
            Ok(_) => ok(None),
            Err(e) => failed(None, e.into()),
        }
    }

    async fn http(
        &self,
        store: &Store,
        sub: &Subscriber,
        event: &Event,
        delivery: &str,
        frozen: &Frozen,
        now: DateTime<Utc>,
    ) -> Attempt {
        let Some(url) = &sub.endpoint else {
            return failed(None, JobError::permanent("no endpoint"));
        };
        let _slot = match self
            .notifier
            .destinations
            .acquire(url, crate::limits::BUSY_WAIT)
            .await
        {
            Ok(slot) => slot,
            Err(busy) => {
                tracing::debug!(subscriber.id = %sub.id, snooze_ms = busy.snooze.as_millis(), "destination saturated; snoozing");
                return snooze(busy.snooze);
            }
        };
        // Checked with the slot in hand, right before sending: while this delivery waited for
        // it, others may have paused or quarantined the endpoint.
        match store.subscriber_gate(&sub.id).await {
            Err(e) => return failed(None, e.into()),
            Ok(None) => return not_active(SubscriberState::Unsubscribed),
            Ok(Some((state, _))) if state != SubscriberState::Active => return not_active(state),
            Ok(Some((_, Some(until)))) if until > now => {
                // Paused after repeated failures: wait for the end of the pause. Not an attempt.
                return snooze((until - now).to_std().unwrap_or_default());
            }
            Ok(Some(_)) => {}
        }
        let indicator = serde_json::from_value(frozen.webhook["page"]["status_indicator"].clone())
            .unwrap_or(herald_domain::status::Impact::None);
        let (body, headers): (Value, Vec<(&str, String)>) = match sub.channel {
            Channel::Slack => (chat::slack(&frozen.message, color(indicator)), vec![]),
            Channel::Teams => (chat::teams(&frozen.message), vec![]),
            Channel::Discord => (chat::discord(&frozen.message, color(indicator)), vec![]),
            _ => {
                let mut body = frozen.webhook.clone();
                let page_url = frozen.message.page_url.clone();
                let token =
                    self.notifier
                        .links
                        .token(&sub.id, Purpose::Unsubscribe, event.created_at);
                body["meta"]["unsubscribe"] =
                    json!(format!("{page_url}/subscriptions/unsubscribe/{token}"));
                let bytes = body.to_string().into_bytes();
                // A secret that cannot be read is a failed attempt, retried: never a webhook
                // sent unsigned to a subscriber who verifies signatures.
                let secrets = match store.webhook_secrets(&sub.id, now).await {
                    Ok(s) => s,
                    Err(e) => {
                        return failed(
                            None,
                            JobError::retry(format!("the signing secret could not be read: {e}")),
                        );
                    }
                };
                let mut keys: Vec<&str> = Vec::new();
                if let Some(s) = &secrets {
                    keys.push(&s.current);
                    if let Some((p, _)) = &s.previous {
                        keys.push(p);
                    }
                }
                let headers = signing::headers(&keys, delivery, now.timestamp(), &bytes);
                (body, headers)
            }
        };
        let reply = self
            .notifier
            .http
            .post_json(url, &headers, body.to_string().into_bytes())
            .await;
        self.judge(store, sub, reply, now).await
    }

    async fn judge(
        &self,
        store: &Store,
        sub: &Subscriber,
        reply: Result<Reply, SendError>,
        now: DateTime<Utc>,
    ) -> Attempt {
        let actor = Actor::system("delivery");
        match reply {
            Ok(r) if (200..300).contains(&r.status) => {
                // Delivered: a failure to reset the count is logged, not retried (that would
                // send the message again); the next success resets it.
                if sub.failures > 0
                    && let Err(e) = store.subscriber_succeeded(&sub.id).await
                {
                    tracing::error!(subscriber.id = %sub.id, error = %e, "delivered, but the failure count could not be reset");
                }
                ok(Some(r.status))
            }
            Ok(r) if r.status == 410 => {
                if let Err(e) = store
                    .unsubscribe(&sub.page_id, std::slice::from_ref(&sub.id), &actor, now)
                    .await
                {
                    // Not unsubscribed yet: try again, and unsubscribe on the next 410.
                    return failed(
                        Some(410),
                        JobError::retry(format!("410 Gone, but unsubscribing failed: {e}")),
                    );
                }
                failed(
                    Some(410),
                    JobError::permanent(
                        "410 Gone: the endpoint asked to be removed; it is unsubscribed",
                    ),
                )
            }
            Err(SendError::Blocked(b)) => Attempt {
                state: DeliveryState::Blocked,
                status: None,
                result: Err(JobError::permanent(format!("blocked: {b}"))),
                note: None,
            },
            other => {
                let (status, error, retry_after) = match other {
                    Ok(r) => (
                        Some(r.status),
                        format!(
                            "the endpoint answered {}: {}",
                            r.status,
                            r.body.chars().take(200).collect::<String>()
                        ),
                        r.retry_after,
                    ),
                    Err(e) => (None, e.to_string(), None),
                };
                // The count from the row, not from `sub`: concurrent failures each count.
                if let Err(e) = self.count_failure(store, sub, &actor, now).await {
                    // The attempt is retried anyway; the breaker catches up on the next one.
                    tracing::error!(subscriber.id = %sub.id, error = %e, "a failed delivery could not be counted");
                }
                failed(status, JobError::Retryable { error, retry_after })
            }
        }
    }

    /// Counts a failed attempt: pauses the endpoint after [`PAUSE_AFTER`] failures in a row,
    /// quarantines it after [`QUARANTINE_AFTER`] and tells its contact address.
    async fn count_failure(
        &self,
        store: &Store,
        sub: &Subscriber,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // The count from the row, not from `sub`: concurrent failures each count.
        let failures = store.subscriber_failed(&sub.id, None).await?;
        if let Some(pause) = pause_for(failures) {
            store.pause_subscriber(&sub.id, now + pause).await?;
        }
        if failures >= QUARANTINE_AFTER
            && store
                .quarantine_subscriber(&sub.page_id, &sub.id, actor, now)
                .await?
        {
            tracing::warn!(subscriber.id = %sub.id, failures, "endpoint quarantined after repeated failures");
            let job = DeliverJob::QuarantineNotice {
                quarantine_notice: sub.id.clone(),
            };
            let mut notice = DELIVER_EMAIL.job(Some(&sub.page_id), &job);
            notice.unique_key = Some(format!("quarantine:{}:{}", sub.id, now.timestamp()));
            store.enqueue(&[notice], now).await?;
        }
        Ok(())
    }

    async fn confirmation(
        &self,
        ctx: &JobContext,
        subscriber_id: &SubscriberId,
    ) -> Result<(), JobError> {
        let store = &ctx.store;
        let Some(sub) = store.subscriber(subscriber_id).await? else {
            return Ok(());
        };
        if sub.state != SubscriberState::Unconfirmed {
            return Ok(());
        }
        let Some(page) = store.get_page(&sub.page_id).await? else {
            return Ok(());
        };
        let now = ctx.clock.now();
        let link = format!(
            "{}/subscriptions/confirm/{}",
            page.public_url(&self.notifier.base_url),
            self.notifier.links.token(&sub.id, Purpose::Confirm, now)
        );
        match sub.channel {
            Channel::Email => {
                let Some(mailer) = &self.notifier.mailer else {
                    return Err(JobError::retry("e-mail is not configured"));
                };
                let to = sub.email.as_deref().unwrap_or("");
                let body = format!(
                    "Someone (we hope you) asked to receive status notifications from {name}.\n\nConfirm with this link (valid 90 days):\n{link}\n\nIf it was not you, ignore this message: nothing will be sent.\n",
                    name = page.name
                );
                let id = format!("confirm_{}_{}", sub.id, ctx.job.id);
                mailer
                    .send_plain(
                        to,
                        &format!("Confirm your subscription to {}", page.name),
                        &body,
                        page.settings.notifications_from_email.as_deref(),
                        &page.name,
                        &id,
                    )
                    .await
                    .map_err(JobError::from)
            }
            Channel::Sms => {
                let Some(sms) = &self.notifier.sms else {
                    return Err(JobError::retry("SMS is not configured"));
                };
                let text = format!("{}: confirm status texts: {link}", page.name);
                sms.send(sub.phone_number.as_deref().unwrap_or(""), &text)
                    .await
                    .map(|_| ())
                    .map_err(JobError::from)
            }
            _ => Ok(()),
        }
    }

    async fn quarantine_notice(
        &self,
        ctx: &JobContext,
        subscriber_id: &SubscriberId,
    ) -> Result<(), JobError> {
        let store = &ctx.store;
        let Some(sub) = store.subscriber(subscriber_id).await? else {
            return Ok(());
        };
        let (Some(to), Some(mailer)) = (sub.email.as_deref(), &self.notifier.mailer) else {
            return Ok(());
        };
        let Some(page) = store.get_page(&sub.page_id).await? else {
            return Ok(());
        };
        let body = format!(
            "Deliveries from {name} to your endpoint {target} failed {n} times in a row, so it has been quarantined: it receives nothing until the page's owner reactivates it. Quarantined endpoints are removed after 90 days.\n",
            name = page.name,
            target = sub.target(),
            n = QUARANTINE_AFTER
        );
        mailer
            .send_plain(
                to,
                &format!("{}: your webhook endpoint was quarantined", page.name),
                &body,
                page.settings.notifications_from_email.as_deref(),
                &page.name,
                &format!("quarantine_{}_{}", sub.id, ctx.job.id),
            )
            .await
            .map_err(JobError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_start_after_three_failures_and_double_to_a_day() {
        assert_eq!(pause_for(2), None);
        assert_eq!(pause_for(3), Some(TimeDelta::minutes(1)));
        assert_eq!(pause_for(4), Some(TimeDelta::minutes(2)));
        assert_eq!(pause_for(30), Some(TimeDelta::hours(24)));
    }
}
