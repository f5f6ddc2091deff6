//! Catalogue, personal account, manual reimbursement and settlement endpoints (API.md
//! "Registry" account calls, SPEC §5, §7).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use yikatong_core::access::Operation;
use yikatong_service::{
    AccountView, DesignatedCounts, DesignatedInstitutions, DesignatedView, FilingView, IssuedVoucher, ManualReimbursement, NewCatalogItem, NewFiling, ReimbursementView,
    Settlement, WorkInjuryClaimView,
};

use crate::extract::{Caller, JsonBody, QueryPassword};
use crate::{ApiError, AppState};
use yikatong_service::QueryTarget;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub accepted: usize,
}

/// Adds or replaces catalogue items (operator).
#[utoipa::path(post, path = "/v1/catalog/items", tag = "settlement", request_body = Vec<NewCatalogItem>, responses((status = 201, body = Accepted)))]
pub async fn catalog_items(State(s): State<AppState>, Caller(who): Caller, JsonBody(items): JsonBody<Vec<NewCatalogItem>>) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    Ok((StatusCode::CREATED, Json(Accepted { accepted: s.service.add_catalog_items(&who, &items).await? })))
}

/// The personal account: balance and entries (a holder sees their own).
#[utoipa::path(get, path = "/v1/persons/{ssn}/account", tag = "settlement", params(("ssn" = String, Path), ("X-Query-Password" = Option<String>, Header, description = "kiosk and hotline: the query password of the card asked about, or of the person's current card")),
    responses((status = 200, body = AccountView), (status = 403, body = crate::error::Problem)))]
pub async fn account(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>, QueryPassword(password): QueryPassword) -> Result<Json<AccountView>, ApiError> {
    let who = s.service.with_query_password(&who, Operation::ReadAccount, QueryTarget::Person(&ssn), password.as_deref()).await?;
    Ok(Json(s.service.account(&who, &ssn).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditBody {
    pub amount_fen: i64,
    pub reason: String,
    /// `credit` (default), `transfer_in` or `correction` (may be negative).
    pub kind: Option<String>,
}

/// A credit outside the monthly run (operator).
#[utoipa::path(post, path = "/v1/persons/{ssn}/account/credits", tag = "settlement", params(("ssn" = String, Path)), request_body = CreditBody, responses((status = 201, body = AccountView)))]
pub async fn credit(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(ssn): Path<String>,
    JsonBody(b): JsonBody<CreditBody>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.credit_account(&who, &ssn, b.amount_fen, b.kind.as_deref(), &b.reason).await?)))
}

/// 医保电子凭证 (R-SET-11): a single-use code for one visit, valid for the region's
/// dated number of minutes; the holder shows it as a QR code, and a hospital's 1101 and
/// 2201 with `mdtrt_cert_type` 01 and this code identify the holder (the holder, or a
/// clerk for the holder).
#[utoipa::path(post, path = "/v1/persons/{ssn}/vouchers", tag = "settlement", params(("ssn" = String, Path)), responses((status = 201, body = IssuedVoucher)))]
pub async fn voucher(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>) -> Result<(StatusCode, Json<IssuedVoucher>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.issue_voucher(&who, &ssn).await?)))
}

/// R-PAY-2: binds a family member to the holder's mutual-aid account (共济账户), the
/// member's identity confirmed by name and ID number (the holder, or a clerk).
#[utoipa::path(post, path = "/v1/persons/{ssn}/family", tag = "settlement", params(("ssn" = String, Path)), request_body = yikatong_service::batch::family::NewFamilyMember, responses((status = 201, body = yikatong_service::batch::family::FamilyMemberView)))]
pub async fn bind_family(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(ssn): Path<String>,
    JsonBody(b): JsonBody<yikatong_service::batch::family::NewFamilyMember>,
) -> Result<(StatusCode, Json<yikatong_service::batch::family::FamilyMemberView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.bind_family_member(&who, &ssn, &b).await?)))
}

