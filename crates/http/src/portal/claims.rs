//! Manual reimbursement in the portal (R-SET-6, R-SET-8, R-CERT-1): at the counter a
//! clerk claims a cash-paid visit from the holder's receipts or a certificate visit
//! from the lines its hospital uploaded, and approves submitted claims; the operator
//! makes the payment file the bank pays from. The holder's own page is in `holder`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use yikatong_service::{ManualLine, ManualReimbursement, ReimbursementView, ServiceError, Settlement};

use super::labels::{fen_yuan, shanghai_time};
use super::{OPERATOR, OUTLET, Session, Slip, page, refusal};
use crate::AppState;

type Clerk = Session<OUTLET>;
type Operator = Session<OPERATOR>;

/// The slip of a submitted claim: what the funds pay back and when.
fn claim_slip(me: &Clerk, settled: &Settlement, c: &ReimbursementView, back: String) -> Response {
    page(&Slip {
        page: me.chrome("手工报销 Manual reimbursement"),
        heading: "报销申请已受理 The claim is submitted".into(),
        rows: vec![
            ("申请号 Claim".into(), c.id.clone()),
            ("持卡人 Holder".into(), format!("{}（{}）", settled.person.name, yikatong_core::identity::mask_ssn(&settled.person.ssn))),
            ("医疗费用 Costs".into(), fen_yuan(settled.receipt.total.0)),
            ("报销金额 Reimbursed".into(), fen_yuan(c.amount_fen)),
            ("预计到账 Due on".into(), c.due_on.map_or_else(|| "—".into(), |d| d.to_string())),
            ("受理时间 At".into(), shanghai_time(&c.submitted_at)),
        ],
        next: back,
        next_label: "返回 Back".into(),
    })
}

#[derive(Deserialize)]
struct CertificateClaim {
    mdtrt_id: String,
    /// Typed from the holder's ID card, which the clerk checks.
    ssn: String,
}

/// R-CERT-1: a certificate visit claimed from the lines the hospital uploaded.
async fn certificate_claim(State(s): State<AppState>, me: Clerk, Path(number): Path<String>, axum::Form(f): axum::Form<CertificateClaim>) -> Response {
    let back = format!("/outlet/certificates/{number}");
    let req = ManualReimbursement {
        ssn: f.ssn,
        institution_code: None,
        visit_date: None,
        reason: "certificate_period".into(),
        lines: Vec::new(),
        certificate_number: Some(number),
        mdtrt_id: Some(f.mdtrt_id),
    };
    match s.service.manual_reimbursement(&me.who, &req).await {
        Ok((settled, c)) => claim_slip(&me, &settled, &c, back),
        Err(e) => refusal(me.chrome("手工报销"), e, back),
    }
}

#[derive(Deserialize)]
struct CounterClaim {
    ssn: String,
    institution_code: String,
    visit_date: String,
    reason: String,
    /// One line per receipt line: `code,quantity,unit_price,amount_fen`.
    lines: String,
}

/// The receipt's lines as typed, each `code,quantity,unit_price,amount_fen`; a line
/// that is not is refused by its number.
fn typed_lines(text: &str) -> Result<Vec<ManualLine>, ServiceError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |why: &str| ServiceError::from(yikatong_core::Refusal::bad_input("invalid_fee_line", format!("line {}: {why} (code,quantity,unit_price,amount_fen)", i + 1)));
        let parts: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
        let [code, quantity, unit_price, amount] = parts.as_slice() else { return Err(bad("four fields are needed")) };
        let amount_fen = amount.parse::<i64>().map_err(|_| bad("amount_fen is a whole number of fen"))?;
        out.push(ManualLine { code: code.to_string(), quantity: quantity.to_string(), unit_price: unit_price.to_string(), amount_fen });
    }
    Ok(out)
}

/// R-SET-6: a cash-paid visit claimed from the holder's receipts.
async fn counter_claim(State(s): State<AppState>, me: Clerk, axum::Form(f): axum::Form<CounterClaim>) -> Response {
    let result = async {
        let visit_date = f.visit_date.trim().parse().map_err(|_| ServiceError::from(yikatong_core::Refusal::bad_input("invalid_date", "the visit date is YYYY-MM-DD")))?;
        let req = ManualReimbursement {
            ssn: f.ssn,
            institution_code: Some(f.institution_code),
            visit_date: Some(visit_date),
            reason: f.reason,
            lines: typed_lines(&f.lines)?,
            certificate_number: None,
            mdtrt_id: None,
        };
        s.service.manual_reimbursement(&me.who, &req).await
    }
    .await;
    match result {
        Ok((settled, c)) => claim_slip(&me, &settled, &c, "/outlet".into()),
        Err(e) => refusal(me.chrome("手工报销"), e, "/outlet"),
    }
}

/// A clerk approves a submitted claim.
async fn approve(State(s): State<AppState>, me: Clerk, Path(id): Path<String>) -> Response {
    match s.service.approve_reimbursement(&me.who, &id).await {
        Ok(c) => page(&Slip {
            page: me.chrome("手工报销 Manual reimbursement"),
            heading: "报销申请已审核 The claim is approved".into(),
            rows: vec![
                ("申请号 Claim".into(), c.id),
                ("报销金额 Reimbursed".into(), fen_yuan(c.amount_fen)),
                ("预计到账 Due on".into(), c.due_on.map_or_else(|| "—".into(), |d| d.to_string())),
            ],
            next: "/outlet".into(),
            next_label: "返回柜台 Back to the counter".into(),
        }),
        Err(e) => refusal(me.chrome("手工报销"), e, "/outlet"),
    }
}

/// The operator's payment file of the approved claims, downloaded as CSV.
async fn payment_file(State(s): State<AppState>, me: Operator) -> Response {
    match s.service.reimbursement_payment_file(&me.who).await {
        Ok(file) => {
            let name = file.lines().nth(1).and_then(|l| l.split(',').next()).unwrap_or("empty").to_string();
            ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"payment-file-{name}.csv\""))], file)
                .into_response()
        }
        Err(e) => refusal(me.chrome("报销支付 Reimbursement payment"), e, "/operator/batches"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outlet/certificates/{number}/claims", post(certificate_claim))
        .route("/outlet/reimbursements", post(counter_claim))
        .route("/outlet/reimbursements/{id}/approval", post(approve))
        .route("/operator/reimbursements/payment-files", post(payment_file))
}
