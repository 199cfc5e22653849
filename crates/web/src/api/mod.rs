//! JSON APIs: the Statuspage-compatible management API v1.

pub mod hooks;
pub mod v1;
