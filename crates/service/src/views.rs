//! What leaves the service: records shaped for callers, with the ID number and phone
//! masked everywhere (R-ID-3).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use yikatong_core::identity::{Gender, mask_ssn};
use yikatong_core::registry::{Category, PersonFlag};
use yikatong_store::{Institution, Organisation, Person, PersonChange};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub code: String,
    pub name: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// An institution's class (R-SET-12), where registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// A unit's kind (R-DIST-1); an outlet's `instant_issue` where it makes cards on the spot.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<yikatong_core::registry::OrganisationKind>,
    /// A unit's district (6-digit division code), where registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl OrganisationView {
    pub fn from_org(o: &Organisation, level: Option<String>) -> Self {
        OrganisationView {
            code: o.code.clone(),
            name: o.name.clone(),
            region: o.region.clone(),
            level,
            class: None,
            kind: o.kind,
            district: o.district.clone(),
            created_at: o.created_at,
        }
    }
    pub fn from_institution(i: &Institution) -> Self {
        OrganisationView {
            code: i.code.clone(),
            name: i.name.clone(),
            region: i.region.clone(),
            level: Some(i.level.clone()),
            class: i.class.clone(),
            kind: None,
            district: None,
            created_at: i.created_at,
        }
    }
}

/// A phone number with its middle hidden: `138****8000`.
pub fn mask_phone(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub ssn_masked: String,
    pub name: String,
    /// `male` or `female`.
    #[schema(value_type = String)]
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub ethnicity: String,
    /// `in_service`, `retired`, `resident` or `flexible`.
    #[schema(value_type = String)]
    pub category: Category,
    pub region: String,
    pub unit_code: Option<String>,
    pub phone_masked: Option<String>,
    pub handbook_no: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub flags: Vec<PersonFlag>,
    /// The person's cards.
    pub cards: Vec<crate::cards::CardView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl PersonView {
    pub fn of(p: &Person) -> Self {
        PersonView {
            ssn_masked: mask_ssn(&p.ssn),
            name: p.name.clone(),
            gender: p.gender,
            birth_date: p.birth_date,
            ethnicity: p.ethnicity.clone(),
            category: p.category,
            region: p.region.clone(),
            unit_code: p.unit_code.clone(),
            phone_masked: p.phone.as_deref().map(mask_phone),
            handbook_no: p.handbook_no.clone(),
            flags: p.flags.clone(),
            cards: Vec::new(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonChangeView {
    pub ssn_masked: String,
    pub changed_at: DateTime<Utc>,
    pub effective_on: NaiveDate,
    pub actor: String,
    pub fields: Vec<String>,
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonView>,
}

impl PersonChangeView {
    pub fn of(c: &PersonChange, person: Option<&Person>) -> Self {
        let mask = |v: &serde_json::Value| -> serde_json::Value {
            let mut v = v.clone();
            if let Some(obj) = v.as_object_mut() {
                if let Some(phone) = obj.get("phone").and_then(|p| p.as_str()).map(mask_phone) {
                    obj.insert("phone".into(), serde_json::json!(phone));
                }
                // R-EXCH-1: a corrected ID number, masked like every number shown.
                if let Some(ssn) = obj.get("ssn").and_then(|s| s.as_str()).map(mask_ssn) {
                    obj.insert("ssn".into(), serde_json::json!(ssn));
                }
            }
            v
        };
        PersonChangeView {
            ssn_masked: mask_ssn(&c.ssn),
            changed_at: c.changed_at,
            effective_on: c.effective_on,
            actor: c.actor.clone(),
            fields: c.fields.clone(),
            before: mask(&c.before),
            after: mask(&c.after),
            person: person.map(PersonView::of),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn phones_are_masked() {
        assert_eq!(super::mask_phone("13800138000"), "138****8000");
        assert_eq!(super::mask_phone("010-12345678"), "010*****5678");
    }
}
