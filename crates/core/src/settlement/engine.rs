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
//!    self-pay 1 (自付一);
//! 5. the ratio payment by fund (R-SET-3): each fund with a share in the region's file
//!    gets its part, the region's ratio fund the rest, each within its own yearly cap;
//!    a flagged person's subsidy fund pays a share of the holder's ratio share.
//!
//! The personal account pays the part under the deductible while its balance lasts
//! (when the HIS asks, `acct_used_flag` 1); cash pays the rest. Every amount is exact
//! fen; each ratio share is rounded half up and its remainder is the holder's, so
//! total = fund + personal and personal = account + cash always hold.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::catalog::{CatalogItem, FeeLine, ItemClass, ItemKind, line_product};
use super::funds::{Fund, FundPart, FundTotals, add_parts};
use crate::Refusal;
use crate::money::{BasisPoints, Fen};
use crate::policy::schema::Unit;
use crate::policy::{DatedValue, PolicyValue, RegionPolicy};
use crate::registry::{Category, InstitutionLevel, PersonFlag};

/// The person's outpatient totals for the calendar year (R-ACC-1 / R-SET-2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearTotals {
    pub deductible_used: Fen,
    /// Fund paid by ratio this year (counts toward the annual cap).
    pub fund_paid: Fen,
    /// Insured amount above the deductible this year (counts toward the limit).
    pub insured_used: Fen,
    /// What each fund paid this year (each fund's own cap, R-SET-3).
    #[serde(default)]
    pub by_fund: FundTotals,
}

impl YearTotals {
    pub fn plus(&self, r: &Receipt) -> YearTotals {
        YearTotals {
            deductible_used: self.deductible_used + r.deductible_applied,
            fund_paid: self.fund_paid + r.ratio_fund,
            insured_used: self.insured_used + r.within_limit,
            by_fund: add_parts(&self.by_fund, &r.funds, 1),
        }
    }
    /// R-SET-7: a reversal restores exactly what the settlement added.
    pub fn minus(&self, r: &Receipt) -> YearTotals {
        YearTotals {
            deductible_used: self.deductible_used - r.deductible_applied,
            fund_paid: self.fund_paid - r.ratio_fund,
            insured_used: self.insured_used - r.within_limit,
            by_fund: add_parts(&self.by_fund, &r.funds, -1),
        }
    }
}

/// Everything a settlement depends on.
pub struct SettlementInput<'a> {
    pub policy: &'a RegionPolicy,
    pub date: NaiveDate,
    pub category: Category,
    pub age: u32,
    pub level: InstitutionLevel,
    pub lines: &'a [(FeeLine, CatalogItem)],
    pub totals: YearTotals,
    pub account_balance: Fen,
    pub use_account: bool,
    /// R-PAY-2: the balance of the family mutual-aid account that pays for this person
    /// (their holder's), used after their own when `use_account`; zero when none.
    pub mutual_aid_balance: Fen,
    /// The person's flags (`disabled_veteran`, `civil_servant` get their subsidy).
    pub flags: &'a [PersonFlag],
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Paid by the ratio funds together (after the caps).
    pub ratio_fund: Fen,
    /// Fund's fixed payments (diagnosis fee), paid by the basic fund.
    pub fixed_fund: Fen,
    /// `hifp_pay`: the basic pooled fund's part + the fixed payments.
    pub hifp_pay: Fen,
    /// Each fund's part (R-SET-3), the fixed payments aside; funds that paid nothing
    /// are absent. (Receipts booked before the split carry none: all was `hifp_pay`.)
    #[serde(default)]
    pub funds: Vec<FundPart>,
    /// Every fund: the parts + the fixed payments.
    pub fund_pay_sumamt: Fen,
    /// 自付一: deductible, the holder's ratio share, above the cap or limit.
    pub self_pay_1: Fen,
    pub psn_part_amt: Fen,
    pub acct_pay: Fen,
    /// `acct_mulaid_pay`: paid by the family mutual-aid account (the holder's) after
    /// the person's own account (R-PAY-2).
    #[serde(default)]
    pub acct_mulaid_pay: Fen,
    /// Whose account paid `acct_mulaid_pay` (their lookup hash), set by the booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutual_aid_from: Option<String>,
    pub psn_cash_pay: Fen,
    pub balance_after: Fen,
    pub lines: Vec<LineSplit>,
    pub trace: Vec<TraceStep>,
}

