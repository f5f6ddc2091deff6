//! `/unit`: an employer's HR clerk — upload a batch application file and read its
//! row-by-row report; the unit's people, a page at a time, with who has a card, who
//! does not, why, and what to do about it.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Chrome, Session, UNIT, page, refusal};
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
}

struct PersonRow {
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
        "has_card" => "",
        "in_progress" => "等待制卡与发放 wait for production and delivery",
        _ if reason.contains("second collection") || reason.contains("二次采集") => "打印二次采集表，按证件填写后提交 print the second-collection form, fill it in from the ID, submit it",
        _ if reason.starts_with("bank") => "请本人到银行核验身份后重新申领 the holder checks their identity at the bank, then apply again",
        _ if reason.contains("photo") || reason.contains("照片") => "上传符合要求的照片 upload a photo that passes the checks",
        _ if reason.is_empty() => "上传批量申领文件 send a batch application file",
        _ => "联系网点 ask an outlet",
    }
}

async fn home(State(s): State<AppState>, me: Unit, Query(q): Query<After>) -> Response {
    let unit = me.who.unit.clone().unwrap_or_default();
    match s.service.unit_persons(&me.who, &unit, q.after.as_deref(), PAGE).await {
        Ok(list) => page(&Home {
            page: me.chrome(format!("单位 {unit} 人员制卡情况 People and cards")),
            unit: unit.clone(),
            persons: list
                .persons
                .into_iter()
                .map(|p| {
                    let reason = p.reason.unwrap_or_default();
                    PersonRow {
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

async fn upload(State(s): State<AppState>, me: Unit, mut form: Multipart) -> Response {
    let unit = me.who.unit.clone().unwrap_or_default();
    let mut file = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            file = field.bytes().await.ok();
            break;
        }
    }
    let bytes = file.unwrap_or_default();
    match s.service.import_applications(&me.who, &unit, &bytes[..]).await {
        Ok(report) => page(&Report { page: me.chrome("批量申领结果 Batch application report"), report }),
        Err(e) => refusal(me.chrome("批量申领"), e, "/unit"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/unit", get(home)).route("/unit/applications", post(upload)).merge(super::token_sign_in_routes::<UNIT>())
}
