//! Manual reimbursement claims (R-SET-6, R-SET-8): a claim submitted at the counter
//! carries what the funds reimburse and the date it is due (the region's working days,
//! `reimbursement.payment_working_days`); a clerk approves it; the operator's payment
//! file hands the approved ones to the bank (into the card's financial zone where the
//! card has one, as Jinan pays, 002, else to the bank account on record); the bank's
//! result pays or fails each, with its reason; the holder follows it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::settlement::ClaimState;
use yikatong_store::ReimbursementClaim;

use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReimbursementView {
    /// The claim's id (its settlement's `setl_id`).
    pub id: String,
    /// `submitted`, `approved`, `sent`, `paid` or `failed`.
    #[schema(value_type = String)]
    pub state: ClaimState,
    /// What the funds reimburse.
    pub amount_fen: i64,
    /// When it reaches the holder; absent while the calendar lacks the year or the
    /// region's file names no period.
    #[schema(value_type = Option<String>)]
    pub due_on: Option<NaiveDate>,
    #[schema(value_type = String)]
    pub submitted_at: DateTime<Utc>,
    #[schema(value_type = Option<String>)]
    pub approved_at: Option<DateTime<Utc>>,
    /// Why the bank could not pay it (`failed`).
    pub failure_reason: Option<String>,
}

/// The bank's result for one claim of a payment file.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentResult {
    pub id: String,
    pub paid: bool,
    /// Why it failed (required when `paid` is false).
    pub reason: Option<String>,
}

/// What became of one line of the bank's result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentResultReport {
    pub id: String,
    pub ok: bool,
    #[schema(value_type = Option<String>)]
    pub state: Option<ClaimState>,
    pub error: Option<String>,
}

/// The most claims one payment file takes; the rest wait for the next file.
const PAYMENT_FILE_CLAIMS: i64 = 10_000;

fn payment_file(lines: Vec<String>) -> String {
    let mut out = String::from("file_id,id,ssn,name,amount_fen,payee,card_number\n");
    for l in lines {
        out.push_str(&l);
    }
    out
}

/// One claim's line: paid into the financial zone of the holder's living financial card
/// (Jinan, 002), else to the bank account on record.
fn payment_line(file_id: &str, c: &ReimbursementClaim, person: &yikatong_store::Person, cards: &[yikatong_core::card::Card]) -> String {
    let card = cards.iter().filter(|k| k.state.is_alive() && k.financial).max_by_key(|k| k.id);
    let (payee, number) = match card {
        Some(k) => ("financial_zone", k.card_number.clone().unwrap_or_default()),
        None => ("bank_account", String::new()),
    };
    format!("{file_id},{},{},{},{},{payee},{number}\n", c.id, person.ssn, person.name, c.amount_fen)
}

pub(crate) fn claim_view(c: &ReimbursementClaim) -> ReimbursementView {
    ReimbursementView {
        id: c.id.clone(),
        state: c.state,
        amount_fen: c.amount_fen,
        due_on: c.due_on,
        submitted_at: c.created_at,
        approved_at: c.approved_at,
        failure_reason: c.failure_reason.clone(),
    }
}

impl Service {
    /// The date a claim submitted at `at` is due: the region's working days after it
    /// (R-CAL-1); `None` when the region's file has no period or the calendar lacks a
    /// year it would reach (filled in as the ready dates are, R-CAL-2).
    pub(crate) fn reimbursement_due_on(&self, region: &str, at: DateTime<Utc>) -> ServiceResult<Option<NaiveDate>> {
        let policy = self.policies.region(region)?;
        let name = "reimbursement.payment_working_days";
        if !policy.parameters.contains_key(name) {
            return Ok(None);
        }
        let day = at.with_timezone(&yikatong_core::clock::shanghai()).date_naive();
        let n = policy.working_days(name, day).map_err(ServiceError::from)?;
        Ok(self.calendar()?.add_working_days(day, n).ok())
    }

    /// The claim of a manual reimbursement.
    pub async fn reimbursement(&self, id: &str) -> ServiceResult<ReimbursementView> {
        let c =
            self.store.reimbursement_claim(id).await?.ok_or_else(|| ServiceError::from(Refusal::not_found("claim_not_found", format!("there is no reimbursement claim {id}"))))?;
        Ok(claim_view(&c))
    }

