//! `/unit`: an employer's HR clerk — upload a batch application file and read its
//! row-by-row report; the unit's people, a page at a time, with who has a card, who
//! does not, why, and what to do about it.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use yikatong_service::{HandOverRequest, PersonChangeRequest};

use super::labels::shanghai_time;
use super::{Chrome, Confirm, Session, Slip, UNIT, filled, page, refusal};
use crate::AppState;

type Unit = Session<UNIT>;

/// Persons per page of the unit's list.
const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "unit_home.html")]
struct Home {
    page: Chrome,
    unit: String,
    persons: Vec<PersonRow>,
    next: Option<String>,
    /// R-DIST-1: the unit's cards past their promise: (card, holder, state, due).
    overdue: Vec<(i64, String, String, String)>,
}

struct PersonRow {
    card_id: Option<i64>,
    /// Held for a second collection: the form can be printed.
    held: bool,
    /// Waiting at the unit for its holder.
    can_hand_over: bool,
    ssn_masked: String,
    name: String,
    status: &'static str,
    card_state: String,
    reason: String,
    todo: &'static str,
}

#[derive(Template)]
#[template(path = "unit_report.html")]
struct Report {
    page: Chrome,
    report: yikatong_service::batch::ApplicationReport,
}

#[derive(Deserialize)]
struct After {
    after: Option<String>,
}

/// What the unit does about a person without a card, from the reason's kind.
fn what_to_do(status: &str, reason: &str) -> &'static str {
    match status {
        _ if reason.contains("second collection") => "打印二次采集表，按证件填写后提交 print the second-collection form, fill it in from the ID, submit it",
        "has_card" => "",
        _ if reason.contains("left unit") => "该人员已减员：由其现单位重新申领 the person left: their present unit applies again",
        _ if reason.contains("name was changed") => "按变更后的姓名重新申领 apply again with the new name",
        "in_progress" => "等待制卡与发放 wait for production and delivery",
        _ if reason.starts_with("bank") => "请本人到银行核验身份后重新申领 the holder checks their identity at the bank, then apply again",
        _ if reason.contains("photo") || reason.contains("照片") => "上传符合要求的照片 upload a photo that passes the checks",
        _ if reason.is_empty() => "上传批量申领文件 send a batch application file",
        _ => "联系网点 ask an outlet",
    }
}

async fn home(State(s): State<AppState>, me: Unit, Query(q): Query<After>) -> Response {
    let unit = me.who.unit.clone().unwrap_or_default();
    let found = async {
        let list = s.service.unit_persons(&me.who, &unit, q.after.as_deref(), PAGE).await?;
        let overdue = s.service.overdue_cards(&me.who).await?;
        Ok::<_, yikatong_service::ServiceError>((list, overdue))
    }
    .await;
    match found {
        Ok((list, overdue)) => page(&Home {
            overdue: overdue
                .into_iter()
                .map(|c| (c.id, c.person_ssn_masked.clone(), super::card_state_label(c.state.as_str()).to_string(), c.due_on.map(|d| d.to_string()).unwrap_or_default()))
                .collect(),
            page: me.chrome(format!("单位 {unit} 人员制卡情况 People and cards")),
            unit: unit.clone(),
            persons: list
                .persons
                .into_iter()
                .map(|p| {
                    let reason = p.reason.unwrap_or_default();
                    PersonRow {
                        card_id: p.card_id,
                        held: reason.contains("second collection"),
                        can_hand_over: p.card_state.as_deref() == Some("at_distributor"),
                        todo: what_to_do(&p.status, &reason),
                        status: match p.status.as_str() {
                            "has_card" => "已有卡 has a card",
                            "in_progress" => "办理中 in progress",
                            _ => "无卡 no card",
                        },
                        card_state: p.card_state.map(|c| format!("{}（{c}）", super::card_state_label(&c))).unwrap_or_default(),
                        ssn_masked: p.ssn_masked,
                        name: p.name,
                        reason,
                    }
                })
                .collect(),
            next: list.next,
        }),
        Err(e) => refusal(me.chrome("单位服务"), e, "/unit"),
    }
}

/// The batch application file, streamed to disk like the API's (up to 64 MiB, a
/// million rows) and read line by line.
async fn upload(State(s): State<AppState>, me: Unit, req: axum::extract::Request) -> Response {
    let unit = me.who.unit.clone().unwrap_or_default();
    let file = match crate::upload::receive(req).await {
        Ok(f) => f,
        Err(e) => return super::refusal_with(me.chrome("批量申领"), e.status, &e.code, e.detail, "/unit"),
    };
    let reader = match file.reader() {
        Ok(r) => r,
        Err(e) => return super::refusal_with(me.chrome("批量申领"), e.status, &e.code, e.detail, "/unit"),
    };
    match s.service.import_applications(&me.who, &unit, reader).await {
        Ok(report) => page(&Report { page: me.chrome("批量申领结果 Batch application report"), report }),
        Err(e) => refusal(me.chrome("批量申领"), e, "/unit"),
    }
}

