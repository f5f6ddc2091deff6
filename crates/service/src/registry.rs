//! The registry use cases (SPEC §1-2, API.md "Registry"): units, outlets, institutions
//! and persons, and a person's information changes with dated history (R-INFO-1).

use chrono::NaiveDate;
use serde::Deserialize;
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_core::identity::{HandbookNumber, Ssn};
use yikatong_core::registry::{self, Category, InstitutionLevel, OrganisationKind, PersonFlag};
use yikatong_store::{Institution, Organisation, Person, PersonChange};

use crate::views::{OrganisationView, PersonChangeView, PersonView};
use crate::{Service, ServiceError, ServiceResult};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    pub code: String,
    pub name: String,
    pub region: String,
    /// A unit's kind (R-DIST-1): `employer` (the default), `job_centre`, `talent_centre`,
    /// `street_office` (retirees under social management collect there) or `school`; an
    /// outlet's: `counter` (the default) or `instant_issue` (makes replacement cards on the
    /// spot, 002).
    pub kind: Option<String>,
    /// A unit's district, its 6-digit division code (R-GEN-1: a pilot's scope may name
    /// districts); optional, default none.
    pub district: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInstitution {
    pub code: String,
    pub name: String,
    pub region: String,
    pub level: String,
    /// R-SET-12: `a_class`, `tcm` or `specialty`; optional, default none.
    #[serde(default)]
    pub class: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub ssn: String,
    pub name: String,
    pub ethnicity: String,
    pub category: String,
    pub region: String,
    pub unit_code: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub handbook_no: Option<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    /// Monthly contribution base (缴费基数) in fen, for employees.
    pub contribution_base_fen: Option<i64>,
    /// Digest of the person's photo.
    pub photo_digest: Option<String>,
}

/// An information change (R-INFO-1); absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonChangeRequest {
    pub category: Option<String>,
    pub name: Option<String>,
    pub ethnicity: Option<String>,
    pub flags: Option<Vec<String>>,
    /// The person's unit. Only the bureau moves a person between units; a unit may name
    /// only itself.
    pub unit_code: Option<String>,
    /// 减员: the person has left the unit (no unit afterwards). Optional, default false;
    /// a unit files it for its own people, the bureau for anyone.
    #[serde(default)]
    pub leaves_unit: Option<bool>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub handbook_no: Option<String>,
    pub contribution_base_fen: Option<i64>,
    pub photo_digest: Option<String>,
    /// The business date the change takes effect; today if absent.
    pub effective_on: Option<NaiveDate>,
    /// R-EXCH-1 (003 Q66): the person's corrected ID number, as the police registry
    /// changed it; the birth date and gender follow it. The person keeps their cards,
    /// account and history, is found by the new number from then on (the old one finds
    /// no one), and both numbers stay in the dated history; each card made with the old
    /// number shows `number_changed` until it is exchanged. Optional, default no change.
    pub ssn: Option<String>,
}

fn not_found_person() -> ServiceError {
    Refusal::not_found("person_not_found", "no insured person with this ID number is visible to you").into()
}

impl Service {
    /// A region named in a request body must have a policy file; an unknown one is bad
    /// input (422), not a missing resource.
    pub(crate) fn check_region(&self, region: &str) -> ServiceResult<()> {
        self.policies.region(region).map(|_| ()).map_err(|e| Refusal::bad_input(e.code(), e.to_string()).into())
    }

    pub(crate) async fn require_unit(&self, code: &str) -> ServiceResult<Organisation> {
        self.store.get_unit(code).await?.ok_or_else(|| Refusal::not_found("unit_not_found", format!("there is no unit {code}")).into())
    }

    /// R-EXCH-1: the key of the person whose ID number this is now (their cards, account
    /// and history carry it, unchanged by a corrected number); `None` when no one has it
    /// now (a corrected number's old one included).
    pub(crate) async fn person_key(&self, ssn: &Ssn) -> ServiceResult<Option<String>> {
        Ok(self.store.person_key_of_number(&self.store.data_key().lookup_hash(ssn.expose())).await?)
    }

    pub(crate) async fn require_outlet(&self, code: &str) -> ServiceResult<Organisation> {
        self.store.get_outlet(code).await?.ok_or_else(|| Refusal::not_found("outlet_not_found", format!("there is no outlet {code}")).into())
    }

