//! The portal: server-rendered pages (askama templates, htmx served by this binary) for
//! card holders (`/holder`), units (`/unit`), counter clerks (`/outlet`) and the
//! bureau's operators (`/operator`), on the same listener as the API.
//!
//! Every page works without JavaScript: links and forms are plain, every change is a
//! POST answered with a page or a redirect; htmx (`hx-boost`) only spares the reloads.
//! A part's session is a cookie holding a bearer token (HttpOnly, SameSite=Strict,
//! scoped to the part's path), so the pages act through exactly the same service calls,
//! role checks and refusals as the API. Every change a clerk makes goes through a
//! confirmation page and ends on a printable slip.

mod holder;
mod labels;
mod operator;
mod outlet;
mod unit;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use yikatong_core::access::{Principal, Role};
use yikatong_service::ServiceError;

use crate::AppState;

pub use labels::{card_state_label, fen_yuan, shanghai_time};

const HTMX: &[u8] = include_bytes!("../../static/htmx.min.js");
const CSS: &str = include_str!("../../static/portal.css");

/// The four parts of the portal, each with its own sign-in and its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Holder,
    Unit,
    Outlet,
    Operator,
}

impl Part {
    pub fn path(self) -> &'static str {
        match self {
            Part::Holder => "holder",
            Part::Unit => "unit",
            Part::Outlet => "outlet",
            Part::Operator => "operator",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Part::Holder => "持卡人服务",
            Part::Unit => "单位服务",
            Part::Outlet => "网点柜台",
            Part::Operator => "经办管理",
        }
    }

    fn role(self) -> Role {
        match self {
            Part::Holder => Role::Holder,
            Part::Unit => Role::Unit,
            Part::Outlet => Role::Clerk,
            Part::Operator => Role::Operator,
        }
    }

    fn cookie(self) -> String {
        format!("ykt_{}", self.path())
    }
}

/// What the frame of every page shows: the part, the page's title, who is signed in.
pub struct Chrome {
    pub part: Option<Part>,
    pub title: String,
    pub signed_in: Option<String>,
    pub warnings: Vec<String>,
}

impl Chrome {
    pub fn part_path(&self) -> &'static str {
        self.part.map_or("", Part::path)
    }

    pub fn part_title(&self) -> &'static str {
        self.part.map_or("社会保障卡服务", Part::title)
    }
}

/// A signed-in caller of one part (taken from the part's cookie).
pub struct Session<const P: u8> {
    pub who: Principal,
    pub token: String,
    /// What an operator is warned of on every page (a calendar year to load, R-CAL-2).
    pub warnings: Vec<String>,
}

pub const HOLDER: u8 = 0;
pub const UNIT: u8 = 1;
pub const OUTLET: u8 = 2;
pub const OPERATOR: u8 = 3;

fn part_of(p: u8) -> Part {
    match p {
        HOLDER => Part::Holder,
        UNIT => Part::Unit,
        OUTLET => Part::Outlet,
        _ => Part::Operator,
    }
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
        Chrome { part: Some(part_of(P)), title: title.into(), signed_in: Some(signed_in), warnings: self.warnings.clone() }
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

impl<const P: u8> FromRequestParts<AppState> for Session<P> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let part = part_of(P);
        let sign_in = Redirect::to(&format!("/{}/sign-in", part.path())).into_response();
        let Some(token) = cookie_value(&parts.headers, &part.cookie()) else { return Err(sign_in) };
        match state.service.authenticate(&token).await {
            Ok(who) if who.role == part.role() => {
                let warnings = if who.role == yikatong_core::access::Role::Operator { state.service.operator_warnings() } else { Vec::new() };
                Ok(Session { who, token, warnings })
            }
            _ => Err(sign_in),
        }
    }
}

/// Renders a template as a page.
pub fn page(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "refusal.html")]
struct RefusalPage {
    page: Chrome,
    code: String,
    message: String,
    back: String,
}

/// A refusal as a page: the API's status, code and message, and a way back.
pub fn refusal(chrome: Chrome, e: ServiceError, back: impl Into<String>) -> Response {
    if let ServiceError::Internal(detail) = &e {
        tracing::error!(error = %yikatong_core::identity::mask_ssns_in(detail), "internal error");
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = RefusalPage { page: Chrome { title: "未能办理 Not done".into(), ..chrome }, code: e.code().into(), message: e.public_message(), back: back.into() };
    (status, page(&body)).into_response()
}

/// The generic confirmation step: what will be done, to what, and the button.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct Confirm {
    pub page: Chrome,
    pub question: String,
    pub rows: Vec<(String, String)>,
    pub action: String,
    /// What is filled in on the confirmation page itself.
    pub inputs: Vec<Input>,
    pub button: String,
    pub cancel: String,
}

