//! The public status page: HTML, the Statuspage v2 JSON API, feeds and embeds, all served
//! from in-memory snapshots.
//!
//! - [`model`] is a page's public model in memory, brought up to date by deltas;
//! - [`render`] turns it into public outputs (bytes, with gzip and brotli variants and
//!   ETags);
//! - [`snapshot`] holds the outputs every request may ask for, swapped in atomically per
//!   page, and [`cold`] the rarely read ones, rendered on first request under a budget;
//! - [`resolve`] finds the output for a request (custom domain, `/p/<slug>/`, default page);
//! - [`publisher`] applies each write's delta and re-renders what it changed, after each
//!   write, on a timer, and on other nodes' changes (LISTEN/NOTIFY plus a version poll).
//!
//! The server loop (`crate::server`) answers public GETs from the snapshots before routing.

pub mod brotli_pool;
pub mod cold;
pub mod fragments;
pub mod model;
pub mod output;
pub mod publisher;
pub mod render;
pub mod resolve;
pub mod snapshot;

pub use publisher::{Publisher, SnapshotOptions, spawn_tasks};
pub use render::Assets;
pub use snapshot::{SnapshotAge, Snapshots};
