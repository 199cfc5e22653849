//! Management API v1 (`/v1`), Statuspage-compatible: bodies wrapped in a resource key, bare
//! objects and arrays in responses, `{"error", "message"}` errors.

pub mod components;
pub mod embed;
/// The v1 response objects (defined in `herald-wire`, shared with webhook payloads).
pub use herald_wire::v1 as dto;
pub mod groups;
pub mod incident_subscribers;
pub mod incidents;
pub mod integrations;
pub mod jobs;
pub mod metric_data;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod postmortem;
pub mod subscriber_import;
pub mod subscribers;
pub mod templates;
pub mod uptime;

use serde::Serialize;
use utoipa::ToSchema;

/// The error body of every failed request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// The same sentence (some clients read this key).
    pub message: String,
    /// On validation errors, the offending field (`component.name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// On a refused upload: the first 20 bad rows, each `{"line" | "index": n, "field":
    /// ..., "message": ...}`; `error_count` says how many there were.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_count: Option<usize>,
}

/// Applies a `(limit, offset)` window to a list held in memory.
pub(crate) fn window<T>(items: Vec<T>, (limit, offset): (i64, i64)) -> Vec<T> {
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let take = usize::try_from(limit).unwrap_or(0);
    items.into_iter().skip(skip).take(take).collect()
}
