//! JSON APIs: the Statuspage-compatible management API v1.

pub mod v1;
