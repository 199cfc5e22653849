//! API key authentication for the management API.
//!
//! A key may come as `Authorization: OAuth <key>` (Statuspage's form), `Bearer <key>`, or a
//! bare key in the header (what the generated swagger clients send unless told the prefix).
//! Its checksum is verified before any database access; then its hash is looked up on every
//! request (never cached), so revoking a key takes effect at once on every node.
//!
//! `?api_key=<key>`, which Statuspage also accepts, is refused with a 401 that says to use
//! the header: a key in a URL is written to the access logs of herald, of every proxy on the
//! way and to browser histories. No client herald is tested with sends it (the swagger
//! clients and the Terraform provider use the header); a person with `curl` gets a message
//! saying what to do instead.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use herald_domain::actor::{Actor, ActorKind};
use herald_domain::apikey::{self, ApiKey};
use herald_domain::id::PageId;
use herald_domain::page::Page;

use super::ClientIp;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// An authenticated API caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key used.
    pub key: ApiKey,
    /// The key as an audit-log actor.
    pub actor: Actor,
}

/// Whether the URL carries a key (`?api_key=`), valid or not.
fn key_in_url(parts: &Parts) -> bool {
    parts.uri.query().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k.eq_ignore_ascii_case("api_key"))
    })
}

fn presented_key(parts: &Parts) -> Option<String> {
    if let Some(h) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let h = h.trim();
        let key = ["OAuth ", "Bearer ", "Token "]
            .iter()
            .find_map(|p| h.strip_prefix(p))
            .unwrap_or(h);
        return Some(key.trim().to_owned());
    }
    None
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if key_in_url(parts) {
            return Err(ApiError::KeyInUrl);
        }
        let presented = presented_key(parts).ok_or(ApiError::Unauthorized)?;
        let hash = apikey::check(&presented).ok_or(ApiError::Unauthorized)?;
        let key = state
            .store()
            .find_key_by_hash(&hash)
            .await?
            .filter(|k| k.revoked_at.is_none())
            .ok_or(ApiError::Unauthorized)?;
        state
            .limiter()
            .check(&key.id)
            .map_err(|retry_after| ApiError::TooManyRequests {
                retry_after,
                limit: format!(
                    "{} requests per minute per API key",
                    state.config().api_requests_per_minute
                ),
            })?;
        Ok(Caller {
            actor: Actor {
                kind: ActorKind::ApiKey,
                id: key.id.clone(),
                ip: ClientIp::of(state, parts).text(),
            },
            key,
        })
    }
}

/// The page named by `{page_id}` in the path, which the caller may read. Extracted before
/// the body, so that a request for a page the key may not see is a 404 whatever it carries:
/// a key learns nothing about other tenants' pages.
#[derive(Debug, Clone)]
pub struct ReadPage {
    pub caller: Caller,
    pub page: Page,
}

/// Like [`ReadPage`], for a write: a read-only key then gets 403 (still before the body is
/// looked at).
#[derive(Debug, Clone)]
pub struct WritePage {
    pub caller: Caller,
    pub page: Page,
}

async fn path_page(parts: &mut Parts, state: &AppState) -> ApiResult<ReadPage> {
    let caller = Caller::from_request_parts(parts, state).await?;
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::NotFound)?;
    let page_id = params
        .iter()
        .find(|(k, _)| *k == "page_id")
        .map(|(_, v)| PageId::from(v))
        .ok_or(ApiError::NotFound)?;
    if !caller.key.can_access(&page_id) {
        return Err(ApiError::NotFound);
    }
    let page = state
        .store()
        .get_page(&page_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(ReadPage { caller, page })
}

impl FromRequestParts<AppState> for ReadPage {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        path_page(parts, state).await
    }
}

impl FromRequestParts<AppState> for WritePage {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ReadPage { caller, page } = path_page(parts, state).await?;
        if caller.key.read_only {
            return Err(ApiError::Forbidden);
        }
        Ok(WritePage { caller, page })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(auth: Option<&str>, uri: &str) -> Parts {
        let mut b = Request::builder().uri(uri);
        if let Some(a) = auth {
            b = b.header(AUTHORIZATION, a);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn keys_are_read_from_the_header_only() {
        assert_eq!(
            presented_key(&parts(Some("OAuth abc"), "/")).as_deref(),
            Some("abc")
        );
        assert_eq!(
            presented_key(&parts(Some("Bearer abc"), "/")).as_deref(),
            Some("abc")
        );
        assert_eq!(
            presented_key(&parts(Some("abc"), "/")).as_deref(),
            Some("abc")
        );
        assert_eq!(presented_key(&parts(None, "/v1/pages?api_key=abc")), None);
        assert!(key_in_url(&parts(None, "/v1/pages?x=1&api_key=a%2Bb")));
        assert!(key_in_url(&parts(Some("OAuth abc"), "/v1/pages?API_KEY=")));
        assert!(!key_in_url(&parts(None, "/v1/pages?x=api_key")));
    }
}
