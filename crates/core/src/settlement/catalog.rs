//! The medical-insurance catalogue: drugs, treatments and service facilities with their
//! class (甲类 A, 乙类 B, 丙类 C) and an optional price ceiling, and the fee lines a
//! hospital uploads against it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Refusal;
use crate::money::Fen;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Drug,
    Treatment,
    Facility,
    /// 诊察费: the fund pays a fixed amount (R-SET-4).
    DiagnosisFee,
    /// 挂号费: settled apart from the visit's costs (R-SET-5), paid by the holder.
    RegistrationFee,
}

impl ItemKind {
    pub fn parse(s: &str) -> Result<ItemKind, Refusal> {
        Ok(match s {
            "drug" => ItemKind::Drug,
            "treatment" => ItemKind::Treatment,
            "facility" => ItemKind::Facility,
            "diagnosis_fee" => ItemKind::DiagnosisFee,
            "registration_fee" => ItemKind::RegistrationFee,
            other => return Err(Refusal::bad_input("invalid_kind", format!("kind must be drug, treatment, facility, diagnosis_fee or registration_fee, not {other:?}"))),
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Drug => "drug",
            ItemKind::Treatment => "treatment",
            ItemKind::Facility => "facility",
            ItemKind::DiagnosisFee => "diagnosis_fee",
            ItemKind::RegistrationFee => "registration_fee",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemClass {
    A,
    B,
    C,
}

impl ItemClass {
    pub fn parse(s: &str) -> Result<ItemClass, Refusal> {
        match s {
            "A" | "a" | "甲" => Ok(ItemClass::A),
            "B" | "b" | "乙" => Ok(ItemClass::B),
            "C" | "c" | "丙" => Ok(ItemClass::C),
            other => Err(Refusal::bad_input("invalid_class", format!("class must be A, B or C, not {other:?}"))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ItemClass::A => "A",
            ItemClass::B => "B",
            ItemClass::C => "C",
        }
    }
    /// `chrgitm_lv` of the national interface: 01 A, 02 B, 03 C.
    pub fn level_code(self) -> &'static str {
        match self {
            ItemClass::A => "01",
            ItemClass::B => "02",
            ItemClass::C => "03",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub code: String,
    pub name: String,
    pub kind: ItemKind,
    pub class: ItemClass,
    /// Highest price per unit the fund recognises (限价); above it is own expense.
    pub price_ceiling_fen: Option<i64>,
}

/// One entry of the catalogue: an item as a region's catalogue has it from a date
/// (catalogues change by year and differ by region; R-XREG-2: the catalogue of the place
/// of care classifies the lines). No region and no date: the region-independent entry,
/// in force always.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub item: CatalogItem,
    pub region: Option<String>,
    pub valid_from: Option<NaiveDate>,
}

impl CatalogEntry {
    /// The region-independent entry, in force always.
    pub fn everywhere(item: CatalogItem) -> CatalogEntry {
        CatalogEntry { item, region: None, valid_from: None }
    }
}

/// Of one code's entries, the one in force in `region` on `on`: the region's own entry
/// from the latest date on or before `on`, else the region-independent one's (by the
/// same rule). `None` when neither is in force.
pub fn entry_in_force<'e>(entries: impl IntoIterator<Item = &'e CatalogEntry>, region: &str, on: NaiveDate) -> Option<&'e CatalogEntry> {
    let in_force: Vec<&CatalogEntry> = entries.into_iter().filter(|e| e.valid_from.is_none_or(|d| d <= on)).collect();
    let latest = |own: bool| in_force.iter().copied().filter(|e| (e.region.as_deref() == Some(region)) == own && (own || e.region.is_none())).max_by_key(|e| e.valid_from);
    latest(true).or_else(|| latest(false))
}

impl CatalogItem {
    pub fn check(&self) -> Result<(), Refusal> {
        if self.code.trim().is_empty() || self.code.len() > 50 {
            return Err(Refusal::bad_input("invalid_code", "an item code has 1 to 50 characters"));
        }
        crate::registry::check_name("item name", &self.name)?;
        if self.price_ceiling_fen.is_some_and(|c| c < 0) {
            return Err(Refusal::bad_input("invalid_price_ceiling", "a price ceiling is not negative"));
        }
        if let Some(c) = self.price_ceiling_fen {
            crate::money::limits::bounded("price_ceiling_fen", c)?;
        }
        Ok(())
    }
}

/// A decimal with a fixed number of places, parsed exactly from text (`"2.5000"`).
pub fn parse_fixed(s: &str, places: u32) -> Option<i64> {
    crate::money::parse_decimal(s, places)
}

/// One fee line of a visit (2204 `feedetail`): quantity to 4 places, price to 6, amount
/// to the fen, as the national interface has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeLine {
    /// `feedetl_sn`, unique in the visit.
    pub sn: String,
    pub code: String,
    /// Quantity × 10⁴.
    pub qty_e4: i64,
    /// Unit price in yuan × 10⁶.
    pub price_e6: i64,
    pub amount: Fen,
}

/// qty × price in fen, rounded half up (the product is in 10⁻¹⁰ yuan).
pub fn line_product(qty_e4: i64, price_e6: i64) -> Fen {
    let p = i128::from(qty_e4) * i128::from(price_e6); // yuan × 10¹⁰
    let fen = (p + 50_000_000) / 100_000_000; // to yuan × 10²
    Fen(i64::try_from(fen).unwrap_or(i64::MAX))
}

impl FeeLine {
    /// R-SET-10: the amount must be the quantity times the price, to the fen.
    pub fn check(&self) -> Result<(), Refusal> {
        if self.qty_e4 <= 0 || self.price_e6 < 0 || self.amount.0 < 0 {
            return Err(Refusal::bad_input("invalid_fee_line", format!("fee line {}: quantity must be positive and price and amount not negative", self.sn)));
        }
        let product = line_product(self.qty_e4, self.price_e6);
        if product != self.amount {
            return Err(Refusal::bad_input(
                "amount_mismatch",
                format!("fee line {} ({}): quantity × price is {} yuan, the amount says {}", self.sn, self.code, product, self.amount),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_decimals_and_products_are_exact() {
        assert_eq!(parse_fixed("2.5", 4), Some(25_000));
        assert_eq!(parse_fixed("12.345678", 6), Some(12_345_678));
        assert_eq!(parse_fixed("1.23456789", 6), None);
        assert_eq!(parse_fixed("x", 2), None);
        assert_eq!(line_product(30_000, 12_345_678), Fen(3704)); // 3 × 12.345678 = 37.037034
        let line = FeeLine { sn: "1".into(), code: "X".into(), qty_e4: 20_000, price_e6: 15_500_000, amount: Fen(3100) };
        assert!(line.check().is_ok());
        let bad = FeeLine { amount: Fen(3101), ..line };
        assert_eq!(bad.check().unwrap_err().code, "amount_mismatch");
    }
}

#[cfg(test)]
mod entry_tests {
    use super::*;

    fn entry(class: ItemClass, region: Option<&str>, from: Option<&str>) -> CatalogEntry {
        CatalogEntry {
            item: CatalogItem { code: "D1".into(), name: "d".into(), kind: ItemKind::Drug, class, price_ceiling_fen: None },
            region: region.map(String::from),
            valid_from: from.map(|d| d.parse().unwrap()),
        }
    }

    #[test]
    fn r_xreg_2_the_regions_dated_entry_wins_over_the_region_independent_one() {
        let entries = [
            entry(ItemClass::A, None, None),
            entry(ItemClass::B, Some("hebei"), Some("2025-01-01")),
            entry(ItemClass::C, Some("hebei"), Some("2026-01-01")),
            entry(ItemClass::B, None, Some("2026-07-01")),
        ];
        let class = |region: &str, on: &str| entry_in_force(&entries, region, on.parse().unwrap()).map(|e| e.item.class);
        assert_eq!(class("hebei", "2024-12-31"), Some(ItemClass::A), "before Hebei's own entry: the region-independent one");
        assert_eq!(class("hebei", "2025-06-01"), Some(ItemClass::B));
        assert_eq!(class("hebei", "2026-03-01"), Some(ItemClass::C), "the class changes on its date");
        assert_eq!(class("beijing", "2026-03-01"), Some(ItemClass::A));
        assert_eq!(class("beijing", "2026-07-01"), Some(ItemClass::B), "a dated region-independent change");
        assert_eq!(entry_in_force(&entries[1..3], "beijing", "2026-03-01".parse().unwrap()), None, "another region's entry never applies");
    }
}
