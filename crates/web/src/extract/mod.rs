//! Extractors: the edge where requests become typed values or a clear `ApiError`.

mod auth;
mod body;
mod client_ip;
mod params;

pub use auth::{Caller, ReadPage, WritePage};
pub use body::{ApiBody, HookBody, Upload};
pub use client_ip::ClientIp;
pub use params::{ApiPath, ApiQuery, ListParams};
