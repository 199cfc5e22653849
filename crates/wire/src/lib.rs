//! Statuspage's wire formats, shared by every tier that speaks them: the management API's
//! response objects ([`v1`]) answered by the web tier, and the same objects inside the
//! webhook payloads the worker tier sends. One definition, so an API response and a webhook
//! about the same incident can never disagree.
#![forbid(unsafe_code)]

pub mod metrics;
pub mod v1;