impl Receipt {
    /// What `fund` paid (R-SET-3). The basic fund's part carries the fixed payments
    /// (`hifp_pay`); a receipt booked before the split by fund is all the basic fund's.
    pub fn paid_by(&self, fund: Fund) -> Fen {
        match fund {
            Fund::Basic => self.hifp_pay,
            _ => self.funds.iter().filter(|f| f.fund == fund).fold(Fen::ZERO, |a, f| a + f.amount),
        }
    }

    /// Each fund that paid something (R-SET-3), the basic fund first (with the fixed
    /// payments), then the others in the receipt's order.
    pub fn fund_payments(&self) -> Vec<FundPart> {
        let basic = FundPart { fund: Fund::Basic, amount: self.hifp_pay };
        std::iter::once(basic).chain(self.funds.iter().filter(|f| f.fund != Fund::Basic).copied()).filter(|f| f.amount != Fen::ZERO).collect()
    }

    /// The receipt as its reversal (冲正, 2208) answers it: every amount negated, and
    /// the balance after with the account's payment back in it.
    pub fn reversal(&self) -> Receipt {
        let mut r = self.clone();
        for f in [
            &mut r.total,
            &mut r.fulamt_ownpay,
            &mut r.overlmt_selfpay,
            &mut r.preselfpay,
            &mut r.inscp,
            &mut r.deductible_applied,
            &mut r.within_limit,
            &mut r.ratio_fund,
            &mut r.fixed_fund,
            &mut r.hifp_pay,
            &mut r.fund_pay_sumamt,
            &mut r.self_pay_1,
            &mut r.psn_part_amt,
            &mut r.acct_pay,
            &mut r.acct_mulaid_pay,
            &mut r.psn_cash_pay,
        ] {
            *f = -*f;
        }
        for part in &mut r.funds {
            part.amount = -part.amount;
        }
        r.balance_after = self.balance_after + self.acct_pay;
        r
    }

    /// The receipt's identities (R-SET-3), asserted before anything is booked: total =
    /// fund payment + personal burden; the personal burden = self-pay 1 + self-pay 2 +
    /// own expense (above-ceiling included) = account + cash; the lines add up to the
    /// total; no part is negative. Names the first identity that fails.
    pub fn check_identities(&self) -> Result<(), String> {
        let sum = |parts: &[Fen]| Fen::checked_sum(parts.iter().copied());
        let lines = Fen::checked_sum(self.lines.iter().map(|l| l.amount));
        let funds = if self.funds.is_empty() { Some(self.hifp_pay) } else { Fen::checked_sum(self.funds.iter().map(|f| f.amount).chain([self.fixed_fund])) };
        let basic = if self.funds.is_empty() {
            Some(self.hifp_pay)
        } else {
            Fen::checked_sum(self.funds.iter().filter(|f| f.fund == Fund::Basic).map(|f| f.amount).chain([self.fixed_fund]))
        };
        let checks: [(&str, Option<Fen>, Fen); 6] = [
            ("total = fund_pay_sumamt + psn_part_amt", sum(&[self.fund_pay_sumamt, self.psn_part_amt]), self.total),
            (
                "psn_part_amt = self-pay 1 + preselfpay + fulamt_ownpay + overlmt_selfpay",
                sum(&[self.self_pay_1, self.preselfpay, self.fulamt_ownpay, self.overlmt_selfpay]),
                self.psn_part_amt,
            ),
            ("psn_part_amt = acct_pay + acct_mulaid_pay + psn_cash_pay", sum(&[self.acct_pay, self.acct_mulaid_pay, self.psn_cash_pay]), self.psn_part_amt),
            ("fund_pay_sumamt = the funds' parts + the fixed payments", funds, self.fund_pay_sumamt),
            ("hifp_pay = the basic fund's part + the fixed payments", basic, self.hifp_pay),
            ("total = the lines' amounts", lines, self.total),
        ];
        for (identity, left, right) in checks {
            if left != Some(right) {
                return Err(format!("receipt identity {identity} does not hold: {left:?} against {right}"));
            }
        }
        let parts = [
            self.total,
            self.fund_pay_sumamt,
            self.psn_part_amt,
            self.self_pay_1,
            self.preselfpay,
            self.fulamt_ownpay,
            self.overlmt_selfpay,
            self.acct_pay,
            self.acct_mulaid_pay,
            self.psn_cash_pay,
            self.hifp_pay,
        ];
        if parts.iter().chain(self.funds.iter().map(|f| &f.amount)).any(|p| p.0 < 0) {
            return Err(format!("a part of the receipt is negative: {parts:?}"));
        }
        Ok(())
    }
}

