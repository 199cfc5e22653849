//! What subscribers are told about, and on which channels.

use crate::id::SubscriberId;
use crate::status::{IncidentStatus, string_enum};
use crate::subscriber::Channel;

string_enum! {
    /// A notification event's kind (also the webhook payload's `event_type`, a herald
    /// extension next to Statuspage's shapes).
    EventKind {
        IncidentCreated = "incident.created",
        IncidentUpdated = "incident.updated",
        IncidentResolved = "incident.resolved",
        PostmortemPublished = "incident.postmortem_published",
        MaintenanceScheduled = "maintenance.scheduled",
        MaintenanceUpdated = "maintenance.updated",
        MaintenanceStarted = "maintenance.started",
        MaintenanceCompleted = "maintenance.completed",
        MaintenanceReminder = "maintenance.reminder",
        ComponentUpdated = "component.updated",
    }
}

string_enum! {
    /// What one delivery (an event to a subscriber) came to, as the delivery log shows it.
    DeliveryState {
        /// The channel took it (the mail server, the SMS API, a 2xx from the endpoint).
        Delivered = "delivered",
        /// This attempt failed; the job is retried.
        Failed = "failed",
        /// Given up: no more attempts (its job is discarded and can be replayed).
        Dead = "dead",
        /// The egress guard refused the endpoint's address; nothing was sent.
        Blocked = "blocked",
        /// Nothing sent yet: the job waits without spending an attempt (a rate limit).
        Snoozed = "snoozed",
        /// Nothing sent: the subscriber is no longer active.
        Skipped = "skipped",
    }
}

impl DeliveryState {
    /// Whether an operator may put the delivery's job back in its queue.
    pub fn replayable(self) -> bool {
        matches!(self, Self::Dead | Self::Failed | Self::Blocked)
    }
}

impl EventKind {
    /// The event an incident update posts: `created` is the incident's first update;
    /// otherwise what its status means.
    pub fn of_update(first: bool, status: IncidentStatus) -> Self {
        match (first, status) {
            (true, IncidentStatus::Scheduled) => Self::MaintenanceScheduled,
            (_, IncidentStatus::InProgress) if !first => Self::MaintenanceStarted,
            (_, IncidentStatus::Completed) => Self::MaintenanceCompleted,
            (false, IncidentStatus::Scheduled | IncidentStatus::Verifying) => {
                Self::MaintenanceUpdated
            }
            (true, s) if s.is_maintenance() => Self::MaintenanceStarted,
            (true, _) => Self::IncidentCreated,
            (false, IncidentStatus::Resolved | IncidentStatus::Postmortem) => {
                Self::IncidentResolved
            }
            (false, _) => Self::IncidentUpdated,
        }
    }

    /// Whether subscribers on `channel` hear about this kind of event. SMS carries only
    /// beginnings and ends, as Statuspage's does; component changes alone reach webhooks only.
    pub fn reaches(self, channel: Channel) -> bool {
        match channel {
            Channel::Webhook => true,
            Channel::Sms => matches!(
                self,
                Self::IncidentCreated
                    | Self::IncidentResolved
                    | Self::MaintenanceStarted
                    | Self::MaintenanceCompleted
            ),
            Channel::Email | Channel::Slack | Channel::Teams | Channel::Discord => {
                self != Self::ComponentUpdated
            }
        }
    }

    /// Every channel this kind reaches.
    pub fn channels(self) -> Vec<Channel> {
        Channel::ALL
            .iter()
            .copied()
            .filter(|c| self.reaches(*c))
            .collect()
    }
}

/// The delivery id of (event, subscriber): `webhook-id` of every attempt and replay, and
/// the e-mail `Message-ID`'s local part.
pub fn delivery_id(event_id: &str, subscriber_id: &SubscriberId) -> String {
    format!("msg_{event_id}_{subscriber_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus as S;

    #[test]
    fn updates_map_to_events() {
        assert_eq!(
            EventKind::of_update(true, S::Investigating),
            EventKind::IncidentCreated
        );
        assert_eq!(
            EventKind::of_update(false, S::Identified),
            EventKind::IncidentUpdated
        );
        assert_eq!(
            EventKind::of_update(false, S::Resolved),
            EventKind::IncidentResolved
        );
        assert_eq!(
            EventKind::of_update(true, S::Scheduled),
            EventKind::MaintenanceScheduled
        );
        assert_eq!(
            EventKind::of_update(false, S::InProgress),
            EventKind::MaintenanceStarted
        );
        assert_eq!(
            EventKind::of_update(false, S::Completed),
            EventKind::MaintenanceCompleted
        );
        assert_eq!(
            EventKind::of_update(true, S::InProgress),
            EventKind::MaintenanceStarted
        );
    }

    #[test]
    fn sms_hears_only_beginnings_and_ends() {
        assert!(EventKind::IncidentCreated.reaches(Channel::Sms));
        assert!(!EventKind::IncidentUpdated.reaches(Channel::Sms));
        assert!(!EventKind::MaintenanceReminder.reaches(Channel::Sms));
        assert!(EventKind::MaintenanceCompleted.reaches(Channel::Sms));
    }

    #[test]
    fn component_changes_reach_webhooks_only() {
        assert_eq!(EventKind::ComponentUpdated.channels(), [Channel::Webhook]);
        assert_eq!(EventKind::IncidentUpdated.channels().len(), 5);
    }

    #[test]
    fn delivery_ids_are_stable() {
        let (s1, s2) = (SubscriberId::from("s1"), SubscriberId::from("s2"));
        assert_eq!(delivery_id("e1", &s1), delivery_id("e1", &s1));
        assert_ne!(delivery_id("e1", &s1), delivery_id("e1", &s2));
    }
}
