//! Request extractors: the authenticated caller, and JSON bodies whose errors are
//! problem+json naming the field.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use yikatong_core::access::Principal;

use crate::{ApiError, AppState};

/// The caller, from `Authorization: Bearer <token>`.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Caller(p.clone()));
        }
        let token = bearer(parts).ok_or_else(|| ApiError::new(401, "unauthenticated", "this call needs `Authorization: Bearer <token>` (tokens come from `ykt admin token`)"))?;
        let principal = state.service.authenticate(&token).await?;
        parts.extensions.insert(principal.clone());
        Ok(Caller(principal))
    }
}

/// The `X-Query-Password` header a kiosk or the hotline sends with a read (R-PWD-1).
pub struct QueryPassword(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPassword {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryPassword(parts.headers.get("x-query-password").and_then(|v| v.to_str().ok()).map(str::to_string)))
    }
}

pub fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// A JSON body; a malformed one is refused with 400 `invalid_body` and serde's account
/// of what is wrong (field and position).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body an endpoint that once took none accepts: an empty body is `T::default()`
/// (today's clients send nothing); a present one is checked like [`JsonBody`].
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes, ApiError> {
    axum::body::Bytes::from_request(req, state).await.map_err(|e| ApiError::new(413, "body_too_large", e.body_text()))
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::new(400, "invalid_body", format!("the request body is not valid: {e}")))
}