    /// A clerk approves a submitted claim.
    pub async fn approve_reimbursement(&self, who: &Principal, id: &str) -> ServiceResult<ReimbursementView> {
        who.allow(Operation::ManualReimbursement)?;
        if !self.store.approve_reimbursement(id, &who.recorded_by(), self.clock.now()).await? {
            let c = self.reimbursement(id).await?;
            return Err(Refusal::conflict("not_submitted", format!("claim {id} is {}, not submitted", c.state)).into());
        }
        self.reimbursement(id).await
    }

    /// A person's claims, newest first (the holder their own, a clerk, an operator).
    pub async fn reimbursements_of(&self, who: &Principal, ssn: &str) -> ServiceResult<Vec<ReimbursementView>> {
        let person = self.visible_person(who, ssn, Operation::ReadSettlements).await?;
        let hash = person.key_with(self.store.data_key());
        Ok(self.store.reimbursement_claims_of(&hash).await?.iter().rev().map(claim_view).collect())
    }

    /// A new payment file of the approved claims (operator), CSV: `file_id, id, ssn,
    /// name, amount_fen, payee, card_number`. The claims are put into it and the file is
    /// written in one transaction, so each claim goes into one file only, and with an
    /// `Idempotency-Key` a file whose answer was lost is answered again, the same; a
    /// file is also fetched again by its id.
    pub async fn reimbursement_payment_file(&self, who: &Principal) -> ServiceResult<String> {
        who.allow(Operation::PayReimbursements)?;
        let now = self.clock.now();
        let file_id = super::booking::new_setl_id("P", now);
        let mut tx = self.begin_write().await?;
        let mut rows = Vec::new();
        for c in tx.send_approved_reimbursements(&file_id, now, PAYMENT_FILE_CLAIMS).await? {
            let Some(person) = tx.person(&c.person_hash).await? else { continue };
            let cards = tx.person_cards(&c.person_hash).await?;
            rows.push(payment_line(&file_id, &c, &person, &cards));
        }
        self.commit(tx).await?;
        Ok(payment_file(rows))
    }

    /// A payment file again, as first made (operator).
    pub async fn reimbursement_payment_file_again(&self, who: &Principal, file_id: &str) -> ServiceResult<String> {
        who.allow(Operation::PayReimbursements)?;
        let mut rows = Vec::new();
        for c in self.store.reimbursements_in_file(file_id).await? {
            let Some(person) = self.store.get_person_by_hash(&c.person_hash).await? else { continue };
            let cards = self.store.cards_of_person(&c.person_hash).await?;
            rows.push(payment_line(file_id, &c, &person, &cards));
        }
        Ok(payment_file(rows))
    }

    /// The bank's result of a payment file (bank): each line pays or fails its claim,
    /// reported by line; a claim not sent is refused, nothing changes twice.
    pub async fn record_reimbursement_results(&self, who: &Principal, results: &[PaymentResult]) -> ServiceResult<Vec<PaymentResultReport>> {
        who.allow(Operation::RecordReimbursementResults)?;
        let now = self.clock.now();
        let mut out = Vec::with_capacity(results.len());
        for r in results {
            let reason = r.reason.as_deref().map(str::trim).filter(|x| !x.is_empty());
            let outcome = if !r.paid && reason.is_none() {
                Err("a failed payment needs its reason".to_string())
            } else if self.store.move_reimbursement(&r.id, ClaimState::Sent, if r.paid { ClaimState::Paid } else { ClaimState::Failed }, reason, now).await? {
                Ok(if r.paid { ClaimState::Paid } else { ClaimState::Failed })
            } else {
                Err(format!("claim {} is not in a payment file awaiting its result", r.id))
            };
            out.push(match outcome {
                Ok(state) => PaymentResultReport { id: r.id.clone(), ok: true, state: Some(state), error: None },
                Err(e) => PaymentResultReport { id: r.id.clone(), ok: false, state: None, error: Some(e) },
            });
        }
        Ok(out)
    }
}
