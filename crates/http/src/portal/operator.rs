//! `/operator`: the bureau's operator — overdue cards, the audit trail's verification,
//! the policy in force on a date.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::labels::CardRow;
use super::{Chrome, OPERATOR, Session, Slip, page, refusal};
use crate::AppState;

type Operator = Session<OPERATOR>;

#[derive(Template)]
#[template(path = "operator_home.html")]
struct Home {
    page: Chrome,
    overdue: Vec<(CardRow, String, String)>,
    audit: Option<(bool, u64, Vec<String>)>,
    /// R-SET-12: per region, holders with and without a recorded designated choice.
    designated: Vec<yikatong_service::DesignatedCounts>,
    /// R-EVT-2: each party that takes card notices, with its backlog.
    parties: Vec<yikatong_service::PartyView>,
}

#[derive(Template)]
#[template(path = "operator_policy.html")]
struct Policy {
    page: Chrome,
    region: String,
    /// Each region and whether it is the one shown.
    regions: Vec<(String, bool)>,
    at: String,
    parameters: Vec<(String, String, String, String)>,
}

#[derive(Deserialize)]
struct AuditQuery {
    verify: Option<String>,
}

async fn home(State(s): State<AppState>, me: Operator, Query(q): Query<AuditQuery>) -> Response {
    let overdue = match s.service.overdue_cards(&me.who).await {
        Ok(cards) => cards.iter().map(|c| (CardRow::of(c), c.person_ssn_masked.clone(), c.due_on.map(|d| d.to_string()).unwrap_or_default())).collect(),
        Err(e) => return refusal(me.chrome("经办管理"), e, "/operator"),
    };
    let audit = match q.verify {
        Some(_) => match s.service.audit(&me.who, s.service.checkpoints()).await {
            Ok(r) => Some((r.ok, r.events, r.problems.into_iter().take(20).collect())),
            Err(e) => return refusal(me.chrome("经办管理"), e, "/operator"),
        },
        None => None,
    };
    let designated = match s.service.designated_counts(&me.who).await {
        Ok(c) => c,
        Err(e) => return refusal(me.chrome("经办管理"), e, "/operator"),
    };
    let parties = match s.service.consumers(&me.who).await {
        Ok(p) => p,
        Err(e) => return refusal(me.chrome("经办管理"), e, "/operator"),
    };
    page(&Home { page: me.chrome("经办管理 Operations"), overdue, audit, designated, parties })
}

#[derive(Deserialize)]
struct PolicyQuery {
    region: Option<String>,
    at: Option<String>,
}

async fn policy(State(s): State<AppState>, me: Operator, Query(q): Query<PolicyQuery>) -> Response {
    let region = q.region.unwrap_or_else(|| "beijing".into());
    let at = q.at.filter(|a| !a.is_empty()).unwrap_or_else(|| s.service.clock().today().to_string());
    match yikatong_service::parse_date_param("at", &at).and_then(|date| s.service.policy_at(&region, date)) {
        Ok(view) => page(&Policy {
            page: me.chrome("政策参数 Policy in force"),
            regions: s.service.policies().regions().map(|r| (r.code.clone(), r.code == region)).collect(),
            region,
            at,
            parameters: view.parameters.into_iter().map(|(name, p)| (name, format!("{} {}", p.value, p.unit), p.from.to_string(), p.source)).collect(),
        }),
        Err(e) => refusal(me.chrome("政策参数"), e, "/operator/policy"),
    }
}

#[derive(Template)]
#[template(path = "operator_batches.html")]
struct Batches {
    page: Chrome,
    regions: Vec<String>,
    month: String,
}

async fn batches(State(s): State<AppState>, me: Operator) -> Response {
    let today = s.service.clock().today();
    page(&Batches {
        page: me.chrome("制卡批次与作业 Batches and jobs"),
        regions: s.service.policies().regions().map(|r| r.code.clone()).collect(),
        month: today.format("%Y-%m").to_string(),
    })
}

#[derive(Deserialize)]
struct Cut {
    region: String,
    max_cards: Option<String>,
}

async fn cut(State(s): State<AppState>, me: Operator, axum::Form(f): axum::Form<Cut>) -> Response {
    let Ok(max_cards) = f.max_cards.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::parse::<usize>).transpose() else {
        return refusal(me.chrome("制卡批次"), yikatong_core::Refusal::bad_input("invalid_max_cards", "the batch size is a whole number of cards").into(), "/operator/batches");
    };
    match s.service.cut_batch(&me.who, &f.region, None, max_cards).await {
        Ok(b) => {
            let mut rows = vec![
                ("批次 Batch".to_string(), format!("#{}", b.id)),
                ("地区 Region".into(), b.region.clone()),
                ("入批卡数 Cards".into(), b.card_ids.len().to_string()),
                ("未入批 Held out".into(), b.excluded.len().to_string()),
            ];
            rows.extend(b.excluded.iter().take(50).map(|e| (format!("#{} {}", e.card_id, e.ssn), e.reason.clone())));
            page(&Slip {
                page: me.chrome("制卡批次 Production batch"),
                heading: "批次已生成 The batch is cut".into(),
                rows,
                next: format!("/operator/batches/{}", b.id),
                next_label: "查看进度 See its progress".into(),
            })
        }
        Err(e) => refusal(me.chrome("制卡批次"), e, "/operator/batches"),
    }
}

