//! `Idempotency-Key` on POST: the first request with a key runs and its answer is kept;
//! the same request again gets the same answer without running twice; the same key on a
//! different request is refused. Keys are per token, so callers cannot collide. The
//! key is claimed in the transaction of the request's work and its answer commits with
//! it (`yikatong_service::RequestClaim`); answers are kept for 24 hours by default
//! (`ykt serve --idempotency-hours`).

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sm3::{Digest, Sm3};
use yikatong_service::{EarlierRequest, KeptAnswer, RequestClaim, RequestKey};

use crate::error::problem_response;
use crate::extract::bearer;
use crate::{AppState, BODY_LIMIT};

pub const HEADER: &str = "idempotency-key";

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k.to_string(),
        _ => return problem_response(400, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters"),
    };
    let (mut parts, body) = req.into_parts();
    let mut hasher = Sm3::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.to_string().as_bytes());
    hasher.update(b"\n");
    // An upload is spooled to disk while hashed (up to its own limit, in bounded
    // memory); any other body is read whole under the JSON limit.
    let body = if crate::upload::is_upload_path(parts.uri.path()) {
        let spooled = match crate::upload::spool(body, &mut hasher).await {
            Ok(u) => u,
            Err(e) => return e.into_response(),
        };
        match crate::upload::body_of(spooled).await {
            Ok(b) => b,
            Err(e) => return e.into_response(),
        }
    } else {
        match to_bytes(body, BODY_LIMIT).await {
            Ok(b) => {
                hasher.update(&b);
                Body::from(b)
            }
            Err(_) => return problem_response(413, "body_too_large", "the request body is too large"),
        }
    };
    let principal = match bearer(&parts) {
        Some(token) => state.service.authenticate(&token).await.ok(),
        None => None,
    };
    let Some(principal) = principal else {
        // Not authenticated: let the endpoint refuse it the usual way.
        return next.run(Request::from_parts(parts, body)).await;
    };
    let fingerprint = hex::encode(hasher.finalize());
    let request_key = RequestKey { token_id: principal.token_id, key, fingerprint };
    match state.service.earlier_request(&request_key).await {
        Ok(None) => {}
        Ok(Some(EarlierRequest::Answered(first))) => return replay(first.status, first.body),
        Ok(Some(EarlierRequest::Different)) => return reused(),
        Ok(Some(EarlierRequest::Interrupted)) => return in_progress(),
        Err(e) => {
            tracing::error!(error = %e, "idempotency store failed");
            return problem_response(500, "internal_error", "the service could not complete the request; it has been logged");
        }
    }
    parts.extensions.insert(principal.clone());
    let (claim, res) = RequestClaim::scope(&state.service, request_key, next.run(Request::from_parts(parts, body))).await;
    if let Some(first) = claim.replayed() {
        return replay(first.status, first.body);
    }
    let (res_parts, res_body) = res.into_parts();
    let body = to_bytes(res_body, usize::MAX).await.unwrap_or_else(|_| Bytes::new());
    let answer = KeptAnswer { status: res_parts.status.as_u16(), body: body.to_vec() };
    // A server error is not kept: the claim is released and the work rolled back.
    match claim.finish(&state.service, answer.clone(), !res_parts.status.is_server_error()).await {
        Ok(sent) if sent == answer => Response::from_parts(res_parts, Body::from(body)),
        Ok(first) => replay(first.status, first.body),
        Err(e) => {
            tracing::error!(error = %e, "could not keep the idempotent answer");
            problem_response(500, "internal_error", "the service could not complete the request; nothing was kept, send it again")
        }
    }
}

fn replay(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    // The kept answer is JSON but for a file (a payment file's CSV).
    let json = body.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| matches!(b, b'{' | b'['));
    let content_type = match (status.is_success(), json) {
        (false, _) => "application/problem+json",
        (true, true) => "application/json",
        (true, false) => "text/csv; charset=utf-8",
    };
    let mut res = (status, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

fn reused() -> Response {
    problem_response(422, "idempotency_key_reused", "this Idempotency-Key was already used for a different request")
}

fn in_progress() -> Response {
    problem_response(409, "duplicate_request", "a request with this Idempotency-Key was interrupted before it was answered; send it again under a new key")
}
