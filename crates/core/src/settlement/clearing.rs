//! 清算 monthly clearing between regions (R-XREG-3). The care region pays its
//! institution and claims from the insured region what the insured region's funds and
//! the holder's account paid; each side computes the month's statement per pair of
//! regions from its own copies of the settlements, which carry the same ids, amounts and
//! instants, so that the two statements agree to the fen. A settlement counts in the
//! month it was booked; its reversal counts, negatively, in the month it was reversed: a
//! reversal in the same month nets out, a later one goes into its own month.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::money::Fen;
use crate::settlement::{CrossRegion, Receipt};

/// One copy of a cross-region settlement, as clearing reads it.
#[derive(Debug, Clone)]
pub struct Cleared<'a> {
    pub pair: &'a CrossRegion,
    pub created_at: DateTime<Utc>,
    pub reversed_at: Option<DateTime<Utc>>,
    pub receipt: &'a Receipt,
}

/// Sums of settlements (or of reversals, negative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sums {
    pub count: i64,
    /// 医疗费总额.
    pub total: Fen,
    /// What the insured region's funds paid.
    pub fund: Fen,
    /// What the holders' accounts (their own and family mutual aid) paid.
    pub account: Fen,
    /// What the holders paid in cash at the institution.
    pub cash: Fen,
}

impl Sums {
    fn add(&mut self, r: &Receipt, sign: i64) {
        self.count += sign;
        self.total = Fen(self.total.0 + sign * r.total.0);
        self.fund = Fen(self.fund.0 + sign * r.fund_pay_sumamt.0);
        self.account = Fen(self.account.0 + sign * (r.acct_pay.0 + r.acct_mulaid_pay.0));
        self.cash = Fen(self.cash.0 + sign * r.psn_cash_pay.0);
    }

    fn plus(self, o: Sums) -> Sums {
        Sums { count: self.count + o.count, total: self.total + o.total, fund: self.fund + o.fund, account: self.account + o.account, cash: self.cash + o.cash }
    }

    /// What the insured region owes the care region: its funds' and accounts' payments.
    pub fn claimed(&self) -> Fen {
        self.fund + self.account
    }
}

/// A month's statement for one pair of regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairStatement {
    pub care_admdvs: String,
    pub insured_admdvs: String,
    /// Settlements booked in the month.
    pub settled: Sums,
    /// Reversals in the month, as negative sums.
    pub reversed: Sums,
}

impl PairStatement {
    /// The month's net: settlements less reversals.
    pub fn net(&self) -> Sums {
        self.settled.plus(self.reversed)
    }
}

/// A month of business time (`2026-03`): its first instant and the next month's.
pub fn month_bounds(month: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    if format!("{:04}-{:02}", first.year(), first.month()) != month {
        return None;
    }
    let next = if first.month() == 12 { NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)? } else { NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)? };
    let at = |d: NaiveDate| crate::clock::shanghai().from_local_datetime(&d.and_hms_opt(0, 0, 0)?).single().map(|t| t.with_timezone(&Utc));
    Some((at(first)?, at(next)?))
}

/// The statements of `[from, to)` per pair of regions (care, insured), in code order.
pub fn statements<'a>(from: DateTime<Utc>, to: DateTime<Utc>, copies: impl IntoIterator<Item = Cleared<'a>>) -> Vec<PairStatement> {
    let mut by_pair: std::collections::BTreeMap<(String, String), PairStatement> = std::collections::BTreeMap::new();
    let within = |t: DateTime<Utc>| from <= t && t < to;
    for c in copies {
        let key = (c.pair.care_admdvs.clone(), c.pair.insured_admdvs.clone());
        let s = by_pair.entry(key).or_insert_with(|| PairStatement {
            care_admdvs: c.pair.care_admdvs.clone(),
            insured_admdvs: c.pair.insured_admdvs.clone(),
            settled: Sums::default(),
            reversed: Sums::default(),
        });
        if within(c.created_at) {
            s.settled.add(c.receipt, 1);
        }
        if c.reversed_at.is_some_and(within) {
            s.reversed.add(c.receipt, -1);
        }
    }
    by_pair.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::Side;

    fn receipt(total: i64, fund: i64, acct: i64) -> Receipt {
        Receipt { total: Fen(total), fund_pay_sumamt: Fen(fund), acct_pay: Fen(acct), psn_cash_pay: Fen(total - fund - acct), ..Receipt::default() }
    }

    #[test]
    fn r_xreg_3_a_reversal_nets_out_in_its_month_and_a_later_one_goes_into_the_next() {
        let (march, april) = (month_bounds("2026-03").unwrap(), month_bounds("2026-04").unwrap());
        assert_eq!(march.1, april.0);
        assert_eq!(march.0.to_rfc3339(), "2026-02-28T16:00:00+00:00", "the month is business time's");
        assert!(month_bounds("2026-13").is_none() && month_bounds("2026-3").is_none());
        let pair = CrossRegion { care_admdvs: "130000".into(), insured_admdvs: "110000".into(), side: Side::Care };
        let (a, b, c) = (receipt(310_000, 84_000, 0), receipt(50_000, 35_000, 5_000), receipt(1_000, 0, 1_000));
        let day = |m: u32, d: u32| crate::clock::shanghai().with_ymd_and_hms(2026, m, d, 12, 0, 0).unwrap().with_timezone(&Utc);
        let copies = || {
            vec![
                Cleared { pair: &pair, created_at: day(3, 2), reversed_at: None, receipt: &a },
                Cleared { pair: &pair, created_at: day(3, 5), reversed_at: Some(day(3, 6)), receipt: &b },
                Cleared { pair: &pair, created_at: day(3, 30), reversed_at: Some(day(4, 1)), receipt: &c },
            ]
        };
        let m = &statements(march.0, march.1, copies())[0];
        assert_eq!(m.settled.count, 3);
        assert_eq!(m.reversed, Sums { count: -1, total: Fen(-50_000), fund: Fen(-35_000), account: Fen(-5_000), cash: Fen(-10_000) });
        assert_eq!(m.net().claimed(), Fen(84_000 + 1_000), "the reversal in March nets out; the one in April still counts");
        let n = &statements(april.0, april.1, copies())[0];
        assert_eq!((n.settled.count, n.reversed.count, n.net().claimed()), (0, -1, Fen(-1_000)), "March's settlement reversed in April goes into April");
    }
}
