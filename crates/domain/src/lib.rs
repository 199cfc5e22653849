//! Herald's domain: the rules of a status page with no I/O in them.
//!
//! Everything here is plain data and pure functions: statuses and their rollup, the incident
//! and maintenance life cycles, validation of what users send (parse, don't validate), ids,
//! timestamps in a page's time zone, API keys and passwords. Time is an input: code that needs
//! "now" takes it from a [`clock::Clock`] passed in by the caller.
#![forbid(unsafe_code)]

pub mod actor;
pub mod apikey;
pub mod automation;
pub mod clock;
pub mod component;
pub mod embed;
pub mod error;
pub mod id;
pub mod incident;
pub mod markdown;
pub mod metric;
pub mod notification;
pub mod page;
pub mod password;
pub mod patch;
pub mod status;
pub mod subscriber;
pub mod template;
pub mod time;
pub mod uptime;
pub mod user;

pub use error::{Invalid, Result};
