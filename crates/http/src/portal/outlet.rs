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
use yikatong_service::FormalLossRequest;

use super::labels::{CardRow, fen_yuan, shanghai_time};
use super::{Chrome, Confirm, Input, OUTLET, Session, Slip, page, refusal};
use crate::AppState;

type Clerk = Session<OUTLET>;

#[derive(Template)]
#[template(path = "outlet_home.html")]
struct Home {
    page: Chrome,
    query: String,
    person: Option<Found>,
}

struct Found {
    name: String,
    ssn_masked: String,
    unit: String,
    cards: Vec<CardRow>,
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct Certificate {
    page: Chrome,
    c: yikatong_service::CertificateView,
    issued_on: String,
    ready_on: String,
}

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
}

async fn home(State(s): State<AppState>, me: Clerk, Query(search): Query<Search>) -> Response {
    let query = search.q.unwrap_or_default();
    if query.trim().is_empty() {
        return page(&Home { page: me.chrome("柜台业务 Counter"), query, person: None });
    }
    // The page never writes an ID number out in full, not even the one typed in.
    let shown = if query.trim().chars().count() == 18 { yikatong_core::identity::mask_ssn(query.trim()) } else { query.clone() };
    match s.service.find_person(&me.who, &query).await {
        Ok(p) => page(&Home {
            page: me.chrome("柜台业务 Counter"),
            query: shown,
            person: Some(Found { name: p.name.clone(), ssn_masked: p.ssn_masked.clone(), unit: p.unit_code.clone().unwrap_or_else(|| "—".into()), cards: p.cards.iter().map(CardRow::of).collect() }),
        }),
        Err(e) => refusal(me.chrome("柜台业务"), e, "/outlet"),
    }
}

/// The operations a clerk confirms on a card: (path, question, button).
fn operation(op: &str) -> Option<(&'static str, &'static str)> {
    match op {
        "pre-loss" => Some(("确认对这张卡预挂失吗？到期自动解除。", "确认预挂失 Report the pre-loss")),
        "revoke-pre-loss" => Some(("确认撤销这张卡的预挂失吗？", "确认撤销 Revoke the pre-loss")),
        "formal-loss" => Some(("确认正式挂失并补卡吗？原卡将永久停用，收取补卡费并出具临时凭证。", "确认正式挂失并补卡 Report the loss and replace")),
        _ => None,
    }
}

async fn confirm(State(s): State<AppState>, me: Clerk, Path((id, op)): Path<(i64, String)>) -> Response {
    let Some((question, button)) = operation(&op) else { return refusal(me.chrome("柜台业务"), unknown_operation(&op), "/outlet") };
    let card = match s.service.get_card(&me.who, id).await {
        Ok(c) => c,
        Err(e) => return refusal(me.chrome("柜台业务"), e, "/outlet"),
    };
    let inputs = if op == "formal-loss" {
        vec![
            Input { name: "delivery".into(), label: "领取方式 Delivery".into(), kind: "select:outlet=网点领取 at the outlet,mail=邮寄 by mail".into(), value: "outlet".into(), required: true },
            Input { name: "proxy_ssn".into(), label: "代办人身份证号（本人办理留空）Proxy's ID number".into(), kind: "text".into(), value: String::new(), required: false },
        ]
    } else {
        vec![]
    };
    page(&Confirm {
        page: me.chrome("确认 Confirm"),
        question: question.into(),
        rows: vec![
            ("持卡人 Holder".into(), card.person_ssn_masked.clone()),
            ("卡号 Card".into(), card.card_number.clone().unwrap_or_else(|| format!("#{id}"))),
            ("状态 State".into(), format!("{}（{}）", super::card_state_label(&card.state), card.state)),
        ],
        action: format!("/outlet/cards/{id}/{op}"),
        fields: vec![],
        inputs,
        button: button.into(),
        cancel: "/outlet".into(),
    })
}

fn unknown_operation(op: &str) -> yikatong_service::ServiceError {
    yikatong_core::Refusal::not_found("unknown_operation", format!("there is no counter operation {op:?}")).into()
}

#[derive(Deserialize)]
struct OperationForm {
    delivery: Option<String>,
    proxy_ssn: Option<String>,
}

async fn perform(State(s): State<AppState>, me: Clerk, Path((id, op)): Path<(i64, String)>, axum::Form(f): axum::Form<OperationForm>) -> Response {
    let now = shanghai_time(&s.service.clock().now());
    let old_number = match s.service.get_card(&me.who, id).await {
        Ok(c) => c.card_number.unwrap_or_else(|| format!("#{id}")),
        Err(e) => return refusal(me.chrome("柜台业务"), e, "/outlet"),
    };
    let outcome = match op.as_str() {
        "pre-loss" => s.service.report_pre_loss(&me.who, id, None).await.map(|c| {
            vec![
                ("业务 Service".to_string(), "预挂失 Pre-loss".to_string()),
                ("卡号 Card".into(), c.card_number.clone().unwrap_or_else(|| old_number.clone())),
                ("自动解除 Lifts at".into(), c.pre_loss.as_ref().map(|p| shanghai_time(&p.until)).unwrap_or_default()),
            ]
        }),
        "revoke-pre-loss" => s.service.revoke_pre_loss(&me.who, id, None).await.map(|c| {
            vec![("业务 Service".to_string(), "撤销预挂失 Pre-loss revoked".to_string()), ("卡号 Card".into(), c.card_number.clone().unwrap_or_else(|| old_number.clone())), ("状态 State".into(), super::card_state_label(&c.state).into())]
        }),
        "formal-loss" => {
            let req = FormalLossRequest { proxy_ssn: f.proxy_ssn.filter(|p| !p.trim().is_empty()), delivery: f.delivery.unwrap_or_else(|| "outlet".into()) };
            s.service.formal_loss(&me.who, id, &req).await.map(|r| {
                vec![
                    ("业务 Service".to_string(), "正式挂失并补卡 Formal loss and replacement".to_string()),
                    ("原卡 Old card".into(), old_number.clone()),
                    ("新卡申请 New card".into(), format!("#{}", r.replacement_card_id)),
                    ("补卡费 Fee".into(), format!("{} 元", fen_yuan(r.fee_fen))),
                    ("邮寄费 Delivery fee".into(), format!("{} 元", fen_yuan(r.delivery_fee_fen))),
                    ("领卡日期 Ready on".into(), r.ready_on.to_string()),
                    ("临时凭证 Certificate".into(), r.certificate.number.clone()),
                ]
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
    match s.service.certificate(&me.who, &number).await {
        Ok(c) => page(&Certificate { page: me.chrome("临时凭证 Certificate"), issued_on: c.issued_on.to_string(), ready_on: c.ready_on.to_string(), c }),
        Err(e) => refusal(me.chrome("临时凭证"), e, "/outlet"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outlet", get(home))
        .route("/outlet/cards/{id}/{op}", get(confirm).post(perform))
        .route("/outlet/certificates/{number}", get(certificate))
        .merge(super::token_sign_in_routes::<OUTLET>())
}