/// R-PAY-2: the family members whose premiums the holder's account pays.
#[utoipa::path(get, path = "/v1/persons/{ssn}/family", tag = "settlement", params(("ssn" = String, Path)), responses((status = 200, body = Vec<yikatong_service::batch::family::FamilyMemberView>)))]
pub async fn family(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>) -> Result<Json<Vec<yikatong_service::batch::family::FamilyMemberView>>, ApiError> {
    Ok(Json(s.service.family_members(&who, &ssn).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct FamilyDeductionRun {
    /// `YYYY-MM`; runs from the month's last day on.
    pub month: String,
}

/// R-PAY-2: the month-end deductions of the family members' premiums from the
/// holders' accounts (operator); a run started again pays nobody twice.
#[utoipa::path(post, path = "/v1/premiums/family-deductions", tag = "settlement", request_body = FamilyDeductionRun, responses((status = 200, body = yikatong_service::batch::family::FamilyDeductionReport)))]
pub async fn family_deductions(
    State(s): State<AppState>,
    Caller(who): Caller,
    JsonBody(b): JsonBody<FamilyDeductionRun>,
) -> Result<Json<yikatong_service::batch::family::FamilyDeductionReport>, ApiError> {
    Ok(Json(s.service.deduct_family_premiums(&who, &b.month).await?))
}

/// R-SET-7: the reversal of a settlement found to be a work injury, with its claim.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkInjuryAnswer {
    /// The reversal (`state` `reversed`).
    #[serde(flatten)]
    pub reversal: ReceiptView,
    pub claim_id: String,
    /// What the holder owes the hospital besides the cash already paid.
    pub cash_due_fen: i64,
    pub claim: WorkInjuryClaimView,
}

/// R-SET-7: a settlement later found to be a work injury is reversed (account, year
/// totals and ledger restored exactly), the holder pays in full, and a claim with the
/// fee lines goes to work-injury insurance (operator).
#[utoipa::path(post, path = "/v1/settlements/{setl_id}/work-injury", tag = "settlement", params(("setl_id" = String, Path)), responses((status = 201, body = WorkInjuryAnswer)))]
pub async fn work_injury(State(s): State<AppState>, Caller(who): Caller, Path(setl_id): Path<String>) -> Result<(StatusCode, Json<WorkInjuryAnswer>), ApiError> {
    let (reversal, claim) = s.service.declare_work_injury(&who, &setl_id).await?;
    Ok((StatusCode::CREATED, Json(WorkInjuryAnswer { reversal: ReceiptView::of(&reversal), claim_id: claim.claim_id.clone(), cash_due_fen: claim.cash_due_fen, claim })))
}

/// R-SET-7: a work-injury claim with its fee lines (operator).
#[utoipa::path(get, path = "/v1/work-injury-claims/{claim_id}", tag = "settlement", params(("claim_id" = String, Path)), responses((status = 200, body = WorkInjuryClaimView)))]
pub async fn work_injury_claim(State(s): State<AppState>, Caller(who): Caller, Path(claim_id): Path<String>) -> Result<Json<WorkInjuryClaimView>, ApiError> {
    Ok(Json(s.service.work_injury_claim(&who, &claim_id).await?))
}

/// R-SET-12: records the designated institutions a holder chose, from a date (the
/// holder's unit, a clerk at an outlet, or the operator).
#[utoipa::path(put, path = "/v1/persons/{ssn}/designated-institutions", tag = "settlement", params(("ssn" = String, Path)), request_body = DesignatedInstitutions, responses((status = 200, body = DesignatedView)))]
pub async fn set_designated(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(ssn): Path<String>,
    JsonBody(b): JsonBody<DesignatedInstitutions>,
) -> Result<Json<DesignatedView>, ApiError> {
    Ok(Json(s.service.set_designated_institutions(&who, &ssn, &b).await?))
}

/// R-SET-12: the holder's designated institutions, today's and every recorded choice.
#[utoipa::path(get, path = "/v1/persons/{ssn}/designated-institutions", tag = "settlement", params(("ssn" = String, Path)), responses((status = 200, body = DesignatedView)))]
pub async fn designated(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>) -> Result<Json<DesignatedView>, ApiError> {
    Ok(Json(s.service.designated_institutions(&who, &ssn).await?))
}

/// R-XREG-1: records a holder's filing (备案) for care in another region: the care
/// region's division code, `long_term_residence` or `temporary`, and its dates (the
/// holder, a clerk or the operator). Kept by the holder's own region.
#[utoipa::path(post, path = "/v1/persons/{ssn}/filings", tag = "settlement", params(("ssn" = String, Path)), request_body = NewFiling, responses((status = 201, body = FilingView)))]
pub async fn record_filing(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(ssn): Path<String>,
    JsonBody(b): JsonBody<NewFiling>,
) -> Result<(StatusCode, Json<FilingView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.record_filing(&who, &ssn, &b).await?)))
}

