//! The fan-out job: one notification event becomes one delivery job per concerned subscriber
//! and channel, enqueued in batches of 5,000 with unique keys (the delivery id), so a fan-out
//! that dies halfway and runs again enqueues nothing twice.

use herald_domain::notification::delivery_id;
use herald_domain::subscriber::Channel;
use herald_store::NewJob;
use herald_store::kinds::{DELIVER_EMAIL, DELIVER_HTTP, DELIVER_SMS, DeliverJob, FanoutJob, Kind};
use herald_worker::{BoxFuture, Handler, JobContext, JobError};
use std::sync::Arc;

use crate::Notifier;
use crate::render::{Frozen, component_event, current_status, incident_event};

/// Subscribers per batch.
pub const BATCH: i64 = 5000;

/// The delivery job kind of a channel.
pub fn spec_for(channel: Channel) -> Kind<DeliverJob> {
    match channel {
        Channel::Email => DELIVER_EMAIL,
        Channel::Sms => DELIVER_SMS,
        Channel::Webhook | Channel::Slack | Channel::Teams | Channel::Discord => DELIVER_HTTP,
    }
}

/// Runs fan-out jobs.
#[derive(Debug, Clone)]
pub struct Fanout {
    pub notifier: Arc<Notifier>,
}

impl Handler for Fanout {
    fn run<'a>(&'a self, ctx: &'a JobContext) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let store = &ctx.store;
            let FanoutJob { event_id } = ctx.payload()?;
            let Some(event) = store.get_event(&event_id).await? else {
                return Err(JobError::permanent(format!("no event {event_id}")));
            };
            let Some(page) = store.get_page(&event.page_id).await? else {
                return Ok(()); // the page was deleted: nobody to tell
            };
            let incident = match &event.incident_id {
                Some(i) => match store.get_incident(&page.id, i).await? {
                    Some(inc) => Some(inc),
                    None => return Ok(()), // deleted before anyone was told
                },
                None => None,
            };
            // Only the components the event is about, not the whole page.
            let about = match (&incident, &event.component_id) {
                (Some(i), _) => i.affected_component_ids(),
                (None, Some(c)) => vec![c.clone()],
                (None, None) => Vec::new(),
            };
            let scope = about;
            let incident_id = event.incident_id.as_ref();
            // A private page tells only the subscribers its team added: someone who came
            // through a public form before the page went private learns nothing of it.
            let team_only = page.settings.viewers_must_be_team_members;
            let recipients = |after: String| {
                let (page_id, scope) = (&page.id, &scope);
                async move {
                    store
                        .event_recipients(
                            page_id,
                            event.kind,
                            incident_id,
                            scope,
                            team_only,
                            &after,
                            BATCH,
                        )
                        .await
                }
            };
            let mut batch = recipients(String::new()).await?;
            if batch.is_empty() {
                // Nobody to tell: nothing to render either (on a page without subscribers,
                // which is most pages for most writes, the event costs one query).
                tracing::info!(event.id = %event.id, event.kind = event.kind.as_str(), page.id = %page.id, deliveries = 0, "fanned out");
                return Ok(());
            }
            let components = store.components_by_id(&page.id, &scope).await?;
            if event.payload.is_none() {
                // Rendered once; every delivery (and retry) of the event uses this text.
                let status = current_status(store, &page).await?;
                let base = &self.notifier.base_url;
                let rendered: Frozen = match (&incident, &event.component_id) {
                    (Some(i), _) => incident_event(&event, &page, status, i, &components, base),
                    (None, Some(c)) => match components.iter().find(|x| x.id == *c) {
                        Some(comp) => {
                            component_event(&event, &page, status, comp, &components, base)
                        }
                        None => return Ok(()),
                    },
                    (None, None) => return Err(JobError::permanent("an event about nothing")),
                };
                let value = serde_json::to_value(&rendered).map_err(JobError::permanent)?;
                store.freeze_event_payload(&event.id, &value).await?;
            }
            let mut total = 0usize;
            while let Some(last) = batch.last() {
                let after = last.subscriber_id.to_string();
                let jobs: Vec<NewJob> = batch
                    .iter()
                    .map(|r| {
                        let id = delivery_id(&event.id, &r.subscriber_id);
                        let job = DeliverJob::Event {
                            event_id: event.id.clone(),
                            subscriber_id: r.subscriber_id.clone(),
                        };
                        let mut j = spec_for(r.channel).job(Some(&page.id), &job);
                        j.unique_key = Some(id);
                        j
                    })
                    .collect();
                total += jobs.len();
                store.enqueue(&jobs, ctx.clock.now()).await?;
                batch = recipients(after).await?;
            }
            tracing::info!(event.id = %event.id, event.kind = event.kind.as_str(), page.id = %page.id, deliveries = total, "fanned out");
            Ok(())
        })
    }
}
