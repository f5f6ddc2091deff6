//! Errors as `application/problem+json` (RFC 9457) with a stable `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use yikatong_service::ServiceError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem kind (`urn:ykt:problem:<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, in words a clerk can read aloud.
    pub detail: String,
    /// Stable snake_case code clients match on.
    pub code: String,
}

/// Any error an endpoint returns.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub detail: String,
}

impl ApiError {
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        ApiError { status, code: code.into(), detail: detail.into() }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        if let ServiceError::Internal(detail) = &e {
            tracing::error!(error = %yikatong_core::identity::mask_ssns_in(detail), "internal error");
        }
        ApiError { status: e.status(), code: e.code().into(), detail: e.public_message() }
    }
}

pub fn problem_response(status: u16, code: &str, detail: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = Problem {
        kind: format!("urn:ykt:problem:{code}"),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: detail.into(),
        code: code.into(),
    };
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(self.status, &self.code, &self.detail)
    }
}

/// axum's own rejections of a path or query that does not parse, a method not served or
/// a body of the wrong type are plain text; an API client gets them as problem+json like
/// every other refusal (`invalid_parameter`, `method_not_allowed`, `unsupported_media_type`).
pub async fn plain_rejections_as_problems(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/v1/") || req.uri().path().starts_with("/fsi/");
    let res = next.run(req).await;
    let plain = res.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_none_or(|v| v.starts_with("text/plain"));
    let status = res.status();
    if !api || !plain || !status.is_client_error() {
        return res;
    }
    let code = match status.as_u16() {
        405 => "method_not_allowed",
        415 => "unsupported_media_type",
        404 => "not_found",
        413 => "body_too_large",
        _ => "invalid_parameter",
    };
    let body = axum::body::to_bytes(res.into_body(), 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let detail = if text.is_empty() { status.canonical_reason().unwrap_or("refused").to_string() } else { yikatong_core::identity::mask_ssns_in(&text) };
    problem_response(status.as_u16(), code, &detail)
}

/// A panic inside a handler becomes a logged 500, never a dropped connection.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err.downcast_ref::<String>().map(String::as_str).or_else(|| err.downcast_ref::<&str>().copied()).unwrap_or("unknown panic");
    tracing::error!(panic = %yikatong_core::identity::mask_ssns_in(what), "handler panicked");
    problem_response(500, "internal_error", "the service could not complete the request; it has been logged")
}
