//! The registry of SPEC §1-2: employer units, service outlets, designated institutions
//! and insured persons, with the checks their fields must pass before they are stored.

use serde::{Deserialize, Serialize};

use crate::Refusal;

/// Insurance category (参保类别) as API.md names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 在职 employee in service.
    InService,
    /// 退休 retired employee.
    Retired,
    /// 城乡居民 urban-rural resident.
    Resident,
    /// 灵活就业 flexible employment.
    Flexible,
}

impl Category {
    pub const ALL: [Category; 4] = [Category::InService, Category::Retired, Category::Resident, Category::Flexible];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::InService => "in_service",
            Category::Retired => "retired",
            Category::Resident => "resident",
            Category::Flexible => "flexible",
        }
    }

    /// `insutype` of the national interface: 310 employee basic medical insurance, 390
    /// urban-rural resident medical insurance.
    pub fn insutype(self) -> &'static str {
        if self == Category::Resident { "390" } else { "310" }
    }

    /// `psn_type` of the national interface: 1101 in service, 1201 retired, 1103
    /// flexible employment, 1501 resident.
    pub fn psn_type(self) -> &'static str {
        match self {
            Category::InService => "1101",
            Category::Retired => "1201",
            Category::Flexible => "1103",
            Category::Resident => "1501",
        }
    }

    pub fn parse(s: &str) -> Result<Category, Refusal> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| Refusal::bad_input("invalid_category", format!("unknown insurance category '{s}'; use in_service, retired, resident or flexible")))
    }
}

/// Level of a designated institution (医疗机构等级).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InstitutionLevel {
    #[serde(rename = "community")]
    Community,
    #[serde(rename = "1")]
    Level1,
    #[serde(rename = "2")]
    Level2,
    #[serde(rename = "3")]
    Level3,
    #[serde(rename = "pharmacy")]
    Pharmacy,
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl InstitutionLevel {
    pub const ALL: [InstitutionLevel; 5] = [InstitutionLevel::Community, InstitutionLevel::Level1, InstitutionLevel::Level2, InstitutionLevel::Level3, InstitutionLevel::Pharmacy];

    pub fn as_str(self) -> &'static str {
        match self {
            InstitutionLevel::Community => "community",
            InstitutionLevel::Level1 => "1",
            InstitutionLevel::Level2 => "2",
            InstitutionLevel::Level3 => "3",
            InstitutionLevel::Pharmacy => "pharmacy",
        }
    }

    pub fn parse(s: &str) -> Result<InstitutionLevel, Refusal> {
        InstitutionLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| Refusal::bad_input("invalid_level", format!("unknown institution level '{s}'; use community, 1, 2, 3 or pharmacy")))
    }
}

/// A person's flag (标记): those that change what the card must say (R-ID-3, R-INFO-1),
/// those that keep a person out of card production (R-APP-1, R-APP-2, R-GEN-1) and the
/// suspension of their insurance (R-SET-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonFlag {
    /// 伤残军人 disabled veteran.
    DisabledVeteran,
    /// 公务员 civil servant.
    CivilServant,
    /// 特殊病 special-disease approval.
    SpecialDisease,
    /// 农民工 1 % scheme.
    #[serde(rename = "migrant_worker_1pct")]
    MigrantWorker1Pct,
    /// 二次采集 held for a second collection of the person's data (R-CMP-2).
    SecondCollectionPending,
    /// 换发 due for a new generation of card (R-GEN-1).
    GenerationUpgrade,
    /// 暂停参保 insurance suspended: the fund pays nothing (R-SET-10).
    InsuranceSuspended,
}

