//! Where a holder may be treated (R-SET-12): the designated institutions the holder
//! chose (recorded in the medical handbook) stay the holder's with the card; classes of
//! institutions the region opens to all (A-class, TCM, specialty) may be visited
//! directly. Whether a recorded choice restricts real-time settlement, how many
//! institutions a holder may choose and which classes are open are the region's dated
//! policy. A holder with no recorded choice is not restricted (the bureau cannot refuse
//! what it never recorded); the operator sees how many such holders there are.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::identity::mask_ssn;
use yikatong_core::policy::schema::INSTITUTION_CLASSES;
use yikatong_store::{CardTx, DesignatedChoice, Institution, Person};

use crate::{Service, ServiceError, ServiceResult};

/// A holder's choice, as a unit or an outlet records it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DesignatedInstitutions {
    /// Institution codes of the holder's region, at most the region's maximum.
    pub institutions: Vec<String>,
    /// The date the choice applies from; optional, default today (business time).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DesignatedChoiceView {
    #[schema(value_type = String)]
    pub valid_from: NaiveDate,
    pub institutions: Vec<String>,
    pub chosen_by: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DesignatedView {
    pub ssn_masked: String,
    /// The choice in force today, if any.
    pub current: Option<DesignatedChoiceView>,
    /// Every recorded choice, oldest first.
    pub history: Vec<DesignatedChoiceView>,
    /// Whether the holder's region restricts real-time settlement to the choice today.
    pub restricts: bool,
    /// How many institutions the region lets a holder choose (none: no limit given).
    pub max_choices: Option<u32>,
}

/// Per region, how many holders have a recorded choice and how many do not.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DesignatedCounts {
    pub region: String,
    pub persons: i64,
    pub with_choice: i64,
    pub without_choice: i64,
    /// Whether the region's choice restricts real-time settlement today.
    pub restricts: bool,
}

fn view(c: &DesignatedChoice) -> DesignatedChoiceView {
    DesignatedChoiceView { valid_from: c.valid_from, institutions: c.institutions.clone(), chosen_by: c.chosen_by.clone() }
}

/// An institution class as registered: optional, one of the known classes.
pub(crate) fn checked_class(class: Option<&str>) -> ServiceResult<Option<String>> {
    match class.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) if INSTITUTION_CLASSES.contains(&c) => Ok(Some(c.to_string())),
        Some(c) => Err(Refusal::bad_input("invalid_class", format!("institution class {c:?} is not one of {}", INSTITUTION_CLASSES.join(", "))).into()),
    }
}

impl Service {
    /// A flag of the region's policy on `on`; absent means off.
    pub(crate) fn region_flag(&self, region: &str, name: &str, on: NaiveDate) -> ServiceResult<bool> {
        let policy = self.policies.region(region)?;
        if !policy.parameters.contains_key(name) {
            return Ok(false);
        }
        policy.flag(name, on).map_err(|e| Refusal::conflict("policy_not_in_force", e.to_string()).into())
    }

    fn max_choices(&self, region: &str, on: NaiveDate) -> ServiceResult<Option<u32>> {
        let policy = self.policies.region(region)?;
        let name = "settlement.designated.max_choices";
        if !policy.parameters.contains_key(name) {
            return Ok(None);
        }
        policy.count(name, on).map(Some).map_err(|e| Refusal::conflict("policy_not_in_force", e.to_string()).into())
    }

