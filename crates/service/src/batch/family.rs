//! The family mutual-aid account (共济账户, R-PAY-2): a holder with a personal account
//! binds family members (each one's identity confirmed by name and ID number); on the
//! month's last day the holder's account pays each member's resident premium; a
//! deduction the balance cannot cover is an arrear, visible in the region's window of the
//! next month and payable online (R-PAY-1). One account pays for a person, and a holder
//! is never a member of another's (so a booking that locks a member and then their
//! holder can never wait in a circle).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::account::EntryKind;
use yikatong_core::identity::{Ssn, mask_ssn};
use yikatong_store::{FamilyMember, PremiumDeduction, PremiumPayment, StoreError};

use super::credits::{CreditFailure, parse_month};
use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFamilyMember {
    /// The member's ID number.
    pub member_ssn: String,
    /// The member's name, which must match the record of that ID number.
    pub member_name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FamilyMemberView {
    pub member_ssn_masked: String,
    pub member_name: String,
    #[schema(value_type = String)]
    pub bound_at: chrono::DateTime<chrono::Utc>,
    pub bound_by: String,
}

/// A month's deductions from the holders' accounts.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FamilyDeductionReport {
    pub month: String,
    pub members: u64,
    /// Premiums this run paid from a holder's account, and their sum.
    pub deducted: u64,
    pub deducted_fen: i64,
    /// Members whose premium for the month was paid already (by this run before, or
    /// another channel).
    pub already_paid: u64,
    /// Deductions the holder's balance could not cover: arrears now.
    pub insufficient: u64,
    /// Members the run could not price (their region's file has no premium), with why.
    pub failed: u64,
    pub failures: Vec<CreditFailure>,
}

/// The last day of the month starting `first`.
fn last_day(first: NaiveDate) -> NaiveDate {
    let next = if first.month() == 12 { NaiveDate::from_ymd_opt(first.year() + 1, 1, 1) } else { NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1) };
    next.and_then(|n| n.pred_opt()).unwrap_or(first)
}

impl Service {
    /// Binds a family member to the holder's mutual-aid account (the holder on the
    /// portal, a clerk at the counter).
    pub async fn bind_family_member(&self, who: &Principal, ssn: &str, req: &NewFamilyMember) -> ServiceResult<FamilyMemberView> {
        let holder = self.visible_person(who, ssn, Operation::BindFamilyMember).await?;
        let flag = format!("account.has_personal_account.{}", holder.category);
        if !self.region_flag(&holder.region, &flag, self.clock.today())? {
            return Err(Refusal::conflict("no_personal_account", format!("a {} person has no personal account to pay for family members ({flag})", holder.category)).into());
        }
        let member_ssn = Ssn::parse(&req.member_ssn).map_err(|e| Refusal::bad_input("invalid_ssn", format!("member_ssn: {e}")))?;
        let member = self.require_person(&member_ssn).await?;
        if member.name != req.member_name.trim() {
            return Err(Refusal::bad_input("identity_not_confirmed", "confirm the family member: the name does not match the ID number").into());
        }
        let (holder_hash, member_hash) = (holder.key.clone(), member.key.clone());
        if holder_hash == member_hash {
            return Err(Refusal::bad_input("same_person", "a holder is not their own family member").into());
        }
        // Both persons' rows locked (in one order): two bindings that share a person run
        // one after the other, so no binding makes a holder a member or the reverse.
        let mut tx = self.begin_write().await?;
        let mut pair = [holder_hash.as_str(), member_hash.as_str()];
        pair.sort_unstable();
        for h in pair {
            tx.lock_person(h).await?;
        }
        if tx.family_holder_of(&holder_hash).await?.is_some() {
            return Err(Refusal::conflict("holder_is_a_member", "this holder's own premium is paid from another's mutual-aid account; a member binds no one").into());
        }
        if tx.is_family_holder(&member_hash).await? {
            return Err(Refusal::conflict("member_is_a_holder", "this person pays for family members of their own and cannot be bound to another account").into());
        }
        let m = FamilyMember { member_hash, holder_hash, bound_at: self.clock.now(), bound_by: who.recorded_by() };
        tx.bind_family_member(&m).await.map_err(|e| match e {
            StoreError::Duplicate(_) => ServiceError::from(Refusal::conflict("already_bound", "this person is bound to a mutual-aid account already")),
            other => other.into(),
        })?;
        self.commit(tx).await?;
        Ok(FamilyMemberView { member_ssn_masked: mask_ssn(&member.ssn), member_name: member.name, bound_at: m.bound_at, bound_by: m.bound_by })
    }