impl Confirm {
    /// The confirmation of an operation on a card: the holder (masked), the card and
    /// its state, the question, what to fill in, and where the button posts.
    pub fn for_card(page: Chrome, card: &yikatong_service::CardView, question: &str, action: String, inputs: Vec<Input>, button: &str, cancel: &str) -> Confirm {
        Confirm {
            page,
            question: question.into(),
            rows: vec![
                ("持卡人 Holder".into(), card.person_ssn_masked.clone()),
                ("卡号 Card".into(), card.card_number.clone().unwrap_or_else(|| format!("#{}", card.id))),
                ("状态 State".into(), format!("{}（{}）", card_state_label(&card.state), card.state)),
            ],
            action,
            inputs,
            button: button.into(),
            cancel: cancel.into(),
        }
    }
}

/// The choice between collecting a new card at an outlet and having it mailed.
pub fn delivery_input() -> Input {
    Input { name: "delivery".into(), label: "领取方式 Delivery".into(), kind: "select:outlet=网点领取 at an outlet,mail=邮寄 by mail".into(), value: "outlet".into(), required: true }
}

pub struct Input {
    pub name: String,
    pub label: String,
    /// `text`, `password` or `select:a=甲,b=乙`.
    pub kind: String,
    pub value: String,
    pub required: bool,
}

impl Input {
    pub fn select_options(&self) -> Vec<(String, String)> {
        self.kind.strip_prefix("select:").map_or_else(Vec::new, |o| o.split(',').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    pub fn is_select(&self) -> bool {
        self.kind.starts_with("select:")
    }
}

/// The printable slip that ends a change (回执).
#[derive(Template)]
#[template(path = "slip.html")]
pub struct Slip {
    pub page: Chrome,
    pub heading: String,
    pub rows: Vec<(String, String)>,
    pub next: String,
    pub next_label: String,
}

#[derive(Template)]
#[template(path = "landing.html")]
struct Landing {
    page: Chrome,
    parts: Vec<(&'static str, &'static str, &'static str)>,
}

async fn landing() -> Response {
    page(&Landing {
        page: Chrome { part: None, title: "社会保障卡服务 Social security card services".into(), signed_in: None, warnings: Vec::new() },
        parts: vec![
            ("/holder", "持卡人服务", "我的卡、挂失、个人账户 — my cards, loss reports, personal account"),
            ("/unit", "单位服务", "批量申领、人员制卡情况 — batch applications, who has a card"),
            ("/outlet", "网点柜台", "柜台业务 — counter services"),
            ("/operator", "经办管理", "制卡批次、逾期、审计、政策 — batches, overdue cards, audit, policy"),
        ],
    })
}

async fn htmx() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=86400")], HTMX).into_response()
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], CSS).into_response()
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignIn {
    pub page: Chrome,
    pub holder: bool,
    pub message: Option<String>,
}

/// The sign-in page of a part.
pub fn sign_in_page(part: Part, message: Option<String>) -> Response {
    let status = if message.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let body = SignIn { page: Chrome { part: Some(part), title: format!("{} · 登录 Sign in", part.title()), signed_in: None, warnings: Vec::new() }, holder: part == Part::Holder, message };
    (status, page(&body)).into_response()
}

/// Signs in with a token for `part` (each part accepts only its own role).
pub async fn sign_in_with_token(state: &AppState, part: Part, token: &str) -> Response {
    match state.service.authenticate(token.trim()).await {
        Ok(who) if who.role == part.role() => start_session(part, token.trim()),
        Ok(_) => sign_in_page(part, Some(format!("这个令牌不能用于{}（the token is not for this part）", part.title()))),
        Err(e) => sign_in_page(part, Some(e.public_message())),
    }
}

/// Sets the part's cookie and goes to its first page.
pub fn start_session(part: Part, token: &str) -> Response {
    let mut res = Redirect::to(&format!("/{}", part.path())).into_response();
    let cookie = format!("{}={token}; Path=/{}; HttpOnly; SameSite=Strict", part.cookie(), part.path());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// Clears the part's cookie.
pub fn end_session(part: Part) -> Response {
    let mut res = Redirect::to(&format!("/{}/sign-in", part.path())).into_response();
    let cookie = format!("{}=; Path=/{}; HttpOnly; SameSite=Strict; Max-Age=0", part.cookie(), part.path());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/portal.css", get(css))
        .merge(holder::routes())
        .merge(unit::routes())
        .merge(outlet::routes())
        .merge(operator::routes())
}

/// The form of a token sign-in.
#[derive(serde::Deserialize)]
pub struct TokenForm {
    pub token: String,
}

/// Sign-in and sign-out routes of a part that signs in with a token.
pub fn token_sign_in_routes<const P: u8>() -> Router<AppState> {
    let part = part_of(P);
    Router::new()
        .route(
            &format!("/{}/sign-in", part.path()),
            get(move || async move { sign_in_page(part, None) }).post(move |State(s): State<AppState>, axum::Form(f): axum::Form<TokenForm>| async move { sign_in_with_token(&s, part, &f.token).await }),
        )
        .route(&format!("/{}/sign-out", part.path()), axum::routing::post(move || async move { end_session(part) }))
}