impl PersonFlag {
    pub const ALL: [PersonFlag; 7] = [
        PersonFlag::DisabledVeteran,
        PersonFlag::CivilServant,
        PersonFlag::SpecialDisease,
        PersonFlag::MigrantWorker1Pct,
        PersonFlag::SecondCollectionPending,
        PersonFlag::GenerationUpgrade,
        PersonFlag::InsuranceSuspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PersonFlag::DisabledVeteran => "disabled_veteran",
            PersonFlag::CivilServant => "civil_servant",
            PersonFlag::SpecialDisease => "special_disease",
            PersonFlag::MigrantWorker1Pct => "migrant_worker_1pct",
            PersonFlag::SecondCollectionPending => "second_collection_pending",
            PersonFlag::GenerationUpgrade => "generation_upgrade",
            PersonFlag::InsuranceSuspended => "insurance_suspended",
        }
    }

    pub fn parse(s: &str) -> Result<PersonFlag, Refusal> {
        PersonFlag::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = PersonFlag::ALL.iter().map(|f| f.as_str()).collect();
            Refusal::bad_input("invalid_flag", format!("unknown person flag '{s}'; flags are {}", known.join(", ")))
        })
    }

    /// Reads a request's flags, refusing the first unknown one.
    pub fn parse_all(flags: &[String]) -> Result<Vec<PersonFlag>, Refusal> {
        flags.iter().map(|f| PersonFlag::parse(f)).collect()
    }

    /// Whether the national interface lists this flag among a person's identities
    /// (人员身份, 1101's `idetinfo`).
    pub fn is_identity(self) -> bool {
        matches!(self, PersonFlag::SpecialDisease | PersonFlag::DisabledVeteran)
    }

    /// Whether this flag is named `name` (policy files name flags as text).
    pub fn is(self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl std::fmt::Display for PersonFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `flags` hold `flag`.
pub fn has_flag(flags: &[PersonFlag], flag: PersonFlag) -> bool {
    flags.contains(&flag)
}

/// R-SET-10: a person whose insurance is suspended gets no fund payment.
pub fn check_insured(flags: &[PersonFlag]) -> Result<(), Refusal> {
    if has_flag(flags, PersonFlag::InsuranceSuspended) {
        return Err(Refusal::conflict("insurance_suspended", "the person's insurance is suspended; the fund pays nothing until it is resumed"));
    }
    Ok(())
}

/// An administrative division code (行政区划代码): six digits (110102 for Xicheng).
pub fn is_division_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

crate::closed_set! {
    /// What kind of organisation a unit (单位) or an outlet (网点) is. A unit's kind says
    /// where its people collect their cards (R-DIST-1); an outlet's whether it makes a
    /// replacement card on the spot (002, 即时制卡).
    pub enum OrganisationKind {
        /// 用人单位 an employer (a unit's default).
        Employer = "employer",
        /// 街道（乡镇）社保所 a street office: retirees under social management.
        StreetOffice = "street_office",
        /// 职业介绍中心 a job centre.
        JobCentre = "job_centre",
        /// 人才服务中心 a talent centre.
        TalentCentre = "talent_centre",
        /// 学校 a school.
        School = "school",
        /// An ordinary counter (an outlet's default, stored as none).
        Counter = "counter",
        /// An outlet that makes replacement cards on the spot.
        InstantIssue = "instant_issue",
    }
}

impl OrganisationKind {
    /// The kinds of unit that hand cards out (R-DIST-1).
    pub const UNIT: [OrganisationKind; 5] =
        [OrganisationKind::Employer, OrganisationKind::JobCentre, OrganisationKind::TalentCentre, OrganisationKind::StreetOffice, OrganisationKind::School];
    /// The kinds of outlet (002).
    pub const OUTLET: [OrganisationKind; 2] = [OrganisationKind::Counter, OrganisationKind::InstantIssue];

    /// A unit's kind from a request (`employer` when none is given): `invalid_unit_kind`
    /// names the kinds a unit may be.
    pub fn of_unit(text: Option<&str>) -> Result<OrganisationKind, Refusal> {
        Self::one_of(text, &Self::UNIT, OrganisationKind::Employer)
            .map_err(|kinds| Refusal::bad_input("invalid_unit_kind", format!("a unit's kind is one of {kinds}, not {text:?}")))
    }

    /// An outlet's kind from a request (`counter` when none is given):
    /// `invalid_outlet_kind` names the kinds an outlet may be.
    pub fn of_outlet(text: Option<&str>) -> Result<OrganisationKind, Refusal> {
        Self::one_of(text, &Self::OUTLET, OrganisationKind::Counter)
            .map_err(|kinds| Refusal::bad_input("invalid_outlet_kind", format!("an outlet's kind is one of {kinds}, not {text:?}")))
    }
}

/// Checks an organisation code: 1-32 letters, digits, `-` or `_`.
pub fn check_code(what: &str, code: &str) -> Result<(), Refusal> {
    let ok = !code.is_empty() && code.len() <= 32 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err(Refusal::bad_input("invalid_code", format!("the {what} code must be 1-32 letters, digits, '-' or '_', not {code:?}"))) }
}

