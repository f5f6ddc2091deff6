//! The outpatient settlement engine (SPEC §5): fee lines → the receipt's split, with a
//! trace of which parameter, value and date produced each amount. Pure: the caller
//! locks and books.
//!
//! Order of the split, per line then per visit:
//! 1. class C and registration fees are own expense (自费, `fulamt_ownpay_amt`);
//!    the diagnosis fee: the fund pays its fixed amount, the rest is own expense (R-SET-4);
//! 2. above a price ceiling: own expense (`overlmt_selfpay`);
//! 3. class B: the region's share is self-pay 2 (自付二, `preselfpay_amt`);
//! 4. what remains is the insured amount (`inscp_scp_amt`): the deductible left this
//!    year first (R-SET-2), then the fund's ratio (by category and institution level)
//!    within the region's insured-amount limit and annual fund cap; the rest is
//!    self-pay 1 (自付一).
//!
//! The personal account pays the part under the deductible while its balance lasts
//! (when the HIS asks, `acct_used_flag` 1); cash pays the rest. Every amount is exact
//! fen; each ratio share is rounded half up and its remainder is the holder's, so
//! total = fund + personal and personal = account + cash always hold.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::catalog::{CatalogItem, FeeLine, ItemClass, ItemKind, line_product};
use crate::Refusal;
use crate::money::{BasisPoints, Fen};
use crate::policy::{DatedValue, PolicyValue, RegionPolicy};
use crate::registry::InstitutionLevel;

/// The person's outpatient totals for the calendar year (R-ACC-1 / R-SET-2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearTotals {
    pub deductible_used: Fen,
    /// Fund paid by ratio this year (counts toward the annual cap).
    pub fund_paid: Fen,
    /// Insured amount above the deductible this year (counts toward the limit).
    pub insured_used: Fen,
}

impl YearTotals {
    pub fn plus(self, r: &Receipt) -> YearTotals {
        YearTotals {
            deductible_used: self.deductible_used + r.deductible_applied,
            fund_paid: self.fund_paid + r.ratio_fund,
            insured_used: self.insured_used + r.within_limit,
        }
    }
    /// R-SET-7: a reversal restores exactly what the settlement added.
    pub fn minus(self, r: &Receipt) -> YearTotals {
        YearTotals {
            deductible_used: self.deductible_used - r.deductible_applied,
            fund_paid: self.fund_paid - r.ratio_fund,
            insured_used: self.insured_used - r.within_limit,
        }
    }
}

/// Everything a settlement depends on.
pub struct SettlementInput<'a> {
    pub policy: &'a RegionPolicy,
    pub date: NaiveDate,
    /// `in_service`, `retired`, `resident`, `flexible`.
    pub category: &'a str,
    pub age: u32,
    pub level: InstitutionLevel,
    pub lines: &'a [(FeeLine, CatalogItem)],
    pub totals: YearTotals,
    pub account_balance: Fen,
    pub use_account: bool,
}

/// One step of the trace: which parameter, which value, from which date, what amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    pub step: String,
    pub parameter: Option<String>,
    pub value: Option<String>,
    pub from: Option<NaiveDate>,
    pub source: Option<String>,
    pub amount_fen: i64,
}

/// How each line was classified (2204's `result`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineSplit {
    pub sn: String,
    pub amount: Fen,
    pub class: ItemClass,
    pub fulamt_ownpay: Fen,
    pub overlmt: Fen,
    pub preselfpay: Fen,
    pub inscp: Fen,
    pub fund_fixed: Fen,
    pub price_ceiling_fen: Option<i64>,
    /// The holder's share of the line before the deductible, in basis points.
    pub selfpay_prop: BasisPoints,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// `medfee_sumamt`
    pub total: Fen,
    /// 自费: class C, registration, diagnosis fee beyond the fund's fixed part.
    pub fulamt_ownpay: Fen,
    /// Own expense above price ceilings.
    pub overlmt_selfpay: Fen,
    /// 自付二: the class-B share.
    pub preselfpay: Fen,
    /// The insured amount the deductible and the ratio apply to.
    pub inscp: Fen,
    /// `act_pay_dedc`
    pub deductible_applied: Fen,
    /// The part of the insured amount above the deductible within the limit.
    pub within_limit: Fen,
    pub ratio: BasisPoints,
    /// Fund paid by the ratio (after the cap).
    pub ratio_fund: Fen,
    /// Fund's fixed payments (diagnosis fee).
    pub fixed_fund: Fen,
    /// `hifp_pay` = ratio fund + fixed payments.
    pub hifp_pay: Fen,
    pub fund_pay_sumamt: Fen,
    /// 自付一: deductible, the holder's ratio share, above the cap or limit.
    pub self_pay_1: Fen,
    pub psn_part_amt: Fen,
    pub acct_pay: Fen,
    pub psn_cash_pay: Fen,
    pub balance_after: Fen,
    pub lines: Vec<LineSplit>,
    pub trace: Vec<TraceStep>,
}

