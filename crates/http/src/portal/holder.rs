//! `/holder`: the card holder's own pages — signed in with the ID number and a query
//! password of the holder's own (never the initial one), or a one-time code sent to the
//! phone on record, or a holder token: my cards and their states, reporting a pre-loss,
//! my personal account.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use yikatong_core::settlement::ClaimState;

use super::labels::{CardRow, fen_yuan, shanghai_time};
use super::{Chrome, Confirm, HOLDER, Part, Session, Slip, page, refusal};
use crate::AppState;

type Holder = Session<HOLDER>;

#[derive(Template)]
#[template(path = "holder_home.html")]
struct Home {
    page: Chrome,
    name: String,
    ssn_masked: String,
    cards: Vec<CardRow>,
}

#[derive(Template)]
#[template(path = "holder_account.html")]
struct Account {
    page: Chrome,
    balance: String,
    entries: Vec<(String, String, String, String)>,
}

#[derive(Deserialize)]
struct PasswordSignIn {
    ssn: Option<String>,
    password: Option<String>,
    /// A one-time code sent to the phone (instead of the password).
    code: Option<String>,
    token: Option<String>,
    next: Option<String>,
}

#[allow(clippy::ref_option)] // a form's optional field, as the form holds it
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

async fn sign_in(State(s): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<PasswordSignIn>) -> Response {
    let next = f.next.as_deref();
    if let Some(token) = given(&f.token) {
        return super::sign_in_with_token(&s, &headers, Part::Holder, token, next).await;
    }
    let ssn = given(&f.ssn).unwrap_or("");
    let signed = match given(&f.code) {
        Some(code) => s.service.holder_sign_in_with_code(ssn, code).await,
        None => s.service.holder_sign_in(ssn, f.password.as_deref().unwrap_or("")).await,
    };
    match signed {
        Ok(issued) => super::session::start_session(&s, &headers, Part::Holder, issued.id, next).await,
        Err(e) => {
            let message = format!("{}（{}）", e.public_message(), e.code());
            if given(&f.code).is_some() { code_page(ssn, message, true, next) } else { super::sign_in_page(Part::Holder, Some(message), next) }
        }
    }
}

#[derive(Deserialize)]
struct CodeRequest {
    ssn: String,
    next: Option<String>,
}

/// The sign-in page with the form for the code sent to `ssn`'s phone.
fn code_page(ssn: &str, message: String, refused: bool, next: Option<&str>) -> Response {
    let status = if refused { axum::http::StatusCode::UNAUTHORIZED } else { axum::http::StatusCode::OK };
    let body = super::SignIn {
        page: Chrome::signed_out(Some(Part::Holder), "持卡人服务 · 登录 Sign in"),
        holder: true,
        message: Some(message),
        next: next.and_then(|n| super::safe_next(Part::Holder, n)).unwrap_or_default(),
        code_for: Some(ssn.to_string()),
    };
    (status, page(&body)).into_response()
}

/// Sends a one-time code to the phone on record; the answer is the same whether or not
/// the ID number holds a card with a phone, so it tells no one who is insured.
async fn request_code(State(s): State<AppState>, axum::Form(f): axum::Form<CodeRequest>) -> Response {
    let ssn = f.ssn.trim();
    match s.service.request_sign_in_code(ssn).await {
        Ok(sent) => code_page(
            ssn,
            format!(
                "如该身份证号持有社保卡并登记了手机号，验证码已发送至该手机，{} 分钟内有效；短信中没有任何链接。未登记手机的，请先在自助终端、96102 热线或网点修改查询密码。 If this ID number holds a card with a phone on record, a code has been sent to it.",
                sent.valid_minutes
            ),
            false,
            f.next.as_deref(),
        ),
        Err(e) => super::sign_in_page(Part::Holder, Some(format!("{}（{}）", e.public_message(), e.code())), f.next.as_deref()),
    }
}