#[derive(Deserialize)]
struct Format {
    format: Option<String>,
}

/// The second-collection form (二次采集表) of a held person, by their card: HTML to
/// print, or PDF with `?format=pdf`.
async fn second_collection_form(State(s): State<AppState>, me: Unit, Path(card): Path<i64>, Query(f): Query<Format>) -> Response {
    let result = async {
        let ssn = s.service.holder_ssn_of_card(&me.who, card).await?;
        if f.format.as_deref() == Some("pdf") {
            Ok(([(header::CONTENT_TYPE, "application/pdf")], s.service.second_collection_pdf(&me.who, &ssn).await?).into_response())
        } else {
            Ok(Html(s.service.second_collection_form(&me.who, &ssn).await?).into_response())
        }
    }
    .await;
    result.unwrap_or_else(|e| refusal(me.chrome("二次采集表"), e, "/unit"))
}

async fn confirm_hand_over(State(s): State<AppState>, me: Unit, Path(id): Path<i64>) -> Response {
    match s.service.get_card(&me.who, id).await {
        Ok(card) => page(&Confirm::for_card(
            me.chrome("单位发卡 Hand-over"),
            &card,
            "确认已将这张卡交给本人吗？",
            format!("/unit/cards/{id}/hand-over"),
            vec![],
            "确认发卡 Record the hand-over",
            "/unit",
        )),
        Err(e) => refusal(me.chrome("单位发卡"), e, "/unit"),
    }
}

async fn hand_over(State(s): State<AppState>, me: Unit, Path(id): Path<i64>) -> Response {
    match s.service.hand_over(&me.who, id, &HandOverRequest::default()).await {
        Ok(card) => page(&Slip {
            page: me.chrome("发卡回执 Hand-over slip"),
            heading: "已发卡 Handed over".into(),
            rows: vec![
                ("持卡人 Holder".into(), card.person_ssn_masked.clone()),
                ("卡号 Card".into(), card.card_number.clone().unwrap_or_default()),
                ("状态 State".into(), format!("{}（{}）", super::card_state_label(&card.state), card.state)),
                ("办理时间 At".into(), shanghai_time(&s.service.clock().now())),
            ],
            next: "/unit".into(),
            next_label: "返回 Back".into(),
        }),
        Err(e) => refusal(me.chrome("单位发卡"), e, "/unit"),
    }
}

#[derive(Deserialize)]
struct Change {
    ssn: String,
    phone: Option<String>,
    address: Option<String>,
    /// R-EXCH-1: the corrected ID number.
    new_ssn: Option<String>,
}

/// R-INFO-1: an information change filed by the unit (phone, address, a corrected ID
/// number), kept as dated history; the card is flagged out of step when its data no
/// longer matches, or as carrying the old number until it is exchanged.
async fn file_change(State(s): State<AppState>, me: Unit, axum::Form(f): axum::Form<Change>) -> Response {
    let req = PersonChangeRequest { phone: filled(f.phone), address: filled(f.address), ssn: filled(f.new_ssn), ..Default::default() };
    match s.service.change_person(&me.who, f.ssn.trim(), &req).await {
        Ok(change) => page(&Slip {
            page: me.chrome("信息变更回执 Change slip"),
            heading: "信息变更已登记 The change is recorded".into(),
            rows: vec![
                ("人员 Person".into(), yikatong_core::identity::mask_ssn(f.ssn.trim())),
                ("变更项 Fields".into(), change.fields.join("、")),
                ("生效日期 Effective on".into(), change.effective_on.to_string()),
            ],
            next: "/unit".into(),
            next_label: "返回 Back".into(),
        }),
        Err(e) => refusal(me.chrome("信息变更"), e, "/unit"),
    }
}

/// The upload form's route, served without the JSON body limit (see `upload.rs`).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/unit/applications", post(upload))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/unit", get(home))
        .route("/unit/changes", post(file_change))
        .route("/unit/cards/{id}/second-collection-form", get(second_collection_form))
        .route("/unit/cards/{id}/hand-over", get(confirm_hand_over).post(hand_over))
        .merge(super::token_sign_in_routes::<UNIT>())
}