impl Receipt {
    /// The receipt's identities (R-SET-3), asserted before anything is booked: total =
    /// fund payment + personal burden; the personal burden = self-pay 1 + self-pay 2 +
    /// own expense (above-ceiling included) = account + cash; the lines add up to the
    /// total; no part is negative. Names the first identity that fails.
    pub fn check_identities(&self) -> Result<(), String> {
        let sum = |parts: &[Fen]| Fen::checked_sum(parts.iter().copied());
        let lines = Fen::checked_sum(self.lines.iter().map(|l| l.amount));
        let checks: [(&str, Option<Fen>, Fen); 5] = [
            ("total = fund_pay_sumamt + psn_part_amt", sum(&[self.fund_pay_sumamt, self.psn_part_amt]), self.total),
            ("psn_part_amt = self-pay 1 + preselfpay + fulamt_ownpay + overlmt_selfpay", sum(&[self.self_pay_1, self.preselfpay, self.fulamt_ownpay, self.overlmt_selfpay]), self.psn_part_amt),
            ("psn_part_amt = acct_pay + psn_cash_pay", sum(&[self.acct_pay, self.psn_cash_pay]), self.psn_part_amt),
            ("fund_pay_sumamt = hifp_pay", Some(self.hifp_pay), self.fund_pay_sumamt),
            ("total = the lines' amounts", lines, self.total),
        ];
        for (identity, left, right) in checks {
            if left != Some(right) {
                return Err(format!("receipt identity {identity} does not hold: {left:?} against {right}"));
            }
        }
        let parts = [self.total, self.fund_pay_sumamt, self.psn_part_amt, self.self_pay_1, self.preselfpay, self.fulamt_ownpay, self.overlmt_selfpay, self.acct_pay, self.psn_cash_pay, self.hifp_pay];
        if parts.iter().any(|p| p.0 < 0) {
            return Err(format!("a part of the receipt is negative: {parts:?}"));
        }
        Ok(())
    }
}

fn refusal(e: crate::policy::PolicyError) -> Refusal {
    Refusal::conflict("policy_not_in_force", e.to_string())
}

/// Looks up the first of `names` the region defines, in force on `on`.
fn first_of<'p>(policy: &'p RegionPolicy, names: &[String], on: NaiveDate) -> Result<Option<(String, &'p DatedValue)>, Refusal> {
    for n in names {
        if policy.parameters.contains_key(n) {
            return policy.value_at(n, on).map(|v| Some((n.clone(), v))).map_err(refusal);
        }
    }
    Ok(None)
}

fn int(v: &DatedValue) -> i64 {
    match v.value {
        PolicyValue::Integer(i) => i,
        _ => 0,
    }
}

fn step(step: &str, p: Option<&(String, &DatedValue)>, amount: Fen) -> TraceStep {
    TraceStep {
        step: step.into(),
        parameter: p.map(|(n, _)| n.clone()),
        value: p.map(|(_, v)| v.value.to_string()),
        from: p.map(|(_, v)| v.from),
        source: p.map(|(_, v)| v.source.clone()),
        amount_fen: amount.0,
    }
}

