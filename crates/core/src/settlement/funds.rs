//! The funds behind a receipt's fund payment (R-SET-3). Which fund pays which part is
//! the region's dated policy; where each fund's amount goes in the national interface
//! (its `setlinfo` field and its `fund_pay_type`) is fixed here, because it is the
//! interface's dictionary, not policy.
//!
//! - 基本医疗保险统筹基金 `basic`: `hifp_pay`, 310100 (390100 for residents);
//! - 大额医疗费用互助资金 `large_amount` (门诊大额): `hifob_pay`, 330100;
//! - 退休人员统一补充医疗保险 `retiree_supplementary` (退休补充): `hifes_pay`, 370100 (the
//!   supplementary insurances' type; Beijing's receipt prints it as 退休补充支付);
//! - 公务员医疗补助 `civil_servant`: `cvlserv_pay`, 320100;
//! - 残疾军人医疗补助 `disabled_veteran` (残军补助): `oth_pay`, 350100 (insutype 350).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::money::Fen;

/// A fund that pays part of a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fund {
    Basic,
    LargeAmount,
    RetireeSupplementary,
    CivilServant,
    DisabledVeteran,
}

impl Fund {
    pub const ALL: [Fund; 5] = [Fund::Basic, Fund::LargeAmount, Fund::RetireeSupplementary, Fund::CivilServant, Fund::DisabledVeteran];
    /// Funds that share the ratio payment above the deductible.
    pub const RATIO_FUNDS: [Fund; 3] = [Fund::Basic, Fund::LargeAmount, Fund::RetireeSupplementary];
    /// Funds that pay part of a flagged person's self-pay 1, with the person flag.
    pub const SUBSIDIES: [(Fund, &'static str); 2] = [(Fund::DisabledVeteran, "disabled_veteran"), (Fund::CivilServant, "civil_servant")];

    /// The name in parameter names and JSON.
    pub fn key(self) -> &'static str {
        match self {
            Fund::Basic => "basic",
            Fund::LargeAmount => "large_amount",
            Fund::RetireeSupplementary => "retiree_supplementary",
            Fund::CivilServant => "civil_servant",
            Fund::DisabledVeteran => "disabled_veteran",
        }
    }

    pub fn from_key(key: &str) -> Option<Fund> {
        Fund::ALL.into_iter().find(|f| f.key() == key)
    }

    /// The `setlinfo` field that carries the fund's amount.
    pub fn setlinfo_field(self) -> &'static str {
        match self {
            Fund::Basic => "hifp_pay",
            Fund::LargeAmount => "hifob_pay",
            Fund::RetireeSupplementary => "hifes_pay",
            Fund::CivilServant => "cvlserv_pay",
            Fund::DisabledVeteran => "oth_pay",
        }
    }

    /// `setldetail[].fund_pay_type`; the basic fund's depends on the insurance type.
    pub fn fund_pay_type(self, insutype: &str) -> &'static str {
        match self {
            Fund::Basic if insutype == "390" => "390100",
            Fund::Basic => "310100",
            Fund::LargeAmount => "330100",
            Fund::RetireeSupplementary => "370100",
            Fund::CivilServant => "320100",
            Fund::DisabledVeteran => "350100",
        }
    }

    /// `setldetail[].fund_pay_type_name`.
    pub fn name_zh(self, insutype: &str) -> &'static str {
        match self {
            Fund::Basic if insutype == "390" => "城乡居民基本医疗保险基金",
            Fund::Basic => "职工基本医疗保险统筹基金",
            Fund::LargeAmount => "大额医疗费用互助资金",
            Fund::RetireeSupplementary => "退休人员统一补充医疗保险",
            Fund::CivilServant => "公务员医疗补助",
            Fund::DisabledVeteran => "残疾军人医疗补助",
        }
    }
}

/// One fund's part of a receipt (without the fixed diagnosis-fee payment, which the
/// basic fund pays beside it and which no cap counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundPart {
    pub fund: Fund,
    pub amount: Fen,
}

/// What each fund paid this year, toward each fund's own cap. Funds that paid nothing
/// are absent, so that totals built in any order compare equal.
pub type FundTotals = BTreeMap<Fund, Fen>;

/// Adds `sign` × each part to `totals`, dropping funds that come back to zero.
pub fn add_parts(totals: &FundTotals, parts: &[FundPart], sign: i64) -> FundTotals {
    let mut out = totals.clone();
    for p in parts {
        let v = out.entry(p.fund).or_insert(Fen::ZERO);
        *v = Fen(v.0 + sign * p.amount.0);
    }
    out.retain(|_, v| v.0 != 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_set_3_every_fund_has_its_own_interface_field() {
        let fields: std::collections::HashSet<_> = Fund::ALL.iter().map(|f| f.setlinfo_field()).collect();
        assert_eq!(fields.len(), Fund::ALL.len());
        for f in Fund::ALL {
            assert_eq!(Fund::from_key(f.key()), Some(f));
        }
        let t = add_parts(&FundTotals::new(), &[FundPart { fund: Fund::Basic, amount: Fen(5) }], 1);
        assert!(add_parts(&t, &[FundPart { fund: Fund::Basic, amount: Fen(5) }], -1).is_empty());
    }
}