    /// Records the designated institutions a holder chose, from a date.
    pub async fn set_designated_institutions(&self, who: &Principal, ssn: &str, req: &DesignatedInstitutions) -> ServiceResult<DesignatedView> {
        let person = self.visible_person(who, ssn, Operation::SetDesignatedInstitutions).await?;
        let valid_from = req.valid_from.unwrap_or_else(|| self.clock.today());
        let mut codes: Vec<String> = Vec::new();
        for code in &req.institutions {
            let code = code.trim().to_string();
            if codes.contains(&code) {
                return Err(Refusal::bad_input("duplicate_institution", format!("{code} is chosen twice")).into());
            }
            let inst = self
                .require_institution(&code)
                .await
                .map_err(|_| ServiceError::from(Refusal::bad_input("unknown_institution", format!("there is no designated institution {code}"))))?;
            if inst.region != person.region {
                return Err(
                    Refusal::bad_input("institution_not_in_region", format!("{code} is an institution of {}, the holder is insured in {}", inst.region, person.region)).into()
                );
            }
            codes.push(code);
        }
        if codes.is_empty() {
            return Err(Refusal::bad_input("no_institutions", "choose at least one designated institution").into());
        }
        if let Some(max) = self.max_choices(&person.region, valid_from)?
            && codes.len() > max as usize
        {
            return Err(Refusal::bad_input("too_many_institutions", format!("{} institutions chosen; the region allows at most {max}", codes.len())).into());
        }
        let hash = person.key_with(self.store.data_key());
        self.store.set_designated_choice(&hash, &DesignatedChoice { valid_from, institutions: codes, chosen_by: who.recorded_by(), created_at: self.clock.now() }).await?;
        self.designated_view(&person, &hash).await
    }

    pub async fn designated_institutions(&self, who: &Principal, ssn: &str) -> ServiceResult<DesignatedView> {
        let person = self.visible_person(who, ssn, Operation::ReadPerson).await?;
        let hash = person.key_with(self.store.data_key());
        self.designated_view(&person, &hash).await
    }

    async fn designated_view(&self, person: &Person, hash: &str) -> ServiceResult<DesignatedView> {
        let today = self.clock.today();
        let history = self.store.designated_choices(hash).await?;
        Ok(DesignatedView {
            ssn_masked: mask_ssn(&person.ssn),
            current: history.iter().rev().find(|c| c.valid_from <= today).map(view),
            history: history.iter().map(view).collect(),
            restricts: self.region_flag(&person.region, "settlement.designated.restricts", today)?,
            max_choices: self.max_choices(&person.region, today)?,
        })
    }

    /// The operator's count of holders with and without a recorded choice.
    pub async fn designated_counts(&self, who: &Principal) -> ServiceResult<Vec<DesignatedCounts>> {
        who.allow(Operation::ReadDesignatedCounts)?;
        let today = self.clock.today();
        let mut out = Vec::new();
        for c in self.store.designated_choice_counts().await? {
            let restricts = self.region_flag(&c.region, "settlement.designated.restricts", today).unwrap_or(false);
            out.push(DesignatedCounts { without_choice: c.persons - c.with_choice, region: c.region, persons: c.persons, with_choice: c.with_choice, restricts });
        }
        Ok(out)
    }

    /// Refuses real-time settlement of `person` at `institution` on `date` where the
    /// region's choice restricts it and the institution is neither chosen nor open to
    /// all; read inside the settlement's transaction.
    pub(crate) async fn designated_allowed(&self, tx: &mut Box<dyn CardTx>, person: &Person, person_hash: &str, institution: &Institution, date: NaiveDate) -> ServiceResult<()> {
        if !self.region_flag(&person.region, "settlement.designated.restricts", date)? {
            return Ok(());
        }
        if let Some(class) = &institution.class
            && self.region_flag(&person.region, &format!("settlement.designated.open_to_all.{class}"), date)?
        {
            return Ok(());
        }
        match tx.designated_choice_at(person_hash, date).await? {
            None => Ok(()),
            Some(chosen) if chosen.contains(&institution.code) => Ok(()),
            Some(chosen) => Err(Refusal::conflict(
                "not_designated_institution",
                format!(
                    "{} is not one of the holder's designated institutions ({}) nor open to all holders; it is not settled in real time: pay at the counter and claim by hand (手工报销) with the receipts",
                    institution.code,
                    chosen.join(", ")
                ),
            )
            .into()),
        }
    }
}