/// The parameter-name keys for a person and an institution level.
fn keys(category: &str, age: u32, level: InstitutionLevel) -> (Vec<String>, Vec<&'static str>, &'static str) {
    let mut cats = Vec::new();
    if category == "retired" && age >= 70 {
        cats.push("retired_70_plus".to_string());
    }
    cats.push(category.to_string());
    let levels: Vec<&'static str> = match level {
        InstitutionLevel::Community => vec!["community"],
        InstitutionLevel::Level1 => vec!["level_1", "hospital"],
        InstitutionLevel::Level2 => vec!["level_2", "hospital"],
        InstitutionLevel::Level3 => vec!["level_3", "hospital"],
        InstitutionLevel::Pharmacy => vec!["pharmacy"],
    };
    let band = if age < 45 { "under_45" } else { "from_45" };
    (cats, levels, band)
}

/// Splits one fee line by its class, kind and price ceiling (2204's per-line result;
/// the first part of a settlement).
pub fn split_line(policy: &RegionPolicy, on: NaiveDate, line: &FeeLine, item: &CatalogItem, trace: &mut Vec<TraceStep>) -> Result<LineSplit, Refusal> {
    line.check()?;
    let a = line.amount;
    let mut split = LineSplit {
        sn: line.sn.clone(),
        amount: a,
        class: item.class,
        fulamt_ownpay: Fen::ZERO,
        overlmt: Fen::ZERO,
        preselfpay: Fen::ZERO,
        inscp: Fen::ZERO,
        fund_fixed: Fen::ZERO,
        price_ceiling_fen: item.price_ceiling_fen,
        selfpay_prop: BasisPoints(0),
    };
    match (item.kind, item.class) {
        (ItemKind::RegistrationFee, _) | (_, ItemClass::C) => {
            split.fulamt_ownpay = a;
            split.selfpay_prop = BasisPoints::WHOLE;
        }
        (ItemKind::DiagnosisFee, _) => {
            let Some(p) = first_of(policy, &["outpatient.diagnosis_fee_fund_payment".into()], on)? else {
                return Err(Refusal::conflict("policy_not_in_force", format!("policy {} has no outpatient.diagnosis_fee_fund_payment for {on}", policy.code)));
            };
            split.fund_fixed = a.min(Fen(int(p.1)));
            split.fulamt_ownpay = a - split.fund_fixed;
            trace.push(step(&format!("line {}: diagnosis fee, fund's fixed payment", line.sn), Some(&p), split.fund_fixed));
        }
        (_, class) => {
            let mut covered = a;
            if let Some(ceiling) = item.price_ceiling_fen {
                let at_ceiling = line_product(line.qty_e4, ceiling * 10_000);
                if at_ceiling < a {
                    split.overlmt = a - at_ceiling;
                    covered = at_ceiling;
                    trace.push(step(&format!("line {}: above the price ceiling {} yuan", line.sn, Fen(ceiling)), None, split.overlmt));
                }
            }
            if class == ItemClass::B {
                let Some(p) = first_of(policy, &["outpatient.class_b_self_pay".into()], on)? else {
                    return Err(Refusal::conflict("policy_not_in_force", format!("policy {} has no outpatient.class_b_self_pay for {on}", policy.code)));
                };
                let share = BasisPoints(int(p.1) as u32);
                split.preselfpay = covered.share(share);
                split.selfpay_prop = share;
                trace.push(step(&format!("line {}: class B self-pay 2", line.sn), Some(&p), split.preselfpay));
            }
            split.inscp = covered - split.preselfpay;
        }
    }
    Ok(split)
}