async fn home(State(s): State<AppState>, me: Holder) -> Response {
    let result = async {
        let ssn = s.service.own_ssn(&me.who).await?;
        s.service.get_person(&me.who, &ssn).await
    }
    .await;
    match result {
        Ok(p) => {
            page(&Home { page: me.chrome("我的社保卡 My cards"), name: p.name.clone(), ssn_masked: p.ssn_masked.clone(), cards: p.cards.iter().map(CardRow::of).collect() })
        }
        Err(e) => refusal(me.chrome("我的社保卡"), e, "/holder"),
    }
}

async fn account(State(s): State<AppState>, me: Holder) -> Response {
    let result = async {
        let ssn = s.service.own_ssn(&me.who).await?;
        s.service.account(&me.who, &ssn).await
    }
    .await;
    match result {
        Ok(a) => page(&Account {
            page: me.chrome("个人账户 Personal account"),
            balance: fen_yuan(a.balance_fen),
            entries: a.entries.iter().rev().map(|e| (shanghai_time(&e.at), e.kind.to_string(), fen_yuan(e.amount_fen), e.reason.clone())).collect(),
        }),
        Err(e) => refusal(me.chrome("个人账户"), e, "/holder"),
    }
}

async fn confirm_pre_loss(State(s): State<AppState>, me: Holder, Path(id): Path<i64>) -> Response {
    match s.service.get_card(&me.who, id).await {
        Ok(card) => page(&Confirm::for_card(
            me.chrome("预挂失 Report a pre-loss"),
            &card,
            "确认对这张卡预挂失吗？预挂失期间卡不能使用，到期自动解除。",
            format!("/holder/cards/{id}/pre-loss"),
            vec![],
            "确认预挂失 Report the pre-loss",
            "/holder",
        )),
        Err(e) => refusal(me.chrome("预挂失"), e, "/holder"),
    }
}

async fn pre_loss(State(s): State<AppState>, me: Holder, Path(id): Path<i64>) -> Response {
    match s.service.report_pre_loss(&me.who, id, None).await {
        Ok(card) => page(&Slip {
            page: me.chrome("预挂失回执 Pre-loss slip"),
            heading: "已预挂失 The card is pre-lost".into(),
            rows: vec![
                ("卡号 Card".into(), card.card_number.clone().unwrap_or_else(|| format!("#{id}"))),
                ("状态 State".into(), format!("{}（{}）", super::card_state_label(&card.state), card.state)),
                ("自动解除 Lifts by itself at".into(), card.pre_loss.as_ref().map(|p| shanghai_time(&p.until)).unwrap_or_default()),
                ("办理时间 At".into(), shanghai_time(&s.service.clock().now())),
            ],
            next: "/holder".into(),
            next_label: "返回我的社保卡 Back to my cards".into(),
        }),
        Err(e) => refusal(me.chrome("预挂失"), e, "/holder"),
    }
}

async fn confirm_replacement(State(s): State<AppState>, me: Holder, Path(id): Path<i64>) -> Response {
    match s.service.get_card(&me.who, id).await {
        Ok(card) => page(&Confirm::for_card(
            me.chrome("网上补卡 Online replacement"),
            &card,
            "确认申请补卡吗？原卡将正式挂失、永久停用；补卡费按规定收取，新卡制成后按所选方式领取。",
            format!("/holder/cards/{id}/replacement"),
            super::delivery_inputs(true),
            "确认申请补卡 Apply for the replacement",
            "/holder",
        )),
        Err(e) => refusal(me.chrome("网上补卡"), e, "/holder"),
    }
}

