//! The portal: server-rendered pages (askama templates, htmx served by this binary) for
//! card holders (`/holder`), units (`/unit`), counter clerks (`/outlet`) and the
//! bureau's operators (`/operator`), on the same listener as the API.
//!
//! Every page works without JavaScript: links and forms are plain, every change is a
//! POST answered with a page or a redirect; htmx (`hx-boost`) only spares the reloads.
//! A part's session is server-side (`session.rs`): the cookie holds a random id, the
//! session acts with a token of the part's role, so the pages act through exactly the
//! same service calls, role checks and refusals as the API. Every form that changes state
//! carries the session's CSRF token (`csrf.rs`). Every change a clerk makes goes through
//! a confirmation page and ends on a printable slip.

mod claims;
mod csrf;
mod holder;
mod labels;
mod operator;
mod outlet;
mod session;
mod unit;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use yikatong_core::access::Role;
use yikatong_service::ServiceError;

use crate::AppState;

pub use labels::{card_state_label, fen_yuan, shanghai_time};
pub use session::Session;
use session::start_session;

const HTMX: &[u8] = include_bytes!("../../static/htmx.min.js");
const CSS: &str = include_str!("../../static/portal.css");
const SESSION_JS: &str = include_str!("../../static/session.js");

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

    /// The part a path of the portal belongs to.
    fn of_path(path: &str) -> Option<Part> {
        let first = path.trim_start_matches('/').split('/').next()?;
        [Part::Holder, Part::Unit, Part::Outlet, Part::Operator].into_iter().find(|p| p.path() == first)
    }
}

/// `path` if it is a page of `part` a sign-in may return to (never another site, never
/// the sign-in or sign-out itself).
fn safe_next(part: Part, path: &str) -> Option<String> {
    let inside = path.strip_prefix(&format!("/{}/", part.path()))?;
    let plain = path.chars().all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c)) && !path.contains("//") && !path.contains("..");
    (plain && !inside.is_empty() && !inside.starts_with("sign-")).then(|| path.to_string())
}

/// What the frame of every page shows: the part, the page's title, who is signed in.
pub struct Chrome {
    pub part: Option<Part>,
    pub title: String,
    pub signed_in: Option<String>,
    pub warnings: Vec<String>,
    /// The session's CSRF token, carried by every form that changes state (empty when
    /// signed out).
    pub csrf: String,
    /// Seconds until the session ends unless something is done (pages warn before).
    pub session_left: Option<i64>,
    /// How many seconds before the end the page warns.
    pub session_warn: i64,
}

impl Chrome {
    /// The frame of a page without a session.
    pub fn signed_out(part: Option<Part>, title: impl Into<String>) -> Chrome {
        Chrome { part, title: title.into(), signed_in: None, warnings: Vec::new(), csrf: String::new(), session_left: None, session_warn: 0 }
    }

    pub fn part_path(&self) -> &'static str {
        self.part.map_or("", Part::path)
    }

    pub fn part_title(&self) -> &'static str {
        self.part.map_or("社会保障卡服务", Part::title)
    }
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
    refusal_with(chrome, e.status(), e.code(), e.public_message(), back)
}

/// A refusal as a page from its status, code and message.
pub fn refusal_with(chrome: Chrome, status: u16, code: &str, message: String, back: impl Into<String>) -> Response {
    let body = RefusalPage { page: Chrome { title: "未能办理 Not done".into(), ..chrome }, code: code.into(), message, back: back.into() };
    (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), page(&body)).into_response()
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

/// The choice between collecting a new card at an outlet and having it mailed, the
/// mail address (the one on record when left empty) and how the fees are paid (R-DIST-1,
/// R-LOSS-5, 001).
pub fn delivery_inputs(holder: bool) -> Vec<Input> {
    let optional = |name: &str, label: &str| Input { name: name.into(), label: label.into(), kind: "text".into(), value: String::new(), required: false };
    let mut inputs = vec![
        Input {
            name: "delivery".into(),
            label: "领取方式 Delivery".into(),
            kind: "select:outlet=网点领取 at an outlet,mail=邮寄 by mail".into(),
            value: "outlet".into(),
            required: true,
        },
        optional("address", "邮寄地址（邮寄时填写，留空用登记地址）Mail address (empty: the one on record)"),
        optional("postcode", "邮政编码 Postcode"),
        Input {
            name: "payment_method".into(),
            label: "支付方式 Payment".into(),
            kind: "select:=按本渠道默认 the channel's default,wechat=微信 WeChat,alipay=支付宝 Alipay,unionpay_card=银联卡 UnionPay card".into(),
            value: String::new(),
            required: false,
        },
    ];
    if holder {
        inputs.push(Input {
            name: "via".into(),
            label: "办理渠道 Channel".into(),
            kind: "select:web=网上服务平台 web platform,app=12333 APP / 公众号 app".into(),
            value: "web".into(),
            required: false,
        });
    }
    inputs
}

