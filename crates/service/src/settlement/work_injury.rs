//! Work injury (R-SET-7, 003 §3): a settlement later found to be a work injury is
//! reversed, the holder pays the visit in full, and a claim with the fee lines goes to
//! work-injury insurance. The reversal and the claim are one transaction: a settlement
//! is claimed once, and a 2208 racing the operator's declaration leaves either a plain
//! reversal or a claimed one, never both.

use serde::Serialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::identity::mask_ssn;
use yikatong_core::settlement::VisitState;
use yikatong_store::{StoreError, WorkInjuryClaim};

use super::Settlement;
use super::booking::new_setl_id;
use crate::{Service, ServiceError, ServiceResult};

/// A claim to work-injury insurance, as the operator sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkInjuryClaimView {
    pub claim_id: String,
    pub setl_id: String,
    pub mdtrt_id: String,
    pub institution: String,
    pub person_ssn_masked: String,
    pub total_fen: i64,
    /// What the holder owes besides the cash already paid (the fund's and the
    /// account's parts the reversal took back).
    pub cash_due_fen: i64,
    /// The settlement's fee lines as they were split.
    #[schema(value_type = Vec<Object>)]
    pub lines: serde_json::Value,
    pub state: String,
}

impl Service {
    /// Declares a settlement a work injury (operator): reversed exactly as by 2208, the
    /// holder's cash due recorded and the claim created with the fee lines.
    pub async fn declare_work_injury(&self, who: &Principal, setl_id: &str) -> ServiceResult<(Settlement, WorkInjuryClaimView)> {
        who.allow(Operation::DeclareWorkInjury)?;
        let (mut tx, person, s, receipt) = self.reversal(who, setl_id).await?;
        let claim = WorkInjuryClaim {
            claim_id: new_setl_id("W", self.clock.now()),
            setl_id: s.setl_id.clone(),
            mdtrt_id: s.mdtrt_id.clone(),
            person_hash: s.person_hash.clone(),
            institution: s.institution.clone(),
            total_fen: receipt.total.0,
            cash_due_fen: (receipt.fund_pay_sumamt + receipt.acct_pay + receipt.acct_mulaid_pay).0,
            lines: serde_json::to_value(&receipt.lines).map_err(|e| ServiceError::Internal(e.to_string()))?,
            state: "open".into(),
            created_at: self.clock.now(),
        };
        // The visit is closed to settlement: its lines are the claim's now.
        if let Some(mut visit) = tx.lock_visit(&s.mdtrt_id).await? {
            visit.state = VisitState::WorkInjury;
            tx.update_visit(&visit).await?;
        }
        tx.insert_work_injury_claim(&claim).await.map_err(|e| match e {
            StoreError::Duplicate(_) => ServiceError::from(Refusal::conflict("already_claimed", format!("settlement {setl_id} is already claimed as a work injury"))),
            other => other.into(),
        })?;
        self.commit(tx).await?;
        let view = claim_view(&claim, &person.ssn);
        Ok((self.reversed(s, person, receipt), view))
    }

    /// A work-injury claim (operator).
    pub async fn work_injury_claim(&self, who: &Principal, claim_id: &str) -> ServiceResult<WorkInjuryClaimView> {
        who.allow(Operation::DeclareWorkInjury)?;
        let claim = self
            .store
            .work_injury_claim(claim_id)
            .await?
            .ok_or_else(|| ServiceError::from(Refusal::not_found("claim_not_found", format!("there is no work-injury claim {claim_id}"))))?;
        let person = self.store.get_person_by_hash(&claim.person_hash).await?.ok_or_else(|| ServiceError::Internal("claim without person".into()))?;
        Ok(claim_view(&claim, &person.ssn))
    }
}

fn claim_view(c: &WorkInjuryClaim, ssn: &str) -> WorkInjuryClaimView {
    WorkInjuryClaimView {
        claim_id: c.claim_id.clone(),
        setl_id: c.setl_id.clone(),
        mdtrt_id: c.mdtrt_id.clone(),
        institution: c.institution.clone(),
        person_ssn_masked: mask_ssn(ssn),
        total_fen: c.total_fen,
        cash_due_fen: c.cash_due_fen,
        lines: c.lines.clone(),
        state: c.state.clone(),
    }
}
