//! `/outlet`: the counter clerk's pages — find a person by ID number or card number
//! (shown masked), then the outlet operations of SPEC §6, each through a confirmation
//! page and ending on a printable slip; the temporary certificate printed from its own
//! page.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use yikatong_service::{ExchangeRequest, FormalLossRequest, HandOverRequest};

use super::labels::{CardRow, fen_yuan, shanghai_time};
use super::{Chrome, Confirm, Input, OUTLET, Session, Slip, delivery_inputs, filled, page, refusal};
use crate::AppState;

type Clerk = Session<OUTLET>;

#[derive(Template)]
#[template(path = "outlet_home.html")]
struct Home {
    page: Chrome,
    query: String,
    person: Option<Found>,
    /// Why a visit is reimbursed by hand, for the claim form.
    reasons: &'static [&'static str],
}

struct Found {
    name: String,
    ssn_masked: String,
    unit: String,
    cards: Vec<CardRow>,
    /// R-SET-6: the person's reimbursement claims (found by ID number), newest first.
    claims: Vec<ClaimRow>,
}

struct ClaimRow {
    id: String,
    submitted: String,
    amount: String,
    state: String,
    due_on: String,
    approvable: bool,
}

impl ClaimRow {
    fn of(c: yikatong_service::ReimbursementView) -> Self {
        ClaimRow {
            approvable: c.state == yikatong_core::settlement::ClaimState::Submitted,
            submitted: shanghai_time(&c.submitted_at),
            amount: fen_yuan(c.amount_fen),
            due_on: c.due_on.map_or_else(|| "—".into(), |d| d.to_string()),
            state: c.state.to_string(),
            id: c.id,
        }
    }
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct Certificate {
    page: Chrome,
    c: yikatong_service::CertificateView,
    issued_on: String,
    ready_on: String,
    /// R-CERT-1: the visits registered on it, each claimable once.
    visits: Vec<CertificateVisit>,
}

struct CertificateVisit {
    mdtrt_id: String,
    institution: String,
    begntime: String,
    total: String,
    unclaimed: String,
    /// The claim that took its lines, or what may be claimed.
    claim: Option<String>,
    claimable: bool,
}

impl CertificateVisit {
    fn of(v: yikatong_service::CertificateVisitView) -> Self {
        CertificateVisit {
            claimable: v.claim_id.is_none() && v.unclaimed_fen > 0 && v.state == yikatong_core::settlement::VisitState::Registered,
            total: fen_yuan(v.total_fen),
            unclaimed: fen_yuan(v.unclaimed_fen),
            claim: v.claim_id,
            mdtrt_id: v.mdtrt_id,
            institution: v.institution,
            begntime: v.begntime,
        }
    }
}

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

async fn home(State(s): State<AppState>, me: Clerk, Query(search): Query<Search>) -> Response {
    let query = search.q.unwrap_or_default();
    if query.trim().is_empty() {
        return page(&Home { page: me.chrome("柜台业务 Counter"), query, person: None, reasons: &yikatong_service::MANUAL_REASONS });
    }
    // The page never writes an ID number out in full, not even the one typed in.
    let shown = if query.trim().chars().count() == 18 { yikatong_core::identity::mask_ssn(query.trim()) } else { query.clone() };
    let found = async {
        let p = s.service.find_person(&me.who, &query).await?;
        // Claims are found by the ID number the clerk typed, never written out.
        let claims = if query.trim().chars().count() == 18 { s.service.reimbursements_of(&me.who, query.trim()).await? } else { Vec::new() };
        Ok::<_, yikatong_service::ServiceError>((p, claims))
    }
    .await;
    match found {
        Ok((p, claims)) => page(&Home {
            page: me.chrome("柜台业务 Counter"),
            query: shown,
            person: Some(Found {
                name: p.name.clone(),
                ssn_masked: p.ssn_masked.clone(),
                unit: p.unit_code.clone().unwrap_or_else(|| "—".into()),
                cards: p.cards.iter().map(CardRow::of).collect(),
                claims: claims.into_iter().map(ClaimRow::of).collect(),
            }),
            reasons: &yikatong_service::MANUAL_REASONS,
        }),
        Err(e) => refusal(me.chrome("柜台业务"), e, "/outlet"),
    }
}

/// A counter operation on a card: what the confirmation page asks and what the clerk
/// fills in there.
struct Operation {
    question: &'static str,
    button: &'static str,
    inputs: Vec<Input>,
}

fn text_input(name: &str, label: &str, kind: &str, required: bool) -> Input {
    Input { name: name.into(), label: label.into(), kind: kind.into(), value: String::new(), required }
}

/// The operations of SPEC §6 a clerk does on a card, by their path.
fn operation(op: &str) -> Option<Operation> {
    let (question, button, inputs) = match op {
        "pre-loss" => ("确认对这张卡预挂失吗？到期自动解除。", "确认预挂失 Report the pre-loss", vec![]),
        "revoke-pre-loss" => ("确认撤销这张卡的预挂失吗？", "确认撤销 Revoke the pre-loss", vec![]),
        "formal-loss" => (
            "确认正式挂失并补卡吗？原卡将永久停用，收取补卡费并出具临时凭证。",
            "确认正式挂失并补卡 Report the loss and replace",
            delivery_inputs(false)
                .into_iter()
                .chain([
                    text_input("proxy_ssn", "代办人身份证号（本人办理留空）Proxy's ID number", "text", false),
                    Input {
                        name: "immediate".into(),
                        label: "即时补卡 Made on the spot".into(),
                        kind: "select:no=否，工厂制卡 no, at the factory,yes=是，本网点即时制卡 yes, here and now".into(),
                        value: "no".into(),
                        required: false,
                    },
                    text_input("card_number", "即时制卡卡号 Card number (on the spot)", "text", false),
                    text_input("card_identification_code", "即时制卡识别码 Card identification code (on the spot)", "text", false),
                ])
                .collect(),
        ),
        "exchange" => (
            "确认换卡吗？新卡启用前原卡照常使用。",
            "确认换卡 Exchange the card",
            std::iter::once(text_input("reason", "换卡原因 Reason", "text", true)).chain(delivery_inputs(false)).collect(),
        ),
        "hand-over" => (
            "核验身份证件后发卡。Check the ID card, then hand the card over.",
            "确认发卡 Hand the card over",
            vec![
                text_input("holder_ssn", "持卡人身份证号（读卡或录入）Holder's ID number as read", "text", false),
                text_input("proxy_ssn", "代领人身份证号（本人领取留空）Proxy's ID number", "text", false),
                text_input("certificate_number", "临时凭证编号（补换卡）Certificate number", "text", false),
            ],
        ),
        "password-reset" => {
            ("确认重置查询密码吗？需核验本人身份证件。", "确认重置 Reset the password", vec![text_input("new_password", "新密码（6位数字）New password", "password", true)])
        }
        "synchronisation" => ("确认将卡面信息与参保记录同步吗？", "确认同步 Synchronise", vec![]),
        "activation" => (
            "核验身份证件后启用社保功能。新卡启用后旧卡停用；请持卡人选择旧卡银行账户保留或注销。Check the ID card, then start the card; the card it replaces stops. Ask the holder whether the old card's bank account is kept or closed.",
            "确认启用 Start the card",
            vec![Input {
                name: "old_card_account".into(),
                label: "旧卡银行账户 The old card's bank account".into(),
                kind: "select:keep=保留 keep,close=注销 close".into(),
                value: "keep".into(),
                required: true,
            }],
        ),
        _ => return None,
    };
    Some(Operation { question, button, inputs })
}

async fn confirm(State(s): State<AppState>, me: Clerk, Path((id, op)): Path<(i64, String)>) -> Response {
    let Some(operation) = operation(&op) else { return refusal(me.chrome("柜台业务"), unknown_operation(&op), "/outlet") };
    let card = match s.service.get_card(&me.who, id).await {
        Ok(c) => c,
        Err(e) => return refusal(me.chrome("柜台业务"), e, "/outlet"),
    };
    page(&Confirm::for_card(me.chrome("确认 Confirm"), &card, operation.question, format!("/outlet/cards/{id}/{op}"), operation.inputs, operation.button, "/outlet"))
}

fn unknown_operation(op: &str) -> yikatong_service::ServiceError {
    yikatong_core::Refusal::not_found("unknown_operation", format!("there is no counter operation {op:?}")).into()
}

#[derive(Deserialize)]
struct OperationForm {
    immediate: Option<String>,
    card_number: Option<String>,
    card_identification_code: Option<String>,
    delivery: Option<String>,
    address: Option<String>,
    postcode: Option<String>,
    payment_method: Option<String>,
    proxy_ssn: Option<String>,
    holder_ssn: Option<String>,
    certificate_number: Option<String>,
    reason: Option<String>,
    new_password: Option<String>,
    old_card_account: Option<String>,
}

impl OperationForm {
    fn delivery_request(&self) -> yikatong_service::DeliveryRequest {
        super::DeliveryForm {
            delivery: self.delivery.clone(),
            address: self.address.clone(),
            postcode: self.postcode.clone(),
            payment_method: self.payment_method.clone(),
            via: None,
        }
        .request()
    }
}

type Rows = Vec<(String, String)>;

fn replacement_rows(service: &str, old: &str, r: &yikatong_service::ReplacementView) -> Rows {
    vec![
        ("业务 Service".into(), service.into()),
        ("原卡 Old card".into(), old.into()),
        ("新卡申请 New card".into(), format!("#{}", r.replacement_card_id)),
        ("补换卡费 Fee".into(), format!("{} 元", fen_yuan(r.fee_fen))),
        ("邮寄费 Delivery fee".into(), format!("{} 元", fen_yuan(r.delivery_fee_fen))),
        ("支付方式 Paid by".into(), super::payment_label(r.payment_method.as_deref())),
        ("领卡日期 Ready on".into(), yikatong_service::ready_on_text(r.ready_on, r.ready_pending_year)),
        ("临时凭证 Certificate".into(), r.certificate.number.clone()),
    ]
}

async fn perform(State(s): State<AppState>, me: Clerk, Path((id, op)): Path<(i64, String)>, axum::Form(f): axum::Form<OperationForm>) -> Response {
    let now = shanghai_time(&s.service.clock().now());
    let old = match s.service.get_card(&me.who, id).await {
        Ok(c) => c.card_number.unwrap_or_else(|| format!("#{id}")),
        Err(e) => return refusal(me.chrome("柜台业务"), e, "/outlet"),
    };
    let card_rows = |service: &str, c: &yikatong_service::CardView| -> Rows {
        vec![
            ("业务 Service".into(), service.into()),
            ("卡号 Card".into(), c.card_number.clone().unwrap_or_else(|| old.clone())),
            ("状态 State".into(), format!("{}（{}）", super::card_state_label(&c.state), c.state)),
        ]
    };
    let svc = &s.service;
    let outcome: Result<Rows, yikatong_service::ServiceError> = match op.as_str() {
        "pre-loss" => svc.report_pre_loss(&me.who, id, None).await.map(|c| {
            let mut rows = card_rows("预挂失 Pre-loss", &c);
            rows.push(("自动解除 Lifts at".into(), c.pre_loss.as_ref().map(|p| shanghai_time(&p.until)).unwrap_or_default()));
            rows
        }),
        "revoke-pre-loss" => svc.revoke_pre_loss(&me.who, id, None).await.map(|c| card_rows("撤销预挂失 Pre-loss revoked", &c)),
        "formal-loss" => {
            let d = f.delivery_request();
            let req = FormalLossRequest {
                proxy_ssn: filled(f.proxy_ssn),
                delivery: d.delivery.unwrap_or_else(|| "outlet".into()),
                address: d.address,
                payment_method: d.payment_method,
                immediate: f.immediate.as_deref() == Some("yes"),
                card_number: filled(f.card_number),
                card_identification_code: filled(f.card_identification_code),
            };
            svc.formal_loss(&me.who, id, &req).await.map(|r| replacement_rows("正式挂失并补卡 Formal loss and replacement", &old, &r))
        }
        "exchange" => {
            let d = f.delivery_request();
            let req = ExchangeRequest {
                reason: f.reason.unwrap_or_default(),
                delivery: d.delivery.unwrap_or_else(|| "outlet".into()),
                address: d.address,
                payment_method: d.payment_method,
            };
            svc.exchange(&me.who, id, &req).await.map(|r| replacement_rows("换卡 Exchange", &old, &r))
        }
        "hand-over" => {
            let req = HandOverRequest { holder_ssn: filled(f.holder_ssn), proxy_ssn: filled(f.proxy_ssn), certificate_number: filled(f.certificate_number) };
            svc.hand_over(&me.who, id, &req).await.map(|c| card_rows("发卡 Hand-over", &c))
        }
        "password-reset" => svc
            .reset_password(&me.who, id, f.new_password.as_deref().unwrap_or_default())
            .await
            .map(|()| vec![("业务 Service".into(), "重置查询密码 Password reset".into()), ("卡号 Card".into(), old.clone())]),
        "synchronisation" => svc.synchronise_card(&me.who, id).await.map(|c| card_rows("信息同步 Synchronised", &c)),
        "activation" => {
            let choice = match filled(f.old_card_account).as_deref() {
                Some("close") => yikatong_core::card::AccountChoice::Close,
                _ => yikatong_core::card::AccountChoice::Keep,
            };
            svc.activate(&me.who, id, yikatong_core::card::Zone::Social, Some(choice)).await.map(|c| {
                let mut rows = card_rows("启用 Started", &c);
                rows.push(("旧卡银行账户 Old card's bank account".into(), if choice == yikatong_core::card::AccountChoice::Close { "注销 close" } else { "保留 keep" }.into()));
                rows
            })
        }
        other => Err(unknown_operation(other)),
    };
    match outcome {
        Ok(mut rows) => {
            rows.push(("办理网点 Outlet".into(), me.who.outlet.clone().unwrap_or_default()));
            rows.push(("办理时间 At".into(), now));
            let certificate = rows.iter().find(|(k, _)| k.starts_with("临时凭证")).map(|(_, v)| v.clone());
            let (next, next_label) = match certificate {
                Some(n) => (format!("/outlet/certificates/{n}"), "打印临时凭证 Print the certificate".to_string()),
                None => ("/outlet".into(), "返回柜台 Back to the counter".into()),
            };
            page(&Slip { page: me.chrome("业务回执 Slip"), heading: "办理完成 Done".into(), rows, next, next_label })
        }
        Err(e) => refusal(me.chrome("柜台业务"), e, "/outlet"),
    }
}

async fn certificate(State(s): State<AppState>, me: Clerk, Path(number): Path<String>) -> Response {
    let found = s.service.certificate(&me.who, &number).await;
    show_certificate(&s, found, me).await
}

/// A reprint at the counter (R-CERT-1): counted, then shown to print.
async fn reprint(State(s): State<AppState>, me: Clerk, Path(number): Path<String>) -> Response {
    let found = s.service.reprint_certificate(&me.who, &number).await;
    show_certificate(&s, found, me).await
}

async fn show_certificate(s: &AppState, found: Result<yikatong_service::CertificateView, yikatong_service::ServiceError>, me: Clerk) -> Response {
    let found = match found {
        Ok(c) => s.service.certificate_visits(&me.who, &c.number).await.map(|v| (c, v)),
        Err(e) => Err(e),
    };
    match found {
        Ok((c, visits)) => page(&Certificate {
            page: me.chrome("临时凭证 Certificate"),
            issued_on: c.issued_on.to_string(),
            ready_on: yikatong_service::ready_on_text(c.ready_on, c.ready_pending_year),
            visits: visits.into_iter().map(CertificateVisit::of).collect(),
            c,
        }),
        Err(e) => refusal(me.chrome("临时凭证"), e, "/outlet"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outlet", get(home))
        .route("/outlet/cards/{id}/{op}", get(confirm).post(perform))
        .route("/outlet/certificates/{number}", get(certificate))
        .route("/outlet/certificates/{number}/reprint", axum::routing::post(reprint))
        .merge(super::token_sign_in_routes::<OUTLET>())
}