/// A payment method as a slip shows it.
pub fn payment_label(method: Option<&str>) -> String {
    match method {
        None => "无需支付 nothing to pay".into(),
        Some("wechat") => "微信 WeChat".into(),
        Some("alipay") => "支付宝 Alipay".into(),
        Some("unionpay_card") => "银联卡 UnionPay card".into(),
        Some(other) => other.into(),
    }
}

/// The delivery fields of a portal form, as the service takes them.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DeliveryForm {
    pub delivery: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub payment_method: Option<String>,
    pub via: Option<String>,
}

impl DeliveryForm {
    pub fn request(&self) -> yikatong_service::DeliveryRequest {
        yikatong_service::DeliveryRequest {
            delivery: filled(self.delivery.clone()),
            address: filled(self.address.clone()).map(|address| yikatong_core::card::delivery::MailAddress {
                recipient: None,
                phone: None,
                address,
                postcode: filled(self.postcode.clone()),
            }),
            payment_method: filled(self.payment_method.clone()),
            via: filled(self.via.clone()),
        }
    }
}

/// A form field as the service takes it: trimmed, and absent when left empty.
pub fn filled(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
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
        page: Chrome::signed_out(None, "社会保障卡服务 Social security card services"),
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

async fn session_js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], SESSION_JS).into_response()
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
    /// The page to return to after signing in.
    pub next: String,
    /// For a holder who asked for a code: the ID number the code form is for.
    pub code_for: Option<String>,
}

/// The sign-in page of a part.
pub fn sign_in_page(part: Part, message: Option<String>, next: Option<&str>) -> Response {
    let status = if message.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let body = SignIn {
        page: Chrome::signed_out(Some(part), format!("{} · 登录 Sign in", part.title())),
        holder: part == Part::Holder,
        message,
        next: next.and_then(|n| safe_next(part, n)).unwrap_or_default(),
        code_for: None,
    };
    (status, page(&body)).into_response()
}

/// Signs in with a token for `part` (each part accepts only its own role).
pub async fn sign_in_with_token(state: &AppState, headers: &HeaderMap, part: Part, token: &str, next: Option<&str>) -> Response {
    match state.service.authenticate(token.trim()).await {
        Ok(who) if who.role == part.role() => start_session(state, headers, part, who.token_id, next).await,
        Ok(_) => sign_in_page(part, Some(format!("这个令牌不能用于{}（the token is not for this part）", part.title())), next),
        Err(e) => sign_in_page(part, Some(e.public_message()), next),
    }
}

/// Where a sign-in page returns to.
#[derive(serde::Deserialize)]
pub struct Next {
    pub next: Option<String>,
}

/// The portal's file uploads, streamed under their own limit like the API's; the CSRF
/// token is checked on them as on every form.
pub fn upload_routes(state: &AppState) -> Router<AppState> {
    unit::upload_routes().merge(operator::upload_routes()).route_layer(axum::middleware::from_fn_with_state(state.clone(), csrf::guard))
}

pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/static/htmx.min.js", get(htmx))
        .route("/static/portal.css", get(css))
        .route("/static/session.js", get(session_js))
        .merge(holder::routes())
        .merge(unit::routes())
        .merge(outlet::routes())
        .merge(claims::routes())
        .merge(operator::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), csrf::guard))
}

/// The form of a token sign-in.
#[derive(serde::Deserialize)]
pub struct TokenForm {
    pub token: String,
    pub next: Option<String>,
}

/// Sign-in and sign-out routes of a part that signs in with a token.
pub fn token_sign_in_routes<const P: u8>() -> Router<AppState> {
    let part = part_of(P);
    Router::new()
        .route(
            &format!("/{}/sign-in", part.path()),
            get(move |Query(n): Query<Next>| async move { sign_in_page(part, None, n.next.as_deref()) }).post(
                move |State(s): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<TokenForm>| async move {
                    sign_in_with_token(&s, &headers, part, &f.token, f.next.as_deref()).await
                },
            ),
        )
        .route(&format!("/{}/sign-out", part.path()), axum::routing::post(sign_out::<P>))
        .route(&format!("/{}/session", part.path()), get(session_left::<P>).post(keep_session::<P>))
}

/// How long the session has left, without counting as activity (pages ask every few
/// seconds, so a warning reflects the session as the service sees it).
pub(super) async fn session_left<const P: u8>(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let part = part_of(P);
    let left = match session::cookie_value(&headers, &part.cookie()) {
        Some(id) => s.service.peek_portal_session(part.path(), &id).await.map_or(0, |a| a.seconds_left(s.service.clock().now())),
        None => 0,
    };
    axum::Json(serde_json::json!({ "seconds_left": left })).into_response()
}

/// Keeps the session ("stay signed in"): a request like any other; answers the seconds left.
pub(super) async fn keep_session<const P: u8>(me: Session<P>) -> Response {
    axum::Json(serde_json::json!({ "seconds_left": me.seconds_left })).into_response()
}

/// Ends the session of a part.
pub(super) async fn sign_out<const P: u8>(State(s): State<AppState>, headers: HeaderMap, me: Session<P>) -> Response {
    session::end_session(&s, &headers, me.part(), &me.id).await
}