/// R-ONLINE-1: inside the region's monthly window and hours only; the refusal says when.
async fn replacement(State(s): State<AppState>, me: Holder, Path(id): Path<i64>, axum::Form(f): axum::Form<super::DeliveryForm>) -> Response {
    match s.service.online_replacement(&me.who, id, &f.request()).await {
        Ok(r) => page(&Slip {
            page: me.chrome("补卡回执 Replacement slip"),
            heading: "补卡申请已受理 The replacement is applied for".into(),
            rows: vec![
                ("新卡申请 New card".into(), format!("#{}", r.replacement_card_id)),
                ("补卡费 Fee".into(), format!("{} 元", fen_yuan(r.fee_fen))),
                ("邮寄费 Delivery fee".into(), format!("{} 元", fen_yuan(r.delivery_fee_fen))),
                ("支付方式 Paid by".into(), super::payment_label(r.payment_method.as_deref())),
                ("领卡日期 Ready on".into(), yikatong_service::ready_on_text(r.ready_on, r.ready_pending_year)),
                ("临时凭证 Certificate".into(), r.certificate.number.clone()),
            ],
            next: format!("/holder/certificates/{}.pdf", r.certificate.number),
            next_label: "下载临时凭证 PDF Download the certificate".into(),
        }),
        Err(e) => refusal(me.chrome("网上补卡"), e, "/holder"),
    }
}

#[derive(Template)]
#[template(path = "holder_password.html")]
struct PasswordPage {
    page: Chrome,
    id: i64,
    number: String,
}

async fn password_form(State(s): State<AppState>, me: Holder, Path(id): Path<i64>) -> Response {
    match s.service.get_card(&me.who, id).await {
        Ok(card) => page(&PasswordPage { page: me.chrome("修改查询密码 Change the query password"), id, number: card.card_number.unwrap_or_else(|| format!("#{id}")) }),
        Err(e) => refusal(me.chrome("修改查询密码"), e, "/holder"),
    }
}

#[derive(Deserialize)]
struct PasswordChange {
    old: String,
    new: String,
}

async fn change_password(State(s): State<AppState>, me: Holder, Path(id): Path<i64>, axum::Form(f): axum::Form<PasswordChange>) -> Response {
    match s.service.change_password(&me.who, id, &f.old, &f.new).await {
        Ok(()) => page(&Slip {
            page: me.chrome("修改查询密码 Change the query password"),
            heading: "查询密码已修改 The query password is changed".into(),
            rows: vec![("办理时间 At".into(), shanghai_time(&s.service.clock().now()))],
            next: "/holder".into(),
            next_label: "返回我的社保卡 Back to my cards".into(),
        }),
        Err(e) => refusal(me.chrome("修改查询密码"), e, format!("/holder/cards/{id}/password")),
    }
}

/// R-PAY-2: the family members the holder's mutual-aid account pays for, and the form
/// that binds one (the member's name and ID number confirm who it is).
#[derive(Template)]
#[template(path = "holder_family.html")]
struct FamilyPage {
    page: Chrome,
    members: Vec<(String, String, String)>,
}

async fn family(State(s): State<AppState>, me: Holder) -> Response {
    let result = async {
        let ssn = s.service.own_ssn(&me.who).await?;
        s.service.family_members(&me.who, &ssn).await
    }
    .await;
    match result {
        Ok(list) => page(&FamilyPage {
            page: me.chrome("家庭共济 Family mutual aid"),
            members: list.into_iter().map(|m| (m.member_name, m.member_ssn_masked, shanghai_time(&m.bound_at))).collect(),
        }),
        Err(e) => refusal(me.chrome("家庭共济"), e, "/holder"),
    }
}

#[derive(Deserialize)]
struct FamilyForm {
    member_ssn: String,
    member_name: String,
}

async fn bind_family(State(s): State<AppState>, me: Holder, axum::Form(f): axum::Form<FamilyForm>) -> Response {
    let result = async {
        let ssn = s.service.own_ssn(&me.who).await?;
        s.service.bind_family_member(&me.who, &ssn, &yikatong_service::batch::family::NewFamilyMember { member_ssn: f.member_ssn, member_name: f.member_name }).await
    }
    .await;
    match result {
        Ok(m) => page(&Slip {
            page: me.chrome("家庭共济 Family mutual aid"),
            heading: "已绑定家庭成员 The family member is bound".into(),
            rows: vec![("成员 Member".into(), format!("{} {}", m.member_name, m.member_ssn_masked)), ("办理时间 At".into(), shanghai_time(&m.bound_at))],
            next: "/holder/family".into(),
            next_label: "返回家庭共济 Back to family mutual aid".into(),
        }),
        Err(e) => refusal(me.chrome("家庭共济"), e, "/holder/family"),
    }
}

