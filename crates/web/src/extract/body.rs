//! Request bodies: JSON or Rails-style forms (`incident[name]=…&incident[component_ids][]=…`),
//! as Statuspage accepts, into one typed value.
//!
//! Malformed JSON is a 400; well-formed JSON with a wrong type, a missing required field or an
//! unknown enum value is a 422 naming the field (`component.status: unknown variant ...`).
//! Unknown fields are ignored. Another content type is a 415. An empty body reads as `{}`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A request body parsed into `T`.
#[derive(Debug)]
pub struct ApiBody<T>(pub T);

/// Parses JSON: a syntax error is a 400; a body that is not an object, or whose fields have
/// the wrong types, is a 422 naming the field.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("Malformed JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::Unprocessable {
            field: None,
            message: "the body must be a JSON object, such as {\"component\": {\"name\": \"API\"}}"
                .to_owned(),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ApiError::Unprocessable {
            message: if path == "." {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            },
            field: (path != ".").then_some(path),
        }
    })
}

fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_qs::Config::new()
        .max_depth(4)
        .use_form_encoding(true)
        .deserialize_bytes(bytes)
        .map_err(|e| ApiError::Unprocessable {
            field: None,
            message: format!("Invalid form body: {e}"),
        })
}

/// Reads a request body whole, at most `limit` bytes (a larger one is a 413, refused before
/// a byte of it is read when its length is announced), with its media type in lower case
/// without parameters.
async fn read_whole<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: usize,
) -> Result<(Option<String>, Bytes), ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    let bytes = Bytes::from_request(req, state).await?;
    Ok((content_type, bytes))
}

impl<T, S> FromRequest<S> for ApiBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (content_type, bytes) = read_whole(req, state, crate::routes::BODY_LIMIT).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return parse_json(b"{}").map(ApiBody);
        }
        match content_type.as_deref() {
            Some("application/json") => parse_json(&bytes),
            Some(ct) if ct.ends_with("+json") => parse_json(&bytes),
            Some("application/x-www-form-urlencoded") => parse_form(&bytes),
            Some(other) => Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type {other} is not supported; send application/json or application/x-www-form-urlencoded"
            ))),
            None => Err(ApiError::UnsupportedMediaType(
                "send a Content-Type header: application/json or application/x-www-form-urlencoded".to_owned(),
            )),
        }
        .map(ApiBody)
    }
}

/// An upload read whole, with its media type (lower case, without parameters): for bodies
/// that are not a JSON object alone, such as a CSV file. At most
/// [`crate::routes::UPLOAD_LIMIT`] bytes (the route raises its `DefaultBodyLimit` to
/// match); larger is a 413, refused before a byte is read when the length is announced.
#[derive(Debug)]
pub struct Upload {
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

impl<S> FromRequest<S> for Upload
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (content_type, bytes) = read_whole(req, state, crate::routes::UPLOAD_LIMIT).await?;
        Ok(Upload {
            content_type,
            bytes,
        })
    }
}

/// A hook's body read whole: at most [`crate::api::hooks::HOOK_BODY_LIMIT`] bytes; larger
/// is a 413, refused before a byte is read when the length is announced (a sender then
/// gets the answer instead of a connection closed under its upload).
#[derive(Debug)]
pub struct HookBody(pub Bytes);

impl<S> FromRequest<S> for HookBody
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (_, bytes) = read_whole(req, state, crate::api::hooks::HOOK_BODY_LIMIT).await?;
        Ok(HookBody(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_domain::component::ComponentInput;
    use herald_domain::incident::IncidentInput;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Env {
        #[expect(dead_code, reason = "only its parsing is under test")]
        component: ComponentInput,
    }

    #[derive(Deserialize, Debug)]
    struct IncEnv {
        incident: IncidentInput,
    }

    #[test]
    fn syntax_errors_are_400_and_type_errors_422_with_the_field() {
        assert!(matches!(
            parse_json::<Env>(b"{\"component\": "),
            Err(ApiError::BadRequest(_))
        ));
        match parse_json::<Env>(br#"{"component": {"name": 5}}"#) {
            Err(ApiError::Unprocessable { field, message }) => {
                assert_eq!(field.as_deref(), Some("component.name"));
                assert!(
                    message.starts_with("component.name: invalid type"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        match parse_json::<Env>(br#"{"component": {"status": "on_fire"}}"#) {
            Err(ApiError::Unprocessable { message, .. }) => {
                assert!(message.contains("unknown variant"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<Env>(b"{}"),
            Err(ApiError::Unprocessable { .. })
        ));
        assert!(matches!(
            parse_json::<Env>(b"[]"),
            Err(ApiError::Unprocessable { .. })
        ));
        assert!(matches!(
            parse_json::<Env>(br#"{"component": {}} trailing"#),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn rails_style_forms_fill_nested_fields() {
        let f: IncEnv = parse_form(
            b"incident%5Bname%5D=DB+down&incident[component_ids][]=a&incident[component_ids][]=b&incident[components][a]=major_outage&incident[deliver_notifications]=false",
        )
        .unwrap();
        assert_eq!(f.incident.name.as_deref(), Some("DB down"));
        assert_eq!(f.incident.component_ids.unwrap(), ["a", "b"]);
        assert_eq!(f.incident.components.unwrap()["a"].as_str(), "major_outage");
        assert_eq!(f.incident.deliver_notifications, Some(false));
    }
}