/// R-XREG-1: a holder's filings for care in another region, oldest first.
#[utoipa::path(get, path = "/v1/persons/{ssn}/filings", tag = "settlement", params(("ssn" = String, Path)), responses((status = 200, body = Vec<FilingView>)))]
pub async fn filings(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>) -> Result<Json<Vec<FilingView>>, ApiError> {
    Ok(Json(s.service.filings(&who, &ssn).await?))
}

/// R-SET-12: per region, how many holders have a recorded choice and how many do not
/// (those are not restricted) (operator).
#[utoipa::path(get, path = "/v1/reports/designated-choices", tag = "settlement", responses((status = 200, body = Vec<DesignatedCounts>)))]
pub async fn designated_counts(State(s): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<DesignatedCounts>>, ApiError> {
    Ok(Json(s.service.designated_counts(&who).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    pub setl_id: String,
    pub mdtrt_id: String,
    /// `realtime`, `registration` or `manual`.
    #[schema(value_type = String)]
    pub kind: yikatong_core::settlement::SettlementKind,
    /// `settled`, `reversed` or `preview`; a reimbursement's answer gives its claim's
    /// state instead.
    pub state: String,
    pub person_ssn_masked: String,
    #[schema(value_type = String)]
    pub settled_at: DateTime<Utc>,
    pub total_fen: i64,
    pub fund_fen: i64,
    pub personal_fen: i64,
    pub account_fen: i64,
    pub cash_fen: i64,
    /// 自付一: the deductible, the holder's ratio share, above cap or limit.
    pub self_pay_1_fen: i64,
    /// 自付二: the class-B share.
    pub self_pay_2_fen: i64,
    /// 自费: class C, registration, diagnosis fee beyond the fixed payment, above ceilings.
    pub own_expense_fen: i64,
    pub deductible_fen: i64,
    pub ratio_bp: u32,
    /// The fund payment by fund (R-SET-3); the parts add up to `fund_fen`.
    pub funds: Vec<FundView>,
    /// A manual reimbursement's answer only (R-SET-6): the claim's id, what the funds
    /// reimburse and when it is due; `state` is then the claim's (`submitted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub due_on: Option<chrono::NaiveDate>,
}

/// One fund's part of a receipt.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FundView {
    /// `basic`, `large_amount`, `retiree_supplementary`, `civil_servant`, `disabled_veteran`.
    pub fund: String,
    /// The national interface's `fund_pay_type`.
    pub fund_pay_type: String,
    pub name: String,
    pub amount_fen: i64,
}

impl FundView {
    /// Every fund that paid: the basic fund with the fixed payments, then the others.
    fn of(st: &Settlement) -> Vec<FundView> {
        let insutype = st.person.category.insutype();
        st.receipt
            .fund_payments()
            .into_iter()
            .map(|part| FundView {
                fund: part.fund.key().into(),
                fund_pay_type: part.fund.fund_pay_type(insutype).into(),
                name: part.fund.name_zh(insutype).into(),
                amount_fen: part.amount.0,
            })
            .collect()
    }
}

impl ReceiptView {
    pub fn of(st: &Settlement) -> Self {
        let r = &st.receipt;
        ReceiptView {
            setl_id: st.setl_id.clone(),
            mdtrt_id: st.mdtrt_id.clone(),
            kind: st.kind,
            state: st.state.as_str().into(),
            person_ssn_masked: yikatong_core::identity::mask_ssn(&st.person.ssn),
            settled_at: st.settled_at,
            total_fen: r.total.0,
            fund_fen: r.fund_pay_sumamt.0,
            personal_fen: r.psn_part_amt.0,
            account_fen: r.acct_pay.0,
            cash_fen: r.psn_cash_pay.0,
            self_pay_1_fen: r.self_pay_1.0,
            self_pay_2_fen: r.preselfpay.0,
            own_expense_fen: (r.fulamt_ownpay + r.overlmt_selfpay).0,
            deductible_fen: r.deductible_applied.0,
            ratio_bp: r.ratio.0,
            funds: FundView::of(st),
            id: None,
            amount_fen: None,
            due_on: None,
        }
    }
}

/// R-SET-6: a cash-paid visit recorded by a clerk and settled by the same engine.
#[utoipa::path(post, path = "/v1/reimbursements", tag = "settlement", request_body = ManualReimbursement, responses((status = 201, body = ReceiptView)))]
pub async fn reimbursement(State(s): State<AppState>, Caller(who): Caller, JsonBody(b): JsonBody<ManualReimbursement>) -> Result<(StatusCode, Json<ReceiptView>), ApiError> {
    let (settled, claim) = s.service.manual_reimbursement(&who, &b).await?;
    let mut view = ReceiptView::of(&settled);
    (view.id, view.state, view.amount_fen, view.due_on) = (Some(claim.id), claim.state.to_string(), Some(claim.amount_fen), claim.due_on);
    Ok((StatusCode::CREATED, Json(view)))
}

/// R-CERT-1: the visits registered on a card-collection certificate, with what is left
/// to claim (clerk, operator).
#[utoipa::path(get, path = "/v1/certificates/{number}/visits", tag = "settlement", params(("number" = String, Path)), responses((status = 200, body = Vec<yikatong_service::CertificateVisitView>)))]
pub async fn certificate_visits(State(s): State<AppState>, Caller(who): Caller, Path(number): Path<String>) -> Result<Json<Vec<yikatong_service::CertificateVisitView>>, ApiError> {
    Ok(Json(s.service.certificate_visits(&who, &number).await?))
}

/// R-SET-6: a person's manual reimbursement claims with their state and due date (the
/// holder, a clerk, an operator).
#[utoipa::path(get, path = "/v1/persons/{ssn}/reimbursements", tag = "settlement", params(("ssn" = String, Path)), responses((status = 200, body = Vec<ReimbursementView>)))]
pub async fn reimbursements(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>) -> Result<Json<Vec<ReimbursementView>>, ApiError> {
    Ok(Json(s.service.reimbursements_of(&who, &ssn).await?))
}

/// R-SET-6: the payment file of the approved claims for the bank (operator), CSV; each
/// claim in it is sent, so no second file pays it again.
#[utoipa::path(post, path = "/v1/reimbursements/payment-files", tag = "settlement", responses((status = 201, content_type = "text/csv", body = String)))]
pub async fn reimbursement_payment_file(State(s): State<AppState>, Caller(who): Caller) -> Result<impl axum::response::IntoResponse, ApiError> {
    let file = s.service.reimbursement_payment_file(&who).await?;
    Ok((StatusCode::CREATED, [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")], file))
}

/// R-SET-6: a payment file again, as first made (operator).
#[utoipa::path(get, path = "/v1/reimbursements/payment-files/{file_id}", tag = "settlement", params(("file_id" = String, Path)), responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn reimbursement_payment_file_again(State(s): State<AppState>, Caller(who): Caller, Path(file_id): Path<String>) -> Result<impl axum::response::IntoResponse, ApiError> {
    let file = s.service.reimbursement_payment_file_again(&who, &file_id).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")], file))
}

/// R-SET-6: the bank's result of a payment file (bank): each claim paid or failed with
/// its reason, reported by line.
#[utoipa::path(post, path = "/v1/reimbursements/payment-results", tag = "settlement", request_body = Vec<yikatong_service::PaymentResult>, responses((status = 200, body = Vec<yikatong_service::PaymentResultReport>)))]
pub async fn reimbursement_results(
    State(s): State<AppState>,
    Caller(who): Caller,
    JsonBody(b): JsonBody<Vec<yikatong_service::PaymentResult>>,
) -> Result<Json<Vec<yikatong_service::PaymentResultReport>>, ApiError> {
    Ok(Json(s.service.record_reimbursement_results(&who, &b).await?))
}

/// R-SET-6: a clerk approves a submitted claim.
#[utoipa::path(post, path = "/v1/reimbursements/{id}/approval", tag = "settlement", params(("id" = String, Path)), responses((status = 200, body = ReimbursementView)))]
pub async fn approve_reimbursement(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<String>) -> Result<Json<ReimbursementView>, ApiError> {
    Ok(Json(s.service.approve_reimbursement(&who, &id).await?))
}

/// A settlement's receipt (its institution, an operator or clerk, the holder).
#[utoipa::path(get, path = "/v1/settlements/{setl_id}", tag = "settlement", params(("setl_id" = String, Path)), responses((status = 200, body = ReceiptView)))]
pub async fn get(State(s): State<AppState>, Caller(who): Caller, Path(setl_id): Path<String>) -> Result<Json<ReceiptView>, ApiError> {
    Ok(Json(ReceiptView::of(&s.service.get_settlement(&who, &setl_id).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TraceView {
    pub receipt: ReceiptView,
    /// Each step: which parameter, which value, from which date, what amount.
    #[schema(value_type = Vec<Object>)]
    pub trace: Vec<yikatong_core::settlement::TraceStep>,
}

/// Which parameter, value and date produced each amount (operator).
#[utoipa::path(get, path = "/v1/settlements/{setl_id}/trace", tag = "settlement", params(("setl_id" = String, Path)), responses((status = 200, body = TraceView)))]
pub async fn trace(State(s): State<AppState>, Caller(who): Caller, Path(setl_id): Path<String>) -> Result<Json<TraceView>, ApiError> {
    let st = s.service.settlement_trace(&who, &setl_id).await?;
    Ok(Json(TraceView { receipt: ReceiptView::of(&st), trace: st.receipt.trace.clone() }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonthBody {
    /// `YYYY-MM`
    pub month: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct JobStarted {
    pub job_id: i64,
}

/// Starts the month's personal-account credits (operator); follow it at `/v1/jobs/{id}`.
#[utoipa::path(post, path = "/v1/jobs/credit-accounts", tag = "jobs", request_body = MonthBody, responses((status = 202, body = JobStarted)))]
pub async fn start_credits(State(s): State<AppState>, Caller(who): Caller, JsonBody(b): JsonBody<MonthBody>) -> Result<(StatusCode, Json<JobStarted>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(JobStarted { job_id: s.service.start_credit_job(&who, &b.month).await? })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// `running`, `finished` or `failed`.
    #[schema(value_type = String)]
    pub state: yikatong_service::JobState,
    pub total: i64,
    pub done: i64,
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
    #[schema(value_type = String)]
    pub started_at: DateTime<Utc>,
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
    #[schema(value_type = Option<String>)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job's progress and, once finished, its report (operator).
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = i64, Path)), responses((status = 200, body = JobView)))]
pub async fn job(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>) -> Result<Json<JobView>, ApiError> {
    let j = s.service.job(&who, id).await?;
    Ok(Json(JobView {
        id: j.id,
        kind: j.kind,
        params: j.params,
        state: j.state,
        total: j.total,
        done: j.done,
        report: j.report,
        started_at: j.started_at,
        updated_at: j.updated_at,
        finished_at: j.finished_at,
    }))
}

/// Records a resident premium payment (holder online or by mini-program, clerk at a
/// street office, bank at its counter).
#[utoipa::path(post, path = "/v1/persons/{ssn}/premiums", tag = "premiums", params(("ssn" = String, Path)),
    request_body = yikatong_service::batch::NewPremium, responses((status = 201, body = yikatong_service::batch::PremiumView)))]
pub async fn pay_premium(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(ssn): Path<String>,
    JsonBody(b): JsonBody<yikatong_service::batch::NewPremium>,
) -> Result<(StatusCode, Json<yikatong_service::batch::PremiumView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.pay_premium(&who, &ssn, &b).await?)))
}

/// A person's premium payments and arrears, as visible today.
#[utoipa::path(get, path = "/v1/persons/{ssn}/premiums", tag = "premiums", params(("ssn" = String, Path)),
    responses((status = 200, body = yikatong_service::batch::PremiumsView)))]
pub async fn premiums(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>) -> Result<Json<yikatong_service::batch::PremiumsView>, ApiError> {
    Ok(Json(s.service.premiums(&who, &ssn).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// `YYYY-MM`
    pub period: String,
}

/// A period's arrears (operator).
#[utoipa::path(get, path = "/v1/premiums/arrears", tag = "premiums", params(PeriodQuery),
    responses((status = 200, body = Vec<yikatong_service::batch::ArrearView>)))]
pub async fn arrears(
    State(s): State<AppState>,
    Caller(who): Caller,
    axum::extract::Query(q): axum::extract::Query<PeriodQuery>,
) -> Result<Json<Vec<yikatong_service::batch::ArrearView>>, ApiError> {
    Ok(Json(s.service.arrears(&who, &q.period).await?))
}