fn refusal(e: crate::policy::PolicyError) -> Refusal {
    Refusal::conflict("policy_not_in_force", e.to_string())
}

/// A parameter the engine found, with its whole-number value read in its unit.
struct Found<'p> {
    name: String,
    value: &'p DatedValue,
    n: i64,
}

/// Looks up the first of `names` the region defines, in force on `on`, in `unit`. A
/// parameter in another unit is refused, never read as 0.
fn first_of<'p>(policy: &'p RegionPolicy, names: &[String], on: NaiveDate, unit: Unit) -> Result<Option<Found<'p>>, Refusal> {
    for n in names {
        let Some(p) = policy.parameters.get(n) else { continue };
        let value = policy.value_at(n, on).map_err(refusal)?;
        return match (&value.value, p.unit == unit) {
            (PolicyValue::Integer(i), true) => Ok(Some(Found { name: n.clone(), value, n: *i })),
            _ => Err(Refusal::conflict("policy_not_in_force", format!("policy {}: {n} is in {}, not {}", policy.code, p.unit.key(), unit.key()))),
        };
    }
    Ok(None)
}

fn required<'p>(policy: &'p RegionPolicy, names: &[String], on: NaiveDate, unit: Unit) -> Result<Found<'p>, Refusal> {
    first_of(policy, names, on, unit)?.ok_or_else(|| Refusal::conflict("policy_not_in_force", format!("policy {} has none of {} for {on}", policy.code, names.join(", "))))
}

fn step(step: &str, p: Option<&Found>, amount: Fen) -> TraceStep {
    TraceStep {
        step: step.into(),
        parameter: p.map(|f| f.name.clone()),
        value: p.map(|f| f.value.value.to_string()),
        from: p.map(|f| f.value.from),
        source: p.map(|f| f.value.source.clone()),
        amount_fen: amount.0,
    }
}

/// Whether the region defines any parameter whose name has `segment`.
fn uses(policy: &RegionPolicy, segment: &str) -> bool {
    policy.parameters.keys().any(|k| k.split('.').any(|s| s == segment))
}

