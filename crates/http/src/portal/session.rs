//! A part's session: the cookie `ykt_{part}` holds a random session id (HttpOnly,
//! SameSite=Strict, scoped to the part's path, `Secure` when the request came over TLS),
//! resolved on every request by the service, which ends it after 15 minutes idle or 8
//! hours in all (see `yikatong_service::SessionRules`). A page without a session leads
//! to the sign-in, which comes back to the page afterwards (`next`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use yikatong_core::access::{Principal, Role};
use yikatong_service::ActiveSession;

use super::{Chrome, Part, part_of};
use crate::AppState;

/// A signed-in caller of one part (taken from the part's cookie).
pub struct Session<const P: u8> {
    pub who: Principal,
    /// The cookie's value (to end the session at sign-out).
    pub id: String,
    /// The token every state-changing form of this session carries.
    pub csrf: String,
    /// Seconds until the session ends unless the holder does something.
    pub seconds_left: i64,
    /// How many seconds before the end a page warns.
    pub warn_before: i64,
    /// What an operator is warned of on every page (a calendar year to load, R-CAL-2).
    pub warnings: Vec<String>,
}

impl<const P: u8> Session<P> {
    pub fn part(&self) -> Part {
        part_of(P)
    }

    /// The frame for a page of this session.
    pub fn chrome(&self, title: impl Into<String>) -> Chrome {
        let who = &self.who;
        let signed_in = match who.role {
            Role::Clerk => format!("柜员 clerk · 网点 {}", who.outlet.as_deref().unwrap_or("")),
            Role::Unit => format!("单位 unit {}", who.unit.as_deref().unwrap_or("")),
            Role::Operator => "经办 operator".to_string(),
            Role::Holder => "持卡人 holder".to_string(),
            other => other.as_str().to_string(),
        };
        Chrome {
            part: Some(part_of(P)),
            title: title.into(),
            signed_in: Some(signed_in),
            warnings: self.warnings.clone(),
            csrf: self.csrf.clone(),
            session_left: Some(self.seconds_left),
            session_warn: self.warn_before,
        }
    }
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

/// Where a page of `part` that needs a session sends the caller: the sign-in, then back
/// to `path` (when it is a page of the part).
pub fn to_sign_in(part: Part, path: &str) -> Response {
    let next = super::safe_next(part, path).map(|p| format!("?next={}", url_escape(&p))).unwrap_or_default();
    Redirect::to(&format!("/{}/sign-in{next}", part.path())).into_response()
}

fn url_escape(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

impl<const P: u8> FromRequestParts<AppState> for Session<P> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let part = part_of(P);
        let sign_in = || to_sign_in(part, parts.uri.path());
        let Some(id) = cookie_value(&parts.headers, &part.cookie()) else { return Err(sign_in()) };
        // The CSRF guard has resolved the session of a form already.
        let found = match parts.extensions.remove::<ActiveSession>() {
            Some(s) => Ok(s),
            None => state.service.portal_session(part.path(), &id).await,
        };
        match found {
            Ok(s) if s.who.role == part.role() => {
                let warnings = if s.who.role == Role::Operator { state.service.operator_warnings() } else { Vec::new() };
                let seconds_left = s.seconds_left(state.service.clock().now());
                let warn_before = state.service.session_rules().warn_before.num_seconds();
                Ok(Session { who: s.who, id, csrf: s.csrf, seconds_left, warn_before, warnings })
            }
            _ => Err(sign_in()),
        }
    }
}

/// Whether the request came over TLS (directly, or through a proxy that says so).
fn over_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn session_cookie(part: Part, value: &str, tls: bool, clear: bool) -> Option<HeaderValue> {
    let secure = if tls { "; Secure" } else { "" };
    let max_age = if clear { "; Max-Age=0" } else { "" };
    HeaderValue::from_str(&format!("{}={value}; Path=/{}; HttpOnly; SameSite=Strict{secure}{max_age}", part.cookie(), part.path())).ok()
}

/// Opens a session acting with token `token_id`, sets the part's cookie and goes to
/// `next` (or the part's first page).
pub async fn start_session(state: &AppState, headers: &HeaderMap, part: Part, token_id: i64, next: Option<&str>) -> Response {
    match state.service.open_portal_session(part.path(), token_id).await {
        Ok(opened) => {
            let to = next.and_then(|n| super::safe_next(part, n)).unwrap_or_else(|| format!("/{}", part.path()));
            let mut res = Redirect::to(&to).into_response();
            if let Some(v) = session_cookie(part, &opened.id, over_tls(headers), false) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => super::sign_in_page(part, Some(e.public_message()), None),
    }
}

/// Ends the session and clears the part's cookie.
pub async fn end_session(state: &AppState, headers: &HeaderMap, part: Part, id: &str) -> Response {
    state.service.close_portal_session(id).await;
    let mut res = Redirect::to(&format!("/{}/sign-in", part.path())).into_response();
    if let Some(v) = session_cookie(part, "", over_tls(headers), true) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}