/// Checks a person's or organisation's name: 1-50 characters, no control characters.
pub fn check_name(what: &str, name: &str) -> Result<(), Refusal> {
    let n = name.trim().chars().count();
    if n == 0 || n > 50 || name.chars().any(char::is_control) {
        Err(Refusal::bad_input("invalid_name", format!("the {what} must be 1 to 50 characters without control characters")))
    } else {
        Ok(())
    }
}

/// GB/T 3304 ethnicity codes: 01-56, 97 (other), 98 (naturalised foreigner).
pub fn check_ethnicity(code: &str) -> Result<(), Refusal> {
    let ok = code.len() == 2 && code.parse::<u8>().is_ok_and(|n| (1..=56).contains(&n) || n == 97 || n == 98);
    if ok { Ok(()) } else { Err(Refusal::bad_input("invalid_ethnicity", format!("ethnicity must be a two-digit GB/T 3304 code (01-56, 97, 98), not {code:?}"))) }
}

/// A phone number: a mobile number (11 digits starting with 1) or a landline of 7-20
/// digits with optional `-`.
pub fn check_phone(phone: &str) -> Result<(), Refusal> {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let ok = phone.chars().all(|c| c.is_ascii_digit() || c == '-') && (7..=20).contains(&digits);
    if ok { Ok(()) } else { Err(Refusal::bad_input("invalid_phone", format!("phone must be 7 to 20 digits (a '-' may separate the area code), not {phone:?}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_checks() {
        assert!(check_code("unit", "U-001").is_ok());
        assert_eq!(check_code("unit", "").unwrap_err().code, "invalid_code");
        assert!(check_ethnicity("01").is_ok() && check_ethnicity("98").is_ok());
        assert!(check_ethnicity("57").is_err() && check_ethnicity("1").is_err());
        assert!(check_phone("13800138000").is_ok() && check_phone("010-12345678").is_ok());
        assert!(check_phone("call me").is_err());
        assert!(check_name("name", "张三").is_ok() && check_name("name", " ").is_err());
        assert_eq!(Category::parse("retired").unwrap(), Category::Retired);
        assert_eq!(Category::ALL.map(Category::insutype), ["310", "310", "390", "310"]);
        assert_eq!(Category::ALL.map(Category::psn_type), ["1101", "1201", "1501", "1103"]);
        assert!(PersonFlag::DisabledVeteran.is_identity() && !PersonFlag::InsuranceSuspended.is_identity());
        assert_eq!(check_insured(&[PersonFlag::InsuranceSuspended]).unwrap_err().code, "insurance_suspended");
        assert_eq!(InstitutionLevel::parse("3").unwrap(), InstitutionLevel::Level3);
        assert_eq!(PersonFlag::parse_all(&["special_disease".into()]).unwrap(), vec![PersonFlag::SpecialDisease]);
        assert_eq!(PersonFlag::parse("vip").unwrap_err().code, "invalid_flag");
        for f in PersonFlag::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), serde_json::Value::String(f.as_str().into()));
        }
    }
}