/// The certificate as a PDF, with the QR code a hospital scans to verify it.
async fn certificate_pdf(State(s): State<AppState>, me: Holder, Path(file): Path<String>) -> Response {
    let number = file.strip_suffix(".pdf").unwrap_or(&file);
    match s.service.certificate_pdf(&me.who, number).await {
        Ok(pdf) => {
            ([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, format!("inline; filename=\"certificate-{number}.pdf\""))], pdf).into_response()
        }
        Err(e) => refusal(me.chrome("临时凭证"), e, "/holder"),
    }
}

#[derive(Template)]
#[template(path = "holder_settlements.html")]
struct Settlements {
    page: Chrome,
    /// Date, kind, state, total, fund, account, cash, own share (自付一+自付二+自费).
    rows: Vec<[String; 8]>,
}

/// The fund payment with the fund behind each part (R-SET-3), e.g. `1445.00 (大额医疗费用互助资金
/// 1190.00 · 退休人员统一补充医疗保险 255.00)`; one fund alone is not spelled out.
fn fund_with_parts(r: &yikatong_core::settlement::Receipt, insutype: &str) -> String {
    let parts = r.fund_payments();
    let total = fen_yuan(r.fund_pay_sumamt.0);
    if parts.len() < 2 {
        return total;
    }
    let named: Vec<String> = parts.iter().map(|p| format!("{} {}", p.fund.name_zh(insutype), fen_yuan(p.amount.0))).collect();
    format!("{total} ({})", named.join(" · "))
}

async fn settlements(State(s): State<AppState>, me: Holder) -> Response {
    let result = async {
        let ssn = s.service.own_ssn(&me.who).await?;
        s.service.settlements_of(&me.who, &ssn).await
    }
    .await;
    match result {
        Ok(list) => page(&Settlements {
            page: me.chrome("我的结算 My settlements"),
            rows: list
                .iter()
                .map(|x| {
                    let r = &x.receipt;
                    [
                        shanghai_time(&x.settled_at),
                        if x.kind == yikatong_core::settlement::SettlementKind::Manual { "手工报销 manual" } else { "联网结算 real-time" }.to_string(),
                        if x.state == yikatong_core::settlement::SettlementState::Reversed { "已冲正 reversed" } else { "已结算 settled" }.to_string(),
                        fen_yuan(r.total.0),
                        fund_with_parts(r, x.person.category.insutype()),
                        fen_yuan(r.acct_pay.0),
                        fen_yuan(r.psn_cash_pay.0),
                        format!("{} / {} / {}", fen_yuan(r.self_pay_1.0), fen_yuan(r.preselfpay.0), fen_yuan(r.fulamt_ownpay.0 + r.overlmt_selfpay.0)),
                    ]
                })
                .collect(),
        }),
        Err(e) => refusal(me.chrome("我的结算"), e, "/holder"),
    }
}

#[derive(Template)]
#[template(path = "holder_reimbursements.html")]
struct Reimbursements {
    page: Chrome,
    /// Submitted, amount, state, due on, note (the bank's reason of a failure).
    rows: Vec<[String; 5]>,
}

/// The words a holder reads for a claim's state.
fn claim_state(state: ClaimState) -> &'static str {
    match state {
        ClaimState::Submitted => "已受理 submitted",
        ClaimState::Approved => "已审核 approved",
        ClaimState::Sent => "支付中 being paid",
        ClaimState::Paid => "已到账 paid",
        ClaimState::Failed => "支付失败 payment failed",
    }
}