    /// The holder's family members.
    pub async fn family_members(&self, who: &Principal, ssn: &str) -> ServiceResult<Vec<FamilyMemberView>> {
        let holder = self.visible_person(who, ssn, Operation::ReadPerson).await?;
        let mut out = Vec::new();
        for m in self.store.family_members_of(&holder.key_with(self.store.data_key())).await? {
            if let Some(p) = self.store.get_person_by_hash(&m.member_hash).await? {
                out.push(FamilyMemberView { member_ssn_masked: mask_ssn(&p.ssn), member_name: p.name, bound_at: m.bound_at, bound_by: m.bound_by });
            }
        }
        Ok(out)
    }

    /// The month's deductions (operator), from the month's last day on: each member's
    /// premium (the member's region's `premium.mutual_aid_fen.{category}`) from the
    /// holder's account, the ledger debit, the payment and the deduction result in one
    /// transaction under the holder's lock — a run started again pays nobody twice.
    pub async fn deduct_family_premiums(&self, who: &Principal, month: &str) -> ServiceResult<FamilyDeductionReport> {
        who.allow(Operation::RunFamilyDeductions)?;
        let first = parse_month(month)?;
        let due = last_day(first);
        if self.clock.today() < due {
            return Err(Refusal::conflict("not_yet_due", format!("{month}'s mutual-aid deductions run on the month's last day, {due}")).into());
        }
        let mut report = FamilyDeductionReport { month: month.into(), ..Default::default() };
        let mut after = String::new();
        loop {
            let page = self.store.family_page(&after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.member_hash.clone();
            for m in page {
                report.members += 1;
                let Some(member) = self.store.get_person_by_hash(&m.member_hash).await? else { continue };
                if self.store.premium_payments(&m.member_hash).await?.iter().any(|p| p.period == month) {
                    report.already_paid += 1;
                    continue;
                }
                let name = format!("premium.mutual_aid_fen.{}", member.category);
                let amount = match self.policies.region(&member.region).map_err(ServiceError::from).and_then(|p| p.fen(&name, first).map_err(ServiceError::from)) {
                    Ok(a) => a.0,
                    Err(ServiceError::Refused(r)) => {
                        report.failed += 1;
                        if report.failures.len() < 100 {
                            report.failures.push(CreditFailure { ssn_masked: mask_ssn(&member.ssn), code: r.code.to_string(), reason: r.message });
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let now = self.clock.now();
                let reference = format!("mutual_aid:{month}:{}", &m.member_hash[..m.member_hash.len().min(24)]);
                let mut tx = self.begin_write().await?;
                tx.lock_person(&m.holder_hash).await?;
                let covered = tx.account_balance(&m.holder_hash).await? >= amount;
                if covered {
                    let payment = PremiumPayment {
                        person_hash: m.member_hash.clone(),
                        period: month.into(),
                        amount_fen: amount,
                        channel: "mutual_aid".into(),
                        payer_hash: Some(m.holder_hash.clone()),
                        paid_at: now,
                        reference: reference.clone(),
                    };
                    if !tx.insert_premium_payment(&payment).await? {
                        // Another run paid it meanwhile: dropping the transaction keeps nothing.
                        report.already_paid += 1;
                        continue;
                    }
                    tx.append_account_entry(&m.holder_hash, now, EntryKind::MutualAid, -amount, Some(&reference), &format!("family mutual-aid premium {month}")).await?;
                }
                let reason = (!covered).then(|| "共济账户余额不足: the mutual-aid account's balance is below the premium".to_string());
                tx.record_deduction(&PremiumDeduction { person_hash: m.member_hash.clone(), period: month.into(), ok: covered, reason }, now).await?;
                self.commit(tx).await?;
                if covered {
                    report.deducted += 1;
                    report.deducted_fen += amount;
                } else {
                    report.insufficient += 1;
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_pay_2_deductions_fall_on_the_months_last_day() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(last_day(d("2026-02-01")), d("2026-02-28"));
        assert_eq!(last_day(d("2028-02-01")), d("2028-02-29"));
        assert_eq!(last_day(d("2026-12-01")), d("2026-12-31"));
    }
}
