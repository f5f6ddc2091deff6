//! Policy as dated data (SPEC §9): one TOML file per region; every parameter is a list
//! of values, each with the date it took effect and a source note.
//!
//! ```toml
//! [region]
//! code = "beijing"
//! name = "北京市"
//! admdvs = "110000"
//!
//! [card]
//! pre_loss_days = [{ from = 2000-01-01, days = 10, source = "001 预挂失10天" }]
//! ```
//!
//! Loading is strict: an unknown key, a value without its unit (or in another unit),
//! dates out of order and a missing required parameter are errors naming the file, the
//! key and the line. Asking for a parameter at a date its values do not cover is an
//! error too, never the nearest value.

mod load;
pub mod schema;

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;

pub use load::parse_region;
use schema::Unit;

use crate::money::{BasisPoints, Fen};

/// One value of a parameter, in its unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PolicyValue {
    Integer(i64),
    Flag(bool),
    #[serde(serialize_with = "serialize_time")]
    Time(NaiveTime),
    Text(String),
}

fn serialize_time<S: serde::Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.format("%H:%M").to_string())
}

impl std::fmt::Display for PolicyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyValue::Integer(i) => write!(f, "{i}"),
            PolicyValue::Flag(b) => write!(f, "{b}"),
            PolicyValue::Time(t) => write!(f, "{}", t.format("%H:%M")),
            PolicyValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// A value and the date it took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedValue {
    pub from: NaiveDate,
    /// Exclusive end, when the value stops without a successor.
    pub until: Option<NaiveDate>,
    pub value: PolicyValue,
    pub source: String,
    /// Line in the region file.
    pub line: usize,
}

/// All values of one parameter, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub unit: Unit,
    pub line: usize,
    pub values: Vec<DatedValue>,
}

impl Parameter {
    /// The value in force on `on`.
    pub fn at(&self, on: NaiveDate) -> Option<&DatedValue> {
        let v = self.values.iter().rev().find(|v| v.from <= on)?;
        match v.until {
            Some(until) if on >= until => None,
            _ => Some(v),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}:{line}: {problem}")]
    BadFile { file: String, line: usize, problem: String },
    #[error("there is no policy for region '{0}' (known: {1})")]
    UnknownRegion(String, String),
    #[error("policy {region} ({file}) has no parameter {name}")]
    Missing { region: String, file: String, name: String },
    #[error("policy {region} ({file}:{line}): {name} has no value in force on {on}")]
    NotCovered { region: String, file: String, line: usize, name: String, on: NaiveDate },
    #[error("policy {region}: {name} is in {actual}, not {wanted}")]
    WrongUnit { region: String, name: String, actual: &'static str, wanted: &'static str },
}

impl PolicyError {
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::BadFile { .. } => "invalid_policy",
            PolicyError::UnknownRegion(..) => "unknown_region",
            PolicyError::Missing { .. } | PolicyError::NotCovered { .. } | PolicyError::WrongUnit { .. } => "policy_not_in_force",
        }
    }
}

/// One region's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionPolicy {
    pub code: String,
    pub name: String,
    /// Administrative division code used by the national interface (e.g. `110000`).
    pub admdvs: String,
    pub file: String,
    pub parameters: BTreeMap<String, Parameter>,
}

impl RegionPolicy {
    /// The division codes this region covers: its code less the trailing `00` pairs
    /// (`11` for Beijing 110000, `13` for Hebei 130000, `1303` for Qinhuangdao 130300).
    pub fn division_prefix(&self) -> &str {
        division_prefix(&self.admdvs)
    }

    /// The value of `name` in force on `on`, or an error naming the file and line.
    pub fn value_at(&self, name: &str, on: NaiveDate) -> Result<&DatedValue, PolicyError> {
        let p = self.parameters.get(name).ok_or_else(|| PolicyError::Missing { region: self.code.clone(), file: self.file.clone(), name: name.into() })?;
        p.at(on).ok_or_else(|| PolicyError::NotCovered { region: self.code.clone(), file: self.file.clone(), line: p.line, name: name.into(), on })
    }