/// R-SET-6: the holder's manual reimbursement claims, each with its state and the day
/// it is due.
async fn reimbursements(State(s): State<AppState>, me: Holder) -> Response {
    let result = async {
        let ssn = s.service.own_ssn(&me.who).await?;
        s.service.reimbursements_of(&me.who, &ssn).await
    }
    .await;
    match result {
        Ok(list) => page(&Reimbursements {
            page: me.chrome("手工报销 My reimbursements"),
            rows: list
                .into_iter()
                .map(|c| {
                    [
                        shanghai_time(&c.submitted_at),
                        fen_yuan(c.amount_fen),
                        claim_state(c.state).to_string(),
                        c.due_on.map_or_else(|| "—".to_string(), |d| d.to_string()),
                        c.failure_reason.unwrap_or_default(),
                    ]
                })
                .collect(),
        }),
        Err(e) => refusal(me.chrome("手工报销"), e, "/holder"),
    }
}

#[derive(Template)]
#[template(path = "holder_premiums.html")]
struct Premiums {
    page: Chrome,
    payments: Vec<(String, String, String, bool)>,
    arrears: Vec<(String, String)>,
}

/// R-PAY-1, R-PAY-2: payments and arrears, each shown from the day the region's file
/// says a holder may see it.
/// 医保电子凭证: the voucher's QR code, its text and when it expires (R-SET-11).
#[derive(Template)]
#[template(path = "holder_voucher.html")]
struct VoucherPage {
    page: Chrome,
    svg: String,
    code: String,
    expires: String,
}

async fn confirm_voucher(me: Holder) -> Response {
    page(&Confirm {
        page: me.chrome("医保电子凭证 Electronic voucher"),
        question: "生成一次就诊用的医保电子凭证二维码吗？几分钟内有效，只能用一次。Show a QR code for one visit? It is valid for a few minutes and serves once.".into(),
        rows: vec![],
        action: "/holder/voucher".into(),
        inputs: vec![],
        button: "生成二维码 Show the QR code".into(),
        cancel: "/holder".into(),
    })
}

async fn voucher(State(s): State<AppState>, me: Holder) -> Response {
    let result = async {
        let ssn = s.service.own_ssn(&me.who).await?;
        s.service.issue_voucher(&me.who, &ssn).await
    }
    .await;
    match result {
        Ok(v) => {
            page(&VoucherPage {
                page: me.chrome("医保电子凭证 Electronic voucher"), svg: super::labels::qr_svg(&v.code), code: v.code, expires: shanghai_time(&v.expires_at)
            })
        }
        Err(e) => refusal(me.chrome("医保电子凭证"), e, "/holder"),
    }
}

async fn premiums(State(s): State<AppState>, me: Holder) -> Response {
    let result = async {
        let ssn = s.service.own_ssn(&me.who).await?;
        s.service.premiums(&me.who, &ssn).await
    }
    .await;
    match result {
        Ok(p) => page(&Premiums {
            page: me.chrome("居民医保缴费 My premiums"),
            payments: p.payments.into_iter().map(|x| (x.period, fen_yuan(x.amount_fen), x.channel, x.paid_by_someone_else)).collect(),
            arrears: p.arrears.into_iter().map(|a| (a.period, a.reason.unwrap_or_default())).collect(),
        }),
        Err(e) => refusal(me.chrome("居民医保缴费"), e, "/holder"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/holder", get(home))
        .route("/holder/sign-in", get(|Query(n): Query<super::Next>| async move { super::sign_in_page(Part::Holder, None, n.next.as_deref()) }).post(sign_in))
        .route("/holder/sign-in/code", axum::routing::post(request_code))
        .route("/holder/sign-out", axum::routing::post(super::sign_out::<HOLDER>))
        .route("/holder/session", get(super::session_left::<HOLDER>).post(super::keep_session::<HOLDER>))
        .route("/holder/account", get(account))
        .route("/holder/settlements", get(settlements))
        .route("/holder/reimbursements", get(reimbursements))
        .route("/holder/premiums", get(premiums))
        .route("/holder/family", get(family).post(bind_family))
        .route("/holder/voucher", get(confirm_voucher).post(voucher))
        .route("/holder/cards/{id}/pre-loss", get(confirm_pre_loss).post(pre_loss))
        .route("/holder/cards/{id}/replacement", get(confirm_replacement).post(replacement))
        .route("/holder/cards/{id}/password", get(password_form).post(change_password))
        .route("/holder/certificates/{file}", get(certificate_pdf))
}