/// Settles one visit's fee lines.
pub fn settle(input: &SettlementInput) -> Result<Receipt, Refusal> {
    let policy = input.policy;
    let on = input.date;
    let mut trace = Vec::new();
    let (cats, levels, band) = keys(input.category, input.age, input.level);

    let mut lines = Vec::new();
    let (mut total, mut fulamt, mut overlmt, mut pre, mut inscp, mut fixed) = (Fen::ZERO, Fen::ZERO, Fen::ZERO, Fen::ZERO, Fen::ZERO, Fen::ZERO);
    for (line, item) in input.lines {
        let split = split_line(policy, on, line, item, &mut trace)?;
        total += split.amount;
        fulamt += split.fulamt_ownpay;
        overlmt += split.overlmt;
        pre += split.preselfpay;
        inscp += split.inscp;
        fixed += split.fund_fixed;
        lines.push(split);
    }

    // The deductible (R-SET-2).
    let ded_names: Vec<String> = cats.iter().map(|c| format!("outpatient.deductible.{c}")).chain(levels.iter().map(|l| format!("outpatient.deductible.{l}"))).collect();
    let ded = first_of(policy, &ded_names, on)?;
    let deductible = ded.as_ref().map(|p| Fen(int(p.1))).ok_or_else(|| {
        Refusal::conflict("policy_not_in_force", format!("policy {} has none of {} for {on}", policy.code, ded_names.join(", ")))
    })?;
    let left = (deductible - input.totals.deductible_used).max(Fen::ZERO);
    let dedc = inscp.min(left);
    trace.push(step(&format!("deductible: {} yuan left this year", left), ded.as_ref(), dedc));
    let above = inscp - dedc;

    // The insured-amount limit, where the region has one.
    let limit_names: Vec<String> = cats.iter().map(|c| format!("outpatient.insured_amount_limit.{c}")).collect();
    let limit = first_of(policy, &limit_names, on)?;
    let within = match limit.as_ref() {
        Some(p) => {
            let room = (Fen(int(p.1)) - input.totals.insured_used).max(Fen::ZERO);
            let w = above.min(room);
            trace.push(step("insured amount within the yearly limit", Some(p), w));
            w
        }
        None => above,
    };

    // The fund's ratio.
    let mut ratio_names = Vec::new();
    for c in &cats {
        for l in &levels {
            ratio_names.push(format!("outpatient.fund_ratio.{c}.{l}"));
        }
    }
    ratio_names.extend(cats.iter().map(|c| format!("outpatient.fund_ratio.{c}")));
    ratio_names.extend(levels.iter().map(|l| format!("outpatient.fund_ratio.{l}")));
    let ratio_p = first_of(policy, &ratio_names, on)?;
    // Required whatever the amounts: a visit the region has no ratio for is refused,
    // not settled by luck because it stayed under the deductible.
    let ratio = match &ratio_p {
        Some(p) => BasisPoints(int(p.1) as u32),
        None => {
            return Err(Refusal::conflict("policy_not_in_force", format!("policy {} has none of {} for {on}", policy.code, ratio_names.join(", "))));
        }
    };
    let fund_raw = within.share(ratio);
    trace.push(step("fund's share above the deductible", ratio_p.as_ref(), fund_raw));

    // The annual cap.
    let cap_names: Vec<String> = cats.iter().flat_map(|c| [format!("outpatient.annual_fund_cap.{c}.{band}"), format!("outpatient.annual_fund_cap.{c}")]).collect();
    let cap = first_of(policy, &cap_names, on)?;
    let ratio_fund = match cap.as_ref() {
        Some(p) => {
            let room = (Fen(int(p.1)) - input.totals.fund_paid).max(Fen::ZERO);
            let f = fund_raw.min(room);
            trace.push(step("annual fund cap", Some(p), f));
            f
        }
        None => fund_raw,
    };

    let hifp = ratio_fund + fixed;
    let fund_sum = hifp;
    let personal = total - fund_sum;
    let acct = if input.use_account { dedc.min(input.account_balance.max(Fen::ZERO)) } else { Fen::ZERO };
    trace.push(step("personal account pays the part under the deductible", None, acct));
    let cash = personal - acct;
    let self_pay_1 = dedc + (above - ratio_fund);
    Ok(Receipt {
        total,
        fulamt_ownpay: fulamt,
        overlmt_selfpay: overlmt,
        preselfpay: pre,
        inscp,
        deductible_applied: dedc,
        within_limit: within,
        ratio,
        ratio_fund,
        fixed_fund: fixed,
        hifp_pay: hifp,
        fund_pay_sumamt: fund_sum,
        self_pay_1,
        psn_part_amt: personal,
        acct_pay: acct,
        psn_cash_pay: cash,
        balance_after: input.account_balance - acct,
        lines,
        trace,
    })
}
