//! Path and query parameters, with rejections in the API's error shape.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query};
use serde::Deserialize;

use crate::error::ApiError;

/// Path parameters; a malformed path is a 404.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters; a malformed value is a 400 naming the parameter.
#[derive(Debug, FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::NotFound
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

/// Paging and search of v1 lists: `page` (1-based), `per_page` or `limit` (1–100; larger is
/// capped at 100, as Statuspage does), and `q`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page number, from 1.
    pub page: Option<i64>,
    /// Items per page (default and maximum 100).
    pub per_page: Option<i64>,
    /// Same as `per_page` (the incidents list's name for it).
    pub limit: Option<i64>,
    /// Only incidents whose name contains this text.
    pub q: Option<String>,
}

impl ListParams {
    /// `(limit, offset)`, or a 400 for a page or size below 1.
    pub fn window(&self) -> Result<(i64, i64), ApiError> {
        let page = self.page.unwrap_or(1);
        if page < 1 {
            return Err(ApiError::BadRequest(format!(
                "page must be 1 or more; got {page}"
            )));
        }
        let size = self.limit.or(self.per_page).unwrap_or(100);
        if size < 1 {
            return Err(ApiError::BadRequest(format!(
                "per_page must be 1 or more; got {size}"
            )));
        }
        let size = size.min(100);
        let offset = (page - 1)
            .checked_mul(size)
            .ok_or_else(|| ApiError::BadRequest("page is too large".to_owned()))?;
        Ok((size, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_bounded() {
        assert_eq!(ListParams::default().window().unwrap(), (100, 0));
        let p = ListParams {
            page: Some(3),
            per_page: Some(10),
            ..Default::default()
        };
        assert_eq!(p.window().unwrap(), (10, 20));
        let p = ListParams {
            per_page: Some(5000),
            ..Default::default()
        };
        assert_eq!(p.window().unwrap(), (100, 0));
        assert!(
            ListParams {
                page: Some(0),
                ..Default::default()
            }
            .window()
            .is_err()
        );
        assert!(
            ListParams {
                page: Some(-1),
                ..Default::default()
            }
            .window()
            .is_err()
        );
        assert!(
            ListParams {
                limit: Some(0),
                ..Default::default()
            }
            .window()
            .is_err()
        );
        assert!(
            ListParams {
                page: Some(i64::MAX),
                ..Default::default()
            }
            .window()
            .is_err()
        );
    }
}