/// The parameter-name keys for a person and an institution level. The age thresholds
/// are the region's (read only where the region has values for the band).
fn keys(policy: &RegionPolicy, on: NaiveDate, category: Category, age: u32, level: InstitutionLevel) -> Result<(Vec<String>, Vec<&'static str>, &'static str), Refusal> {
    let mut cats = Vec::new();
    if category == Category::Retired && uses(policy, "retired_70_plus") {
        let from = required(policy, &["outpatient.retired_70_plus_from_age".into()], on, Unit::Years)?;
        if i64::from(age) >= from.n {
            cats.push("retired_70_plus".to_string());
        }
    }
    cats.push(category.as_str().to_string());
    let levels: Vec<&'static str> = match level {
        InstitutionLevel::Community => vec!["community"],
        InstitutionLevel::Level1 => vec!["level_1", "hospital"],
        InstitutionLevel::Level2 => vec!["level_2", "hospital"],
        InstitutionLevel::Level3 => vec!["level_3", "hospital"],
        InstitutionLevel::Pharmacy => vec!["pharmacy"],
    };
    let band = if uses(policy, "from_45") || uses(policy, "under_45") {
        let from = required(policy, &["outpatient.age_band_from_45_age".into()], on, Unit::Years)?;
        if i64::from(age) < from.n { "under_45" } else { "from_45" }
    } else {
        "under_45"
    };
    Ok((cats, levels, band))
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
            let p = required(policy, &["outpatient.diagnosis_fee_fund_payment".into()], on, Unit::Fen)?;
            split.fund_fixed = a.min(Fen(p.n));
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
                let p = required(policy, &["outpatient.class_b_self_pay".into()], on, Unit::Bp)?;
                let share = basis_points(policy, &p)?;
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
    let (cats, levels, band) = keys(policy, on, input.category, input.age, input.level)?;

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
    let by_cat_level = |prefix: &str| -> Vec<String> {
        let mut names: Vec<String> = cats.iter().flat_map(|c| levels.iter().map(move |l| format!("{prefix}.{c}.{l}"))).collect();
        names.extend(cats.iter().map(|c| format!("{prefix}.{c}")));
        names
    };

    // The deductible (R-SET-2).
    let ded_names: Vec<String> = cats.iter().map(|c| format!("outpatient.deductible.{c}")).chain(levels.iter().map(|l| format!("outpatient.deductible.{l}"))).collect();
    let ded = required(policy, &ded_names, on, Unit::Fen)?;
    let left = (Fen(ded.n) - input.totals.deductible_used).max(Fen::ZERO);
    let dedc = inscp.min(left);
    trace.push(step(&format!("deductible: {left} yuan left this year"), Some(&ded), dedc));
    let above = inscp - dedc;

    // The insured-amount limit, where the region has one.
    let limit_names: Vec<String> = cats.iter().map(|c| format!("outpatient.insured_amount_limit.{c}")).collect();
    let within = match first_of(policy, &limit_names, on, Unit::Fen)? {
        Some(p) => {
            let room = (Fen(p.n) - input.totals.insured_used).max(Fen::ZERO);
            let w = above.min(room);
            trace.push(step("insured amount within the yearly limit", Some(&p), w));
            w
        }
        None => above,
    };

    // The fund's ratio. Required whatever the amounts: a visit the region has no
    // ratio for is refused, not settled by luck because it stayed under the deductible.
    let mut ratio_names = by_cat_level("outpatient.fund_ratio");
    ratio_names.extend(levels.iter().map(|l| format!("outpatient.fund_ratio.{l}")));
    let ratio_p = required(policy, &ratio_names, on, Unit::Bp)?;
    let ratio = basis_points(policy, &ratio_p)?;
    let fund_raw = within.share(ratio);
    trace.push(step("funds' share above the deductible", Some(&ratio_p), fund_raw));

    // The annual cap of the funds together.
    let cap_names: Vec<String> = cats.iter().flat_map(|c| [format!("outpatient.annual_fund_cap.{c}.{band}"), format!("outpatient.annual_fund_cap.{c}")]).collect();
    let capped = match first_of(policy, &cap_names, on, Unit::Fen)? {
        Some(p) => {
            let room = (Fen(p.n) - input.totals.fund_paid).max(Fen::ZERO);
            let f = fund_raw.min(room);
            trace.push(step("annual fund cap", Some(&p), f));
            f
        }
        None => fund_raw,
    };

    // The ratio payment by fund, then each fund's own cap (R-SET-3).
    let mut parts = ratio_parts(policy, on, &by_cat_level, ratio, capped, &mut trace)?;
    for part in &mut parts {
        let names: Vec<String> = cats.iter().map(|c| format!("outpatient.fund_cap.{}.{c}", part.fund.key())).collect();
        if let Some(p) = first_of(policy, &names, on, Unit::Fen)? {
            let paid = input.totals.by_fund.get(&part.fund).copied().unwrap_or(Fen::ZERO);
            part.amount = part.amount.min((Fen(p.n) - paid).max(Fen::ZERO));
            trace.push(step(&format!("{}: its own yearly cap", part.fund.key()), Some(&p), part.amount));
        }
    }
    let ratio_fund = Fen(parts.iter().map(|p| p.amount.0).sum());

    // Subsidies of a flagged person's ratio share: the part of the insured amount above
    // the deductible, within the limit, that the ratio leaves to the holder (what is
    // above a cap is not subsidised).
    let mut holder_share = within - fund_raw;
    for (fund, flag) in Fund::SUBSIDIES {
        if !input.flags.iter().any(|f| f.is(flag)) {
            continue;
        }
        let Some(p) = first_of(policy, &[format!("outpatient.self_pay_subsidy.{flag}")], on, Unit::Bp)? else { continue };
        let mut amount = holder_share.share(basis_points(policy, &p)?);
        trace.push(step(&format!("{}: subsidy of the holder's share", fund.key()), Some(&p), amount));
        let names: Vec<String> = cats.iter().map(|c| format!("outpatient.fund_cap.{}.{c}", fund.key())).collect();
        if let Some(cap) = first_of(policy, &names, on, Unit::Fen)? {
            let paid = input.totals.by_fund.get(&fund).copied().unwrap_or(Fen::ZERO);
            amount = amount.min((Fen(cap.n) - paid).max(Fen::ZERO));
            trace.push(step(&format!("{}: its own yearly cap", fund.key()), Some(&cap), amount));
        }
        holder_share -= amount;
        parts.push(FundPart { fund, amount });
    }
    parts.retain(|p| p.amount.0 > 0);
    let subsidies = Fen(parts.iter().filter(|p| !Fund::RATIO_FUNDS.contains(&p.fund)).map(|p| p.amount.0).sum());

    let basic = parts.iter().filter(|p| p.fund == Fund::Basic).map(|p| p.amount).fold(Fen::ZERO, |a, b| a + b);
    let hifp = basic + fixed;
    let fund_sum = ratio_fund + subsidies + fixed;
    let personal = total - fund_sum;
    let acct = if input.use_account { dedc.min(input.account_balance.max(Fen::ZERO)) } else { Fen::ZERO };
    trace.push(step("personal account pays the part under the deductible", None, acct));
    let mulaid = if input.use_account { (dedc - acct).min(input.mutual_aid_balance.max(Fen::ZERO)) } else { Fen::ZERO };
    if mulaid.0 > 0 {
        trace.push(step("family mutual-aid account pays what the own account could not", None, mulaid));
    }
    let cash = personal - acct - mulaid;
    let self_pay_1 = dedc + (above - ratio_fund - subsidies);
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
        funds: parts,
        fund_pay_sumamt: fund_sum,
        self_pay_1,
        psn_part_amt: personal,
        acct_pay: acct,
        acct_mulaid_pay: mulaid,
        mutual_aid_from: None,
        psn_cash_pay: cash,
        balance_after: input.account_balance - acct,
        lines,
        trace,
    })
}

