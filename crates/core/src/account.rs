//! The personal account's monthly credit (R-ACC-1), from the region's dated rule: a
//! share of the contribution base, or a fixed amount (by age band for retirees).

use chrono::NaiveDate;

use crate::Refusal;
use crate::money::{BasisPoints, Fen};
use crate::policy::RegionPolicy;
use crate::registry::Category;

crate::closed_set! {
    /// What an entry of the personal account (个人账户) is. Credits are positive, debits
    /// negative; the balance is the entries' sum.
    pub enum EntryKind {
        /// The month's credit (R-ACC-1), written once per person and month.
        MonthlyCredit = "monthly_credit",
        /// An operator's credit outside the monthly run.
        Credit = "credit",
        /// 转入 a balance transferred in from another city's account.
        TransferIn = "transfer_in",
        /// A correction, the only entry an operator may make negative.
        Correction = "correction",
        /// The account's share of a settlement (a debit).
        Settlement = "settlement",
        /// A reversed settlement's account share given back.
        Reversal = "reversal",
        /// A family member's mutual-aid premium (R-PAY-2), from the holder's account.
        MutualAid = "mutual_aid",
    }
}

impl EntryKind {
    /// The kinds an operator may enter by hand (`POST /v1/persons/{ssn}/account/credits`).
    pub const BY_OPERATOR: [EntryKind; 3] = [EntryKind::Credit, EntryKind::TransferIn, EntryKind::Correction];

    /// An operator's entry kind from a request (`credit` when none is given):
    /// `invalid_kind` names the kinds an operator may enter.
    pub fn by_operator(text: Option<&str>) -> Result<EntryKind, Refusal> {
        Self::one_of(text, &Self::BY_OPERATOR, EntryKind::Credit).map_err(|kinds| Refusal::bad_input("invalid_kind", format!("kind must be one of {kinds}")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonthlyCredit {
    /// Credit this amount; the rule that gave it.
    Credit(Fen, String),
    /// The category has no personal account.
    NotEligible(String),
}

/// The credit for a person in the month starting `month`.
pub fn monthly_credit(policy: &RegionPolicy, month: NaiveDate, category: Category, age: u32, base: Option<Fen>) -> Result<MonthlyCredit, Refusal> {
    let missing = |names: &[String]| Refusal::conflict("policy_not_in_force", format!("policy {} has none of {} for {month}", policy.code, names.join(", ")));
    let flag = format!("account.has_personal_account.{category}");
    if !policy.parameters.contains_key(&flag) {
        return Err(missing(&[flag]));
    }
    if !policy.flag(&flag, month).map_err(|e| Refusal::conflict("policy_not_in_force", e.to_string()))? {
        return Ok(MonthlyCredit::NotEligible(format!("{category}: no personal account ({flag})")));
    }
    let banded = [format!("account.monthly_credit.{category}.from_70"), format!("account.monthly_credit.{category}.under_70")];
    let band = if banded.iter().any(|n| policy.parameters.contains_key(n)) {
        let from = "account.age_band_from_70_age";
        if !policy.parameters.contains_key(from) {
            return Err(missing(&[from.to_string()]));
        }
        let from = policy.years(from, month).map_err(|e| Refusal::conflict("policy_not_in_force", e.to_string()))?;
        if age >= from { "from_70" } else { "under_70" }
    } else {
        "under_70"
    };
    let fixed = [format!("account.monthly_credit.{category}.{band}"), format!("account.monthly_credit.{category}")];
    for name in &fixed {
        if policy.parameters.contains_key(name) {
            let v = policy.fen(name, month).map_err(|e| Refusal::conflict("policy_not_in_force", e.to_string()))?;
            return Ok(MonthlyCredit::Credit(v, name.clone()));
        }
    }
    let rate = format!("account.monthly_credit_rate.{category}");
    if policy.parameters.contains_key(&rate) {
        let bp: BasisPoints = policy.ratio(&rate, month).map_err(|e| Refusal::conflict("policy_not_in_force", e.to_string()))?;
        let base = base.ok_or_else(|| Refusal::conflict("no_contribution_base", "the person has no contribution base to take the credit from"))?;
        return Ok(MonthlyCredit::Credit(base.share(bp), format!("{rate} × {base} yuan")));
    }
    let mut names = fixed.to_vec();
    names.push(rate);
    Err(missing(&names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicySet;

    #[test]
    fn r_acc_1_beijing_monthly_credit() {
        let set = PolicySet::shipped().unwrap();
        let bj = set.region("beijing").unwrap();
        let nov = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(
            monthly_credit(bj, nov, Category::InService, 40, Some(Fen(1_234_567))).unwrap(),
            MonthlyCredit::Credit(Fen(24_691), "account.monthly_credit_rate.in_service × 12345.67 yuan".into())
        );
        assert!(matches!(monthly_credit(bj, nov, Category::Resident, 40, None).unwrap(), MonthlyCredit::NotEligible(_)));
        assert_eq!(monthly_credit(bj, nov, Category::InService, 40, None).unwrap_err().code, "no_contribution_base");
        assert_eq!(monthly_credit(bj, nov, Category::Retired, 72, None).unwrap(), MonthlyCredit::Credit(Fen(11_000), "account.monthly_credit.retired.from_70".into()));
        assert_eq!(
            monthly_credit(bj, nov, Category::Retired, 70, None).unwrap(),
            MonthlyCredit::Credit(Fen(11_000), "account.monthly_credit.retired.from_70".into()),
            "70岁以上 includes 70"
        );
        assert_eq!(monthly_credit(bj, nov, Category::Retired, 69, None).unwrap(), MonthlyCredit::Credit(Fen(10_000), "account.monthly_credit.retired.under_70".into()));
        let jinan = set.region("jinan").unwrap();
        assert_eq!(monthly_credit(jinan, nov, Category::InService, 40, Some(Fen(100))).unwrap_err().code, "policy_not_in_force");
    }
}
