//! Manual reimbursement claims (R-SET-6, R-SET-8): a claim submitted at the counter
//! carries what the funds reimburse and the date it is due (the region's working days,
//! `reimbursement.payment_working_days`); a clerk approves it; the holder follows it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_store::ReimbursementClaim;

use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReimbursementView {
    /// The claim's id (its settlement's `setl_id`).
    pub id: String,
    /// `submitted` or `approved`.
    pub state: String,
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
}

pub(crate) fn claim_view(c: &ReimbursementClaim) -> ReimbursementView {
    ReimbursementView { id: c.id.clone(), state: c.state.clone(), amount_fen: c.amount_fen, due_on: c.due_on, submitted_at: c.created_at, approved_at: c.approved_at }
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
        let c = self.store.reimbursement_claim(id).await?.ok_or_else(|| ServiceError::from(Refusal::not_found("claim_not_found", format!("there is no reimbursement claim {id}"))))?;
        Ok(claim_view(&c))
    }

    /// A clerk approves a submitted claim.
    pub async fn approve_reimbursement(&self, who: &Principal, id: &str) -> ServiceResult<ReimbursementView> {
        who.allow(Operation::ManualReimbursement)?;
        let by = who.outlet.as_ref().map_or_else(|| who.role.as_str().to_string(), |o| format!("clerk at {o}"));
        if !self.store.approve_reimbursement(id, &by, self.clock.now()).await? {
            let c = self.reimbursement(id).await?;
            return Err(Refusal::conflict("not_submitted", format!("claim {id} is {}, not submitted", c.state)).into());
        }
        self.reimbursement(id).await
    }

    /// A person's claims, newest first (the holder their own, a clerk, an operator).
    pub async fn reimbursements_of(&self, who: &Principal, ssn: &str) -> ServiceResult<Vec<ReimbursementView>> {
        let person = self.visible_person(who, ssn, Operation::ReadSettlements).await?;
        let hash = self.store.data_key().lookup_hash(&person.ssn);
        Ok(self.store.reimbursement_claims_of(&hash).await?.iter().rev().map(claim_view).collect())
    }
}
