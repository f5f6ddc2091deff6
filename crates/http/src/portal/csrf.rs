//! Cross-site request forgery: every form of a session that changes state carries the
//! session's token in a hidden `csrf` field (the first field of a multipart form), and a
//! POST without the right one is refused with `403 csrf_token_invalid` before its handler
//! runs. The sign-in forms take none (there is no session yet). The session found here
//! is handed to the page's extractor, so it is read once per request.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

use yikatong_service::secrets::constant_time_eq;

use super::session::cookie_value;
use super::{Chrome, Part};
use crate::AppState;

/// The largest urlencoded form read to find the token (a form of the portal is small).
const FORM_LIMIT: usize = 1024 * 1024;
/// How far into a multipart body the token (its first field) must be.
const MULTIPART_HEAD_LIMIT: usize = 16 * 1024;

/// Whether `path` is a sign-in form of a part (which takes no token).
fn is_sign_in(path: &str) -> bool {
    path.split('/').nth(2).is_some_and(|s| s == "sign-in")
}

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let Some(part) = Part::of_path(&path) else { return next.run(req).await };
    if req.method() != Method::POST || is_sign_in(&path) {
        return next.run(req).await;
    }
    // Without a session in force the page's extractor leads to the sign-in.
    let Some(id) = cookie_value(req.headers(), &part.cookie()) else { return next.run(req).await };
    let Ok(session) = state.service.portal_session(part.path(), &id).await else { return next.run(req).await };
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (mut parts, body) = req.into_parts();
    let found = match multipart_boundary(&content_type) {
        Some(boundary) => multipart_token(&boundary, body).await,
        None => match axum::body::to_bytes(body, FORM_LIMIT).await {
            Ok(bytes) => Some((form_token(&bytes), Body::from(bytes))),
            Err(_) => None,
        },
    };
    match found {
        Some((Some(given), body)) if constant_time_eq(given.as_bytes(), session.csrf.as_bytes()) => {
            parts.extensions.insert(session);
            next.run(Request::from_parts(parts, body)).await
        }
        _ => refused(part),
    }
}

fn refused(part: Part) -> Response {
    let chrome = Chrome::signed_out(Some(part), "未能办理 Not done");
    let e = yikatong_service::ServiceError::from(yikatong_core::Refusal::forbidden(
        "csrf_token_invalid",
        "this form does not carry this session's token (it is from another site or an older session); open the page again and resend",
    ));
    super::refusal(chrome, e, format!("/{}", part.path()))
}

/// The `csrf` field of an urlencoded form (the token is hex: no escapes to undo).
fn form_token(body: &[u8]) -> Option<String> {
    std::str::from_utf8(body).ok()?.split('&').find_map(|pair| pair.strip_prefix("csrf=").map(str::to_string))
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    let rest = content_type.strip_prefix("multipart/form-data")?;
    rest.split(';').find_map(|p| p.trim().strip_prefix("boundary=")).map(|b| b.trim_matches('"').to_string())
}

/// The value of a multipart body's first field when it is `csrf` (`Some(None)`: the
/// first field is another one), or `None` while the first field is not complete.
#[allow(clippy::option_option)] // three cases: not complete yet, another field, the token
fn first_field_token(head: &[u8], boundary: &str) -> Option<Option<String>> {
    let text = String::from_utf8_lossy(head);
    let start = text.find(&format!("--{boundary}\r\n"))? + boundary.len() + 4;
    let headers_end = start + text[start..].find("\r\n\r\n")?;
    let value_start = headers_end + 4;
    let value_end = value_start + text[value_start..].find(&format!("\r\n--{boundary}"))?;
    let named_csrf = text[start..headers_end].lines().any(|l| l.to_ascii_lowercase().starts_with("content-disposition:") && l.contains("name=\"csrf\""));
    Some(named_csrf.then(|| text[value_start..value_end].trim().to_string()))
}

/// Reads a multipart body until its first field is complete, and gives back that field's
/// token with the whole body still to be read (the file is streamed, never held).
async fn multipart_token(boundary: &str, body: Body) -> Option<(Option<String>, Body)> {
    let mut stream = body.into_data_stream();
    let mut head: Vec<u8> = Vec::new();
    let token = loop {
        if let Some(t) = first_field_token(&head, boundary) {
            break t;
        }
        if head.len() > MULTIPART_HEAD_LIMIT {
            break None;
        }
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            _ => break None,
        }
    };
    let rest = futures_util::stream::once(async move { Ok::<Bytes, axum::Error>(Bytes::from(head)) }).chain(stream);
    Some((token, Body::from_stream(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_in_a_form_and_in_a_multipart_body_first_field() {
        assert_eq!(form_token(b"a=1&csrf=abc123&b=2").as_deref(), Some("abc123"));
        assert_eq!(form_token(b"a=1"), None);
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nssn\r\n--XyZ--\r\n";
        assert_eq!(first_field_token(body, "XyZ"), Some(Some("abc123".into())));
        assert_eq!(first_field_token(&body[..30], "XyZ"), None, "incomplete");
        let other = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--XyZ--";
        assert_eq!(first_field_token(other, "XyZ"), Some(None));
        assert_eq!(multipart_boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(), Some("XyZ"));
        assert!(is_sign_in("/holder/sign-in") && is_sign_in("/holder/sign-in/code") && !is_sign_in("/holder/sign-out"));
    }
}