#[derive(Template)]
#[template(path = "operator_batch.html")]
struct BatchPage {
    page: Chrome,
    b: yikatong_service::BatchProgress,
    snapshot: String,
    states: Vec<(String, &'static str, usize)>,
}

async fn batch(State(s): State<AppState>, me: Operator, Path(id): Path<i64>) -> Response {
    match s.service.batch_progress(&me.who, id).await {
        Ok(b) => page(&BatchPage {
            page: me.chrome(format!("制卡批次 #{id} Batch")),
            snapshot: super::shanghai_time(&b.snapshot_at),
            states: b.states.iter().map(|(st, n)| (st.clone(), super::card_state_label(st), *n)).collect(),
            b,
        }),
        Err(e) => refusal(me.chrome("制卡批次"), e, "/operator/batches"),
    }
}

#[derive(Template)]
#[template(path = "operator_persons_report.html")]
struct PersonsReport {
    page: Chrome,
    report: yikatong_service::batch::PersonsImportReport,
}

/// The insurance system's extract of insured persons for a region (the `ykt import
/// persons` file): every bad row reported by line, a file sent again creates no one twice.
async fn import_persons(State(s): State<AppState>, me: Operator, req: axum::extract::Request) -> Response {
    let (file, fields) = match crate::upload::receive_with_fields(req).await {
        Ok(f) => f,
        Err(e) => return super::refusal_with(me.chrome("参保人员导入"), e.status, &e.code, e.detail, "/operator/batches"),
    };
    let reader = match file.reader() {
        Ok(r) => r,
        Err(e) => return super::refusal_with(me.chrome("参保人员导入"), e.status, &e.code, e.detail, "/operator/batches"),
    };
    let region = fields.get("region").map(|r| r.trim().to_string()).unwrap_or_default();
    match s.service.import_persons(&me.who, &region, reader, &|_| {}).await {
        Ok(report) => page(&PersonsReport { page: me.chrome("参保人员导入结果 Persons import report"), report }),
        Err(e) => refusal(me.chrome("参保人员导入"), e, "/operator/batches"),
    }
}

/// The upload form's route, served without the JSON body limit (see `upload.rs`).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/operator/persons/import", axum::routing::post(import_persons))
}

#[derive(Template)]
#[template(path = "operator_dispatch.html")]
struct DispatchPage {
    page: Chrome,
    batch_id: i64,
    way: String,
    way_label: &'static str,
    ways: Vec<(&'static str, &'static str)>,
    lines: Vec<yikatong_service::DispatchLine>,
}

#[derive(Deserialize)]
struct WayQuery {
    way: Option<String>,
}

/// R-DIST-1: a batch's dispatch list for one delivery way (the post office's, the
/// banks', the units', the outlets').
async fn dispatch_list(State(s): State<AppState>, me: Operator, Path(id): Path<i64>, Query(q): Query<WayQuery>) -> Response {
    use yikatong_core::card::delivery::DeliveryWay;
    let way = q.way.unwrap_or_else(|| "mail".into());
    match s.service.dispatch_list(&me.who, id, Some(&way)).await {
        Ok(lines) => page(&DispatchPage {
            page: me.chrome(format!("发放清单 #{id} Dispatch list")),
            batch_id: id,
            way_label: DeliveryWay::parse(&way).map_or("", |w| w.label_zh()),
            ways: DeliveryWay::ALL.iter().map(|w| (w.as_str(), w.label_zh())).collect(),
            way,
            lines,
        }),
        Err(e) => refusal(me.chrome("发放清单"), e, format!("/operator/batches/{id}")),
    }
}

#[derive(Deserialize)]
struct Lookup {
    id: String,
}

async fn lookup(_me: Operator, Query(q): Query<Lookup>) -> Response {
    axum::response::Redirect::to(&format!("/operator/batches/{}", q.id.trim().parse::<i64>().unwrap_or(0))).into_response()
}

#[derive(Deserialize)]
struct Month {
    month: String,
}

async fn start_credits(State(s): State<AppState>, me: Operator, axum::Form(f): axum::Form<Month>) -> Response {
    match s.service.start_credit_job(&me.who, f.month.trim()).await {
        Ok(id) => axum::response::Redirect::to(&format!("/operator/jobs/{id}")).into_response(),
        Err(e) => refusal(me.chrome("月度划账"), e, "/operator/batches"),
    }
}

#[derive(Template)]
#[template(path = "operator_job.html")]
struct JobPage {
    page: Chrome,
    job: yikatong_service::JobRecord,
    /// Whether the page keeps polling.
    running: bool,
    percent: i64,
    report: String,
}

async fn job(State(s): State<AppState>, me: Operator, Path(id): Path<i64>) -> Response {
    match s.service.job(&me.who, id).await {
        Ok(job) => page(&JobPage {
            page: me.chrome(format!("作业 Job #{id}")),
            running: job.state == yikatong_service::JobState::Running,
            percent: if job.total > 0 { job.done * 100 / job.total } else { 100 },
            report: job.report.as_ref().map(|r| serde_json::to_string_pretty(r).unwrap_or_default()).unwrap_or_default(),
            job,
        }),
        Err(e) => refusal(me.chrome("作业"), e, "/operator/batches"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/operator", get(home))
        .route("/operator/policy", get(policy))
        .route("/operator/batches", get(batches).post(cut))
        .route("/operator/batches/lookup", get(lookup))
        .route("/operator/batches/{id}", get(batch))
        .route("/operator/batches/{id}/dispatch-list", get(dispatch_list))
        .route("/operator/jobs/credit-accounts", axum::routing::post(start_credits))
        .route("/operator/jobs/{id}", get(job))
        .merge(super::token_sign_in_routes::<OPERATOR>())
}
