//! The client's address, the one way herald reads it: the last address of the configured
//! `client_ip_header` (`HERALD_CLIENT_IP_HEADER`, e.g. `X-Forwarded-For`) when herald sits
//! behind a proxy, else the connection's peer. The last entry is the one the nearest proxy
//! appended; entries before it are whatever the client wrote and are never trusted.
//!
//! It feeds the audit log (API, admin and public actors), the admin sign-in limits and the
//! public subscribe limits, so all of them see the same address for one request.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use crate::state::AppState;

/// The client's address, if herald can tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// Reads the address of the request `parts` belong to.
    pub fn of(app: &AppState, parts: &Parts) -> ClientIp {
        let forwarded = app.config().client_ip_header.as_deref().and_then(|h| {
            let v = parts.headers.get(h)?.to_str().ok()?;
            v.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
        });
        ClientIp(forwarded.or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        }))
    }

    /// The address as text (for the audit log).
    pub fn text(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }

    /// The address as a rate-limit key part: `unknown` when there is none.
    pub fn key(&self) -> String {
        self.text().unwrap_or_else(|| "unknown".to_owned())
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Infallible> {
        Ok(ClientIp::of(app, parts))
    }
}
