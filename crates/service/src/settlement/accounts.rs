//! The personal account (R-ACC-1, R-ACC-2): the balance is the sum of append-only
//! entries; a credit outside the monthly run is an entry too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::account::EntryKind;
use yikatong_core::identity::Ssn;
use yikatong_core::money::{Fen, limits};

use crate::{Service, ServiceResult};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountEntryView {
    pub id: i64,
    #[schema(value_type = String)]
    pub at: DateTime<Utc>,
    #[schema(value_type = String)]
    pub kind: EntryKind,
    pub amount_fen: i64,
    pub reference: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub ssn_masked: String,
    pub balance_fen: i64,
    pub entries: Vec<AccountEntryView>,
}

impl Service {
    /// The account of a person the caller may see (a holder their own).
    pub async fn account(&self, who: &Principal, ssn: &str) -> ServiceResult<AccountView> {
        who.may(Operation::ReadAccount)?;
        let person = self.get_person(who, ssn).await?;
        let ssn = Ssn::parse(ssn)?;
        let hash = self.person_key(&ssn).await?.ok_or_else(|| Refusal::not_found("person_not_found", "no insured person has this ID number"))?;
        who.allow_for(Operation::ReadAccount, &hash)?;
        Ok(account_view(person.ssn_masked, self.store.account_entries(&hash).await?))
    }

    /// A credit outside the monthly run (operator): transfer-in from another city, a
    /// correction. A negative correction may not take the balance below zero.
    pub async fn credit_account(&self, who: &Principal, ssn: &str, amount_fen: i64, kind: Option<&str>, reason: &str) -> ServiceResult<AccountView> {
        who.allow(Operation::CreditAccount)?;
        let kind = EntryKind::by_operator(kind)?;
        if reason.trim().is_empty() {
            return Err(Refusal::bad_input("reason_required", "say why the account is credited").into());
        }
        if amount_fen == 0 || (amount_fen < 0 && kind != EntryKind::Correction) {
            return Err(Refusal::bad_input("invalid_amount", "a credit is a positive amount of fen (only a correction may be negative)").into());
        }
        if !Fen(amount_fen.saturating_abs()).within_limits() {
            return Err(Refusal::bad_input("amount_out_of_range", format!("amount_fen: a credit or correction is at most {} yuan", limits::MAX_AMOUNT)).into());
        }
        let ssn_ok = Ssn::parse(ssn)?;
        let person = self.get_person(who, ssn).await?;
        let hash = self.person_key(&ssn_ok).await?.ok_or_else(|| Refusal::not_found("person_not_found", "no insured person has this ID number"))?;
        let mut tx = self.begin_write().await?;
        tx.lock_person(&hash).await?;
        if tx.account_balance(&hash).await?.checked_add(amount_fen).is_none_or(|b| b < 0) {
            return Err(Refusal::conflict("insufficient_balance", "the correction would take the balance below zero").into());
        }
        tx.append_account_entry(&hash, self.clock.now(), kind, amount_fen, None, reason.trim()).await?;
        // Read in the transaction: its commit may wait for the request's kept answer.
        let view = account_view(person.ssn_masked, tx.account_entries(&hash).await?);
        self.commit(tx).await?;
        Ok(view)
    }
}

fn account_view(ssn_masked: String, entries: Vec<yikatong_store::AccountEntry>) -> AccountView {
    let entries: Vec<AccountEntryView> =
        entries.into_iter().map(|e| AccountEntryView { id: e.id, at: e.at, kind: e.kind, amount_fen: e.amount_fen, reference: e.reference, reason: e.reason }).collect();
    AccountView { ssn_masked, balance_fen: entries.iter().map(|e| e.amount_fen).sum(), entries }
}