    /// The institution `code`. An institution's row is written once and never changed
    /// nor removed (no use case edits one), so each is read from the store once and
    /// kept; an edit of institutions, if one is ever added, must forget the kept one.
    pub(crate) async fn require_institution(&self, code: &str) -> ServiceResult<Institution> {
        if let Some(known) = self.institutions.get(code) {
            return Ok(known);
        }
        let found = self.store.get_institution(code).await?.ok_or_else(|| Refusal::not_found("institution_not_found", format!("there is no institution {code}")))?;
        self.institutions.keep(&found);
        Ok(found)
    }

    pub(crate) async fn require_person(&self, ssn: &Ssn) -> ServiceResult<Person> {
        self.store.get_person(ssn.expose()).await?.ok_or_else(not_found_person)
    }

    fn new_org(&self, new: &NewOrganisation, what: &str) -> ServiceResult<Organisation> {
        registry::check_code(what, &new.code)?;
        registry::check_name(&format!("{what} name"), &new.name)?;
        self.check_region(&new.region)?;
        let unit = what == "unit";
        if !unit && new.district.is_some() {
            return Err(Refusal::bad_input("invalid_field", format!("a district is a unit's, not an {what}'s")).into());
        }
        let kind = if unit { OrganisationKind::of_unit(new.kind.as_deref())? } else { OrganisationKind::of_outlet(new.kind.as_deref())? };
        if let Some(d) = new.district.as_deref().filter(|d| !registry::is_division_code(d)) {
            return Err(Refusal::bad_input("invalid_district", format!("a district is its 6-digit division code (110102 for Xicheng), not {d:?}")).into());
        }
        Ok(Organisation {
            code: new.code.clone(),
            name: new.name.trim().into(),
            region: new.region.clone(),
            created_at: self.clock.now(),
            // An ordinary counter is stored as no kind.
            kind: Some(kind).filter(|k| *k != OrganisationKind::Counter),
            district: new.district.clone(),
        })
    }

    pub async fn create_unit(&self, who: &Principal, new: &NewOrganisation) -> ServiceResult<OrganisationView> {
        who.allow(Operation::CreateUnit)?;
        let org = self.new_org(new, "unit")?;
        let mut tx = self.begin_write().await?;
        tx.insert_unit(&org).await?;
        self.commit(tx).await?;
        Ok(OrganisationView::from_org(&org, None))
    }

    /// A unit, for the operator, an outlet's clerk or the unit itself.
    pub async fn get_unit(&self, who: &Principal, code: &str) -> ServiceResult<OrganisationView> {
        who.allow(Operation::ReadUnit)?;
        if who.role == Role::Unit && who.unit.as_deref() != Some(code) {
            return Err(Refusal::not_found("unit_not_found", format!("there is no unit {code} visible to you")).into());
        }
        Ok(OrganisationView::from_org(&self.require_unit(code).await?, None))
    }

    pub async fn create_outlet(&self, who: &Principal, new: &NewOrganisation) -> ServiceResult<OrganisationView> {
        who.allow(Operation::CreateOutlet)?;
        let org = self.new_org(new, "outlet")?;
        let mut tx = self.begin_write().await?;
        tx.insert_outlet(&org).await?;
        self.commit(tx).await?;
        Ok(OrganisationView::from_org(&org, None))
    }

    pub async fn create_institution(&self, who: &Principal, new: &NewInstitution) -> ServiceResult<OrganisationView> {
        who.allow(Operation::CreateInstitution)?;
        let level = InstitutionLevel::parse(&new.level)?;
        let base = self.new_org(&NewOrganisation { code: new.code.clone(), name: new.name.clone(), region: new.region.clone(), ..Default::default() }, "institution")?;
        let class = crate::settlement::checked_class(new.class.as_deref())?;
        let inst = Institution { code: base.code, name: base.name, region: base.region, level: level.as_str().into(), class, created_at: base.created_at };
        let mut tx = self.begin_write().await?;
        tx.insert_institution(&inst).await?;
        self.commit(tx).await?;
        Ok(OrganisationView::from_institution(&inst))
    }

