//! Herald's reconcilers.

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::Invalid;
use herald_domain::actor::Actor;
use herald_domain::incident::{auto_transition, plan_update};
use herald_store::{Store, StoreError};
use std::time::Duration;

use crate::handler::BoxFuture;
use crate::reconcile::Reconciler;

/// Starts and completes scheduled maintenances that asked for it, moving their components to
/// `under_maintenance` and back, and queues the reminder an hour before a maintenance that
/// asked for one (once: the reminder is enqueued in the transaction that marks it sent).
#[derive(Debug, Clone)]
pub struct Maintenance {
    pub store: Store,
}

/// How long before a maintenance its reminder goes out (Statuspage: 60 minutes).
pub const REMIND_BEFORE: TimeDelta = TimeDelta::minutes(60);

impl Reconciler for Maintenance {
    fn name(&self) -> &'static str {
        "maintenance"
    }

    fn period(&self) -> Duration {
        Duration::from_secs(15)
    }

    fn reconcile(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            let actor = Actor::system("maintenance");
            let due = self
                .store
                .due_maintenances(now, now + REMIND_BEFORE)
                .await
                .map_err(|e| e.to_string())?;
            let (mut moved, mut reminded) = (0, 0);
            for (page_id, id) in due {
                let result = self
                    .store
                    .update_incident(
                        &page_id,
                        &id,
                        &actor,
                        now,
                        // The transition names only the maintenance's own components.
                        &[],
                        |page, current, components, now| {
                            let input = auto_transition(current, now)
                                .ok_or_else(|| Invalid::new("maintenance", "nothing to do"))?;
                            plan_update(current, &input, components, now, page.zone)
                        },
                    )
                    .await;
                match result {
                    Ok(_) => moved += 1,
                    Err(StoreError::Invalid(_) | StoreError::NotFound) => {}
                    Err(e) => return Err(e.to_string()),
                }
                match self
                    .store
                    .mark_reminded(&page_id, &id, now + REMIND_BEFORE, &actor, now)
                    .await
                {
                    Ok(true) => reminded += 1,
                    Ok(false) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(if moved + reminded > 0 {
                format!("{moved} maintenances moved, {reminded} reminders queued")
            } else {
                String::new()
            })
        })
    }
}

/// Deletes finished jobs so the queue's table never bloats: completed ones after a day,
/// dead letters after 30 days.
#[derive(Debug, Clone)]
pub struct PruneJobs {
    pub store: Store,
}

impl Reconciler for PruneJobs {
    fn name(&self) -> &'static str {
        "prune-jobs"
    }

    fn period(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn reconcile(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            let n = self
                .store
                .prune_jobs(now - TimeDelta::days(1), now - TimeDelta::days(30))
                .await
                .map_err(|e| e.to_string())?;
            Ok(if n > 0 {
                format!("pruned {n} finished jobs")
            } else {
                String::new()
            })
        })
    }
}

/// Deletes subscribers who never confirmed within a week and quarantined ones after 90
/// days, and forgets old rate-limit counts.
#[derive(Debug, Clone)]
pub struct Subscribers {
    pub store: Store,
}

impl Reconciler for Subscribers {
    fn name(&self) -> &'static str {
        "purge-subscribers"
    }

    fn period(&self) -> Duration {
        Duration::from_secs(900)
    }

    fn reconcile(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            let n = self
                .store
                .purge_subscribers(now)
                .await
                .map_err(|e| e.to_string())?;
            self.store
                .prune_rates(now - TimeDelta::days(2))
                .await
                .map_err(|e| e.to_string())?;
            Ok(if n > 0 {
                format!("purged {n} subscribers")
            } else {
                String::new()
            })
        })
    }
}