    fn integer(&self, name: &str, on: NaiveDate, wanted: Unit) -> Result<i64, PolicyError> {
        let unit = self.parameters.get(name).map(|p| p.unit);
        if let Some(actual) = unit.filter(|u| *u != wanted) {
            return Err(PolicyError::WrongUnit { region: self.code.clone(), name: name.into(), actual: actual.key(), wanted: wanted.key() });
        }
        match &self.value_at(name, on)?.value {
            PolicyValue::Integer(i) => Ok(*i),
            _ => Err(PolicyError::WrongUnit { region: self.code.clone(), name: name.into(), actual: "other", wanted: wanted.key() }),
        }
    }

    /// A count, a duration or a ratio: a whole number the loader keeps non-negative,
    /// refused when it is past `u32`.
    fn small(&self, name: &str, on: NaiveDate, unit: Unit) -> Result<u32, PolicyError> {
        let n = self.integer(name, on, unit)?;
        u32::try_from(n).map_err(|_| PolicyError::WrongUnit { region: self.code.clone(), name: name.into(), actual: "a number out of range", wanted: "a count, duration or ratio" })
    }

    pub fn fen(&self, name: &str, on: NaiveDate) -> Result<Fen, PolicyError> {
        self.integer(name, on, Unit::Fen).map(Fen)
    }
    pub fn days(&self, name: &str, on: NaiveDate) -> Result<u32, PolicyError> {
        self.small(name, on, Unit::Days)
    }
    pub fn working_days(&self, name: &str, on: NaiveDate) -> Result<u32, PolicyError> {
        self.small(name, on, Unit::WorkingDays)
    }
    pub fn ratio(&self, name: &str, on: NaiveDate) -> Result<BasisPoints, PolicyError> {
        self.small(name, on, Unit::Bp).map(BasisPoints)
    }
    pub fn day_of_month(&self, name: &str, on: NaiveDate) -> Result<i64, PolicyError> {
        self.integer(name, on, Unit::DayOfMonth)
    }
    pub fn minutes(&self, name: &str, on: NaiveDate) -> Result<u32, PolicyError> {
        self.small(name, on, Unit::Minutes)
    }
    pub fn years(&self, name: &str, on: NaiveDate) -> Result<u32, PolicyError> {
        self.small(name, on, Unit::Years)
    }
    /// A fund's key (`basic`, `large_amount`, …), checked against the known funds at load.
    pub fn fund(&self, name: &str, on: NaiveDate) -> Result<&str, PolicyError> {
        let unit = self.parameters.get(name).map(|p| p.unit);
        match (&self.value_at(name, on)?.value, unit) {
            (PolicyValue::Text(s), Some(Unit::Fund)) => Ok(s),
            _ => Err(PolicyError::WrongUnit { region: self.code.clone(), name: name.into(), actual: "other", wanted: "fund" }),
        }
    }
    pub fn count(&self, name: &str, on: NaiveDate) -> Result<u32, PolicyError> {
        self.small(name, on, Unit::Count)
    }
    pub fn flag(&self, name: &str, on: NaiveDate) -> Result<bool, PolicyError> {
        match &self.value_at(name, on)?.value {
            PolicyValue::Flag(b) => Ok(*b),
            _ => Err(PolicyError::WrongUnit { region: self.code.clone(), name: name.into(), actual: "other", wanted: "flag" }),
        }
    }
    /// A text value; a comma-separated list is read with [`RegionPolicy::list`].
    pub fn text(&self, name: &str, on: NaiveDate) -> Result<&str, PolicyError> {
        match &self.value_at(name, on)?.value {
            PolicyValue::Text(t) => Ok(t),
            _ => Err(PolicyError::WrongUnit { region: self.code.clone(), name: name.into(), actual: "other", wanted: "text" }),
        }
    }
    /// A comma-separated text value as its trimmed, non-empty items.
    pub fn list(&self, name: &str, on: NaiveDate) -> Result<Vec<&str>, PolicyError> {
        Ok(self.text(name, on)?.split(',').map(str::trim).filter(|x| !x.is_empty()).collect())
    }
    pub fn time(&self, name: &str, on: NaiveDate) -> Result<NaiveTime, PolicyError> {
        match &self.value_at(name, on)?.value {
            PolicyValue::Time(t) => Ok(*t),
            _ => Err(PolicyError::WrongUnit { region: self.code.clone(), name: name.into(), actual: "other", wanted: "time" }),
        }
    }

