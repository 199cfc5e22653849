//! Extractors: the edge where requests become typed values or a clear `ApiError`.

mod auth;
mod body;
mod params;

pub use auth::{Caller, ReadPage, WritePage};
pub use body::ApiBody;
pub use params::{ApiPath, ApiQuery, ListParams};
