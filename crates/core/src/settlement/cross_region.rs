//! 异地就医 care in another region (SPEC §11): which two regions a settlement crosses and
//! which side's copy a record is. The care region (就医地) keeps the settlement for its
//! institution and classifies the lines with its catalogue; the insured region (参保地)
//! computes the receipt under its policy and books it against the holder (R-XREG-2).

use serde::{Deserialize, Serialize};

crate::closed_set! {
    /// Which region's copy of a cross-region settlement a record is.
    pub enum Side {
        /// 就医地: the region of the institution; it pays the institution.
        Care = "care",
        /// 参保地: the holder's region; its fund pays, its account is debited.
        Insured = "insured",
    }
}

crate::closed_set! {
    /// 备案类型: why a holder is treated in another region (R-XREG-1).
    pub enum FilingKind {
        /// 异地长期居住: living elsewhere for good (retired there, posted there).
        LongTermResidence = "long_term_residence",
        /// 临时外出就医: care elsewhere for a while (referral, emergency, travel).
        Temporary = "temporary",
    }
}

/// The pair of regions a settlement crosses, by their division codes, and this copy's
/// side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossRegion {
    pub care_admdvs: String,
    pub insured_admdvs: String,
    pub side: Side,
}

impl CrossRegion {
    /// Whether this copy books the holder's year totals and account: the insured
    /// region's does, the care region's only records what was paid at its institution.
    pub fn books_the_holder(&self) -> bool {
        self.side == Side::Insured
    }
}

/// R-XREG-1: whether a holder of the `insured` region needs a filing (备案) before
/// settling at an institution whose region's division code is `care_admdvs`, on `on`.
/// The insured region's file lists the regions that need none
/// (`cross_region.without_filing`); a region whose file lists none needs a filing for
/// every other region (fail closed). Care in the holder's own region needs none.
pub fn filing_needed(insured: &crate::policy::RegionPolicy, care_admdvs: &str, on: chrono::NaiveDate) -> bool {
    if covers(&insured.admdvs, care_admdvs) {
        return false;
    }
    let listed = insured.list("cross_region.without_filing", on).unwrap_or_default();
    !listed.iter().any(|region| covers(region, care_admdvs))
}

/// Whether a code covers a care region's division code: `130000` covers `130302`.
pub fn covers(filed_admdvs: &str, care_admdvs: &str) -> bool {
    care_admdvs.starts_with(crate::policy::division_prefix(filed_admdvs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicySet;

    #[test]
    fn r_xreg_1_beijing_tianjin_and_hebei_need_no_filing_between_them_other_pairs_do() {
        let set = PolicySet::shipped().unwrap();
        let on = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let beijing = set.region("beijing").unwrap();
        for care in ["120000", "120101", "130000", "130302", "110105"] {
            assert!(!filing_needed(beijing, care, on), "Beijing's holder at {care}");
        }
        assert!(filing_needed(beijing, "370100", on), "Jinan is no Beijing-Tianjin-Hebei region: a filing first");
        assert!(filing_needed(beijing, "320500", on), "nor is Suzhou");
        assert!(filing_needed(set.region("jinan").unwrap(), "110000", on), "Jinan's file lists no region: every other needs a filing");
        assert!(!filing_needed(set.region("jinan").unwrap(), "370102", on), "care at home needs none");
        let before = chrono::NaiveDate::from_ymd_opt(2022, 6, 1).unwrap();
        assert!(filing_needed(beijing, "130000", before), "before the dated entry the pair needed a filing");
        assert!(!filing_needed(set.region("tianjin").unwrap(), "110000", on));
    }
}
