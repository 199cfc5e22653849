//! The public status page: HTML, the Statuspage v2 JSON API, feeds and embeds, all served
//! from in-memory snapshots.
//!
//! - [`render`] turns a page's data into every public output (bytes, with gzip and brotli
//!   variants and ETags);
//! - [`snapshot`] holds them, swapped in atomically per page;
//! - [`resolve`] finds the output for a request (custom domain, `/p/<slug>/`, default page);
//! - [`publisher`] re-renders a page after each write, on a timer, and on other nodes'
//!   changes (LISTEN/NOTIFY plus a version poll).
//!
//! The server loop (`crate::server`) answers public GETs from the snapshots before routing.

pub mod output;
pub mod publisher;
pub mod render;
pub mod resolve;
pub mod snapshot;

pub use publisher::{Publisher, SnapshotOptions, spawn_tasks};
pub use render::Assets;
pub use snapshot::{SnapshotAge, Snapshots};
