//! Herald's notifications: who is told what, how, and the guarantees around it.
//!
//! An incident update (or a component change, a published postmortem, a maintenance start)
//! records a notification event in its own transaction, with its fan-out job. The fan-out
//! ([`fanout`]) renders the event once ([`render`]) and enqueues one delivery job per
//! concerned subscriber, keyed by a stable delivery id; the delivery job ([`deliver`]) sends
//! it on the subscriber's channel — e-mail ([`email`]), SMS ([`sms`]), a signed webhook
//! ([`signing`]) or a chat message ([`chat`]) — through the guarded client ([`egress`]) for
//! any URL a user gave. Links in messages are signed ([`links`]).
#![forbid(unsafe_code)]

pub mod chat;
pub mod checks;
pub mod deliver;
pub mod egress;
pub mod email;
pub mod fanout;
pub mod limits;
pub mod links;
pub mod pull;
pub mod render;
pub mod signing;
pub mod sms;
pub mod tls_expiry;

use std::sync::Arc;

use herald_store::kinds::{DELIVER_EMAIL, DELIVER_HTTP, DELIVER_SMS, NOTIFY_FANOUT};
use herald_worker::Registry;

/// Everything the notification jobs need.
#[derive(Debug, Clone)]
pub struct Notifier {
    /// herald's public address (links in messages).
    pub base_url: String,
    pub links: links::Links,
    pub http: egress::GuardedClient,
    /// `None`: e-mail is not configured; e-mail deliveries wait (and retry) until it is.
    pub mailer: Option<email::Mailer>,
    pub sms: Option<sms::Sms>,
    /// At most so many deliveries in flight per destination in this process.
    pub destinations: Arc<limits::Destinations>,
}

/// Registers the fan-out and delivery handlers.
pub fn register(registry: &mut Registry, notifier: Arc<Notifier>) {
    registry.register(
        NOTIFY_FANOUT.spec,
        fanout::Fanout {
            notifier: notifier.clone(),
        },
    );
    let deliver = deliver::Deliver { notifier };
    registry.register(DELIVER_EMAIL.spec, deliver.clone());
    registry.register(DELIVER_SMS.spec, deliver.clone());
    registry.register(DELIVER_HTTP.spec, deliver);
}