    /// Checks a new person's fields and builds the record (shared by the API and bulk
    /// loads). The unit is checked by the store when the record is written.
    pub fn build_person(&self, new: &NewPerson) -> ServiceResult<Person> {
        let ssn = Ssn::parse(&new.ssn)?;
        let today = self.clock.today();
        if ssn.birth_date() > today {
            return Err(Refusal::bad_input("invalid_ssn", format!("the birth date {} (characters 7-14) is in the future", ssn.birth_date())).into());
        }
        registry::check_name("name", &new.name)?;
        registry::check_ethnicity(&new.ethnicity)?;
        let category = Category::parse(&new.category)?;
        self.check_region(&new.region)?;
        if let Some(p) = &new.phone {
            registry::check_phone(p)?;
        }
        let handbook = new.handbook_no.as_deref().map(HandbookNumber::parse).transpose().map_err(|e| Refusal::bad_input("invalid_handbook_no", e.to_string()))?;
        let flags = PersonFlag::parse_all(&new.flags)?;
        if new.contribution_base_fen.is_some_and(|b| b < 0) {
            return Err(Refusal::bad_input("invalid_contribution_base", "the contribution base is not negative").into());
        }
        if let Some(b) = new.contribution_base_fen {
            yikatong_core::money::limits::bounded("contribution_base_fen", b)?;
        }
        let now = self.clock.now();
        Ok(Person {
            key: String::new(),
            ssn: ssn.expose().into(),
            name: new.name.trim().into(),
            gender: ssn.gender(),
            birth_date: ssn.birth_date(),
            ethnicity: new.ethnicity.clone(),
            category,
            region: new.region.clone(),
            unit_code: new.unit_code.clone(),
            phone: new.phone.clone(),
            address: new.address.clone(),
            handbook_no: handbook.map(|h| h.as_str().to_string()),
            flags,
            contribution_base_fen: new.contribution_base_fen,
            photo_digest: new.photo_digest.clone(),
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    pub async fn create_person(&self, who: &Principal, new: &NewPerson) -> ServiceResult<PersonView> {
        who.allow(Operation::CreatePerson)?;
        let person = self.build_person(new)?;
        let mut tx = self.begin_write().await?;
        tx.insert_person(&person).await?;
        self.commit(tx).await?;
        Ok(PersonView::of(&person))
    }

    /// Loads a person the caller may see: operators and outlet-side channels see anyone,
    /// a unit its own people, a holder only themself. Anyone else is told the person is
    /// not visible, so existence does not leak.
    pub(crate) async fn visible_person(&self, who: &Principal, ssn: &str, op: Operation) -> ServiceResult<Person> {
        who.may(op)?;
        let ssn = Ssn::parse(ssn)?;
        let person = self.require_person(&ssn).await?;
        who.allow_for(op, &person.key)?;
        if who.sees_person(&person.key, person.unit_code.as_deref()) { Ok(person) } else { Err(not_found_person()) }
    }

    pub async fn get_person(&self, who: &Principal, ssn: &str) -> ServiceResult<PersonView> {
        let p = self.visible_person(who, ssn, Operation::ReadPerson).await?;
        let mut view = PersonView::of(&p);
        view.cards = self.person_cards(&p).await?;
        Ok(view)
    }

    /// A clerk's search at the counter: an ID number (18 characters) or a card number.
    pub async fn find_person(&self, who: &Principal, query: &str) -> ServiceResult<PersonView> {
        who.allow(Operation::FindPerson)?;
        let query = query.trim();
        if query.chars().count() == 18 {
            return self.get_person(who, query).await;
        }
        let card = self
            .store
            .cards_by_number(&query.to_uppercase())
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::from(Refusal::not_found("person_not_found", "no card has this number; give an 18-character ID number or a card number")))?;
        let p = self.card_holder(&card).await?;
        let mut view = PersonView::of(&p);
        view.cards = self.person_cards(&p).await?;
        Ok(view)
    }

    /// R-ID-2: the person a medical handbook number belongs to.
    pub async fn person_by_handbook(&self, who: &Principal, handbook_no: &str) -> ServiceResult<PersonView> {
        who.allow(Operation::PersonByHandbook)?;
        let hb = HandbookNumber::parse(handbook_no).map_err(|e| Refusal::bad_input("invalid_handbook_no", e.to_string()))?;
        let p = self
            .store
            .find_person_by_handbook(hb.as_str())
            .await?
            .ok_or_else(|| ServiceError::from(Refusal::not_found("person_not_found", "no insured person has this handbook number")))?;
        Ok(PersonView::of(&p))
    }

    /// R-INFO-1: an information change, kept as dated history.
    pub async fn change_person(&self, who: &Principal, ssn: &str, req: &PersonChangeRequest) -> ServiceResult<PersonChangeView> {
        let before = self.visible_person(who, ssn, Operation::ChangePerson).await?;
        let mut after = before.clone();
        let mut fields = Vec::new();
        let mut old = serde_json::Map::new();
        let mut new = serde_json::Map::new();
        macro_rules! set {
            ($field:ident, $value:expr) => {{
                let value = $value;
                if after.$field != value {
                    old.insert(stringify!($field).into(), serde_json::json!(after.$field));
                    new.insert(stringify!($field).into(), serde_json::json!(value));
                    fields.push(stringify!($field).to_string());
                    after.$field = value;
                }
            }};
        }
        if let Some(c) = &req.category {
            set!(category, Category::parse(c)?);
        }
        if let Some(n) = &req.name {
            registry::check_name("name", n)?;
            set!(name, n.trim().to_string());
        }
        if let Some(e) = &req.ethnicity {
            registry::check_ethnicity(e)?;
            set!(ethnicity, e.clone());
        }
        if let Some(f) = &req.flags {
            set!(flags, PersonFlag::parse_all(f)?);
        }
        if let Some(u) = &req.unit_code {
            if who.role == Role::Unit && who.unit.as_deref() != Some(u.as_str()) {
                return Err(Refusal::forbidden(
                    "unit_may_not_move_person",
                    "a unit may not place a person in another unit; moving a person between units is the bureau's (a unit files that the person left with `leaves_unit`)",
                )
                .into());
            }
            // The store refuses a unit that is not registered (`unit_not_found`).
            set!(unit_code, Some(u.clone()));
        }
        if req.leaves_unit == Some(true) {
            if req.unit_code.is_some() {
                return Err(Refusal::bad_input("conflicting_change", "a change names a unit or says the person left it, not both").into());
            }
            set!(unit_code, None);
        }
        if let Some(p) = &req.phone {
            registry::check_phone(p)?;
            set!(phone, Some(p.clone()));
        }
        if let Some(a) = &req.address {
            set!(address, Some(a.clone()));
        }
        if let Some(h) = &req.handbook_no {
            let hb = HandbookNumber::parse(h).map_err(|e| Refusal::bad_input("invalid_handbook_no", e.to_string()))?;
            set!(handbook_no, Some(hb.as_str().to_string()));
        }
        if let Some(b) = req.contribution_base_fen {
            if b < 0 {
                return Err(Refusal::bad_input("invalid_contribution_base", "the contribution base is not negative").into());
            }
            yikatong_core::money::limits::bounded("contribution_base_fen", b)?;
            set!(contribution_base_fen, Some(b));
        }
        if let Some(d) = &req.photo_digest {
            set!(photo_digest, Some(d.clone()));
        }
        if let Some(n) = &req.ssn {
            let corrected = Ssn::parse(n)?;
            if corrected.expose() != after.ssn {
                // One person per number: the database's unique index holds it under races.
                if self.store.get_person(corrected.expose()).await?.is_some() {
                    return Err(Refusal::conflict("ssn_taken", "another insured person is registered with this ID number").into());
                }
                set!(ssn, corrected.expose().to_string());
                set!(gender, corrected.gender());
                set!(birth_date, corrected.birth_date());
            }
        }
        if fields.is_empty() {
            return Err(Refusal::bad_input("no_change", "the change names no field that differs from the record").into());
        }
        let now = self.clock.now();
        after.updated_at = now;
        after.version = before.version + 1;
        let change = PersonChange {
            ssn: before.ssn.clone(),
            changed_at: now,
            effective_on: req.effective_on.unwrap_or_else(|| self.clock.today()),
            actor: who.actor(),
            fields,
            before: serde_json::Value::Object(old),
            after: serde_json::Value::Object(new),
        };
        let mut tx = self.begin_write().await?;
        tx.change_person(before.version, &after, &change).await?;
        self.commit(tx).await?;
        tracing::info!(person = %yikatong_core::identity::mask_ssn(&after.ssn), fields = ?change.fields, "information change recorded");
        Ok(PersonChangeView::of(&change, Some(&after)))
    }

    pub async fn person_history(&self, who: &Principal, ssn: &str) -> ServiceResult<Vec<PersonChangeView>> {
        let p = self.visible_person(who, ssn, Operation::ReadPersonHistory).await?;
        Ok(self.store.person_history(&p.ssn).await?.iter().map(|c| PersonChangeView::of(c, None)).collect())
    }
}

/// The institutions [`Service::require_institution`] has read, by code.
#[derive(Default)]
pub(crate) struct KnownInstitutions(std::sync::RwLock<std::collections::HashMap<String, Institution>>);

impl KnownInstitutions {
    fn get(&self, code: &str) -> Option<Institution> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(code).cloned()
    }

    fn keep(&self, institution: &Institution) {
        self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(institution.code.clone(), institution.clone());
    }
}