    /// Every parameter with the value in force on `on` (those not in force are left out).
    pub fn in_force(&self, on: NaiveDate) -> Vec<(&Parameter, &DatedValue)> {
        self.parameters.values().filter_map(|p| p.at(on).map(|v| (p, v))).collect()
    }
}

/// The division codes a six-digit code covers: the code less its trailing `00` pairs
/// (`11` for 110000, `1303` for 130300), never shorter than the province's two digits.
pub fn division_prefix(admdvs: &str) -> &str {
    let mut prefix = admdvs;
    while prefix.len() > 2 {
        match prefix.strip_suffix("00") {
            Some(shorter) => prefix = shorter,
            None => break,
        }
    }
    prefix
}

/// The region files the product ships, compiled in so that a fresh binary has them.
pub const SHIPPED: [(&str, &str); 6] = [
    ("policies/beijing.toml", include_str!("../../../../policies/beijing.toml")),
    ("policies/jinan.toml", include_str!("../../../../policies/jinan.toml")),
    ("policies/hebei.toml", include_str!("../../../../policies/hebei.toml")),
    ("policies/suzhou.toml", include_str!("../../../../policies/suzhou.toml")),
    ("policies/qinhuangdao.toml", include_str!("../../../../policies/qinhuangdao.toml")),
    ("policies/tianjin.toml", include_str!("../../../../policies/tianjin.toml")),
];

/// All loaded regions.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    regions: BTreeMap<String, RegionPolicy>,
}

impl PolicySet {
    pub fn shipped() -> Result<PolicySet, PolicyError> {
        Self::from_files(SHIPPED.iter().map(|(f, t)| (f.to_string(), t.to_string())))
    }

    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<PolicySet, PolicyError> {
        let mut regions = BTreeMap::new();
        for (file, text) in files {
            let r = parse_region(&file, &text)?;
            regions.insert(r.code.clone(), r);
        }
        Ok(PolicySet { regions })
    }

    pub fn region(&self, code: &str) -> Result<&RegionPolicy, PolicyError> {
        self.regions.get(code).ok_or_else(|| PolicyError::UnknownRegion(code.into(), self.regions.keys().cloned().collect::<Vec<_>>().join(", ")))
    }

    pub fn regions(&self) -> impl Iterator<Item = &RegionPolicy> {
        self.regions.values()
    }

    /// R-XREG-1: the region a six-digit division code (`insuplc_admdvs`,
    /// `mdtrtarea_admvs`) belongs to: the most specific region file whose code covers it,
    /// so a city with a file of its own comes before its province (Qinhuangdao 130302
    /// before Hebei); `None` when no file covers it.
    pub fn region_of_division(&self, code: &str) -> Option<&RegionPolicy> {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.regions.values().filter(|r| code.starts_with(r.division_prefix())).max_by_key(|r| r.division_prefix().len())
    }

    /// A region by its file's code (`beijing`) or by a division code it covers (`110000`).
    pub fn find_region(&self, code_or_division: &str) -> Result<&RegionPolicy, PolicyError> {
        self.region_of_division(code_or_division).map_or_else(|| self.region(code_or_division), Ok)
    }
}

#[cfg(test)]
mod tests;