/// A ratio parameter as basis points (the loader keeps them within 0..=10,000).
fn basis_points(policy: &RegionPolicy, p: &Found<'_>) -> Result<BasisPoints, Refusal> {
    u32::try_from(p.n)
        .ok()
        .filter(|bp| *bp <= 10_000)
        .map(BasisPoints)
        .ok_or_else(|| Refusal::conflict("policy_not_in_force", format!("policy {}: {} = {} is not a ratio in basis points", policy.code, p.name, p.n)))
}

/// Splits the ratio payment `paid` (the funds' share after the annual cap) among the
/// ratio funds: each fund with a share parameter gets `paid × share / ratio` (rounded
/// half up); the region's ratio fund gets the rest, so the parts add up to `paid`.
fn ratio_parts(
    policy: &RegionPolicy,
    on: NaiveDate,
    by_cat_level: &dyn Fn(&str) -> Vec<String>,
    ratio: BasisPoints,
    paid: Fen,
    trace: &mut Vec<TraceStep>,
) -> Result<Vec<FundPart>, Refusal> {
    let primary = match policy.parameters.get("outpatient.ratio_fund") {
        Some(_) => {
            let key = policy.fund("outpatient.ratio_fund", on).map_err(refusal)?;
            Fund::from_key(key).ok_or_else(|| Refusal::conflict("policy_not_in_force", format!("policy {}: {key} is not a fund", policy.code)))?
        }
        None => Fund::Basic,
    };
    // What the primary fund keeps, and the others' parts after it.
    let mut rest = paid;
    let mut others = Vec::new();
    let mut shares = 0i64;
    for fund in Fund::RATIO_FUNDS.into_iter().filter(|f| *f != primary) {
        let Some(p) = first_of(policy, &by_cat_level(&format!("outpatient.fund_share.{}", fund.key())), on, Unit::Bp)? else { continue };
        shares += p.n;
        if shares > i64::from(ratio.0) {
            return Err(Refusal::conflict(
                "policy_not_in_force",
                format!("policy {}: the funds' shares ({shares} bp with {}) exceed the ratio {} bp", policy.code, p.name, ratio.0),
            ));
        }
        let exact = if ratio.0 == 0 { Fen::ZERO } else { Fen((paid.0 * p.n * 2 + i64::from(ratio.0)) / (2 * i64::from(ratio.0))) };
        let amount = exact.min(rest);
        trace.push(step(&format!("{}: its share of the ratio", fund.key()), Some(&p), amount));
        rest -= amount;
        others.push(FundPart { fund, amount });
    }
    let chosen = policy.value_at("outpatient.ratio_fund", on).ok();
    trace.push(TraceStep {
        step: format!("{}: the rest of the ratio", primary.key()),
        parameter: chosen.map(|_| "outpatient.ratio_fund".to_string()),
        value: Some(primary.key().into()),
        from: chosen.map(|v| v.from),
        source: chosen.map(|v| v.source.clone()),
        amount_fen: rest.0,
    });
    Ok(std::iter::once(FundPart { fund: primary, amount: rest }).chain(others).collect())
}
