//! 备案 filings for care in another region (R-XREG-1). Between Beijing, Tianjin and
//! Hebei no filing is needed; for any other pair of regions (the insured region's file,
//! `cross_region.without_filing`) a holder settles at an institution of another region
//! only on a filing covering the visit's day: long-term residence there, or temporary
//! care there, from a date and optionally until one. The insured region keeps them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::settlement::cross_region::{FilingKind, covers, filing_needed};
use yikatong_store::{Filing, Person};

use crate::{Service, ServiceResult};

/// A filing as a holder, a clerk or the operator records it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFiling {
    /// The region of care, by a division code its file covers (`370100`).
    pub care_admdvs: String,
    /// `long_term_residence` (异地长期居住) or `temporary` (临时外出就医).
    pub kind: String,
    /// The first day covered; optional, default today (business time).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<NaiveDate>,
    /// The last day covered; optional, default none: until it is ended.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilingView {
    pub id: i64,
    pub care_admdvs: String,
    /// The care region's name as its file gives it.
    pub care_region: String,
    pub kind: String,
    #[schema(value_type = String)]
    pub valid_from: NaiveDate,
    #[schema(value_type = Option<String>)]
    pub valid_to: Option<NaiveDate>,
    pub recorded_by: String,
}

impl Service {
    fn filing_view(&self, f: Filing) -> FilingView {
        FilingView {
            id: f.id,
            care_region: self.region_name(&f.care_admdvs),
            care_admdvs: f.care_admdvs,
            kind: f.kind.as_str().into(),
            valid_from: f.valid_from,
            valid_to: f.valid_to,
            recorded_by: f.recorded_by,
        }
    }

    /// Records a holder's filing for care in another region.
    pub async fn record_filing(&self, who: &Principal, ssn: &str, req: &NewFiling) -> ServiceResult<FilingView> {
        let person = self.visible_person(who, ssn, Operation::RecordFiling).await?;
        let kind =
            FilingKind::parse(req.kind.trim()).ok_or_else(|| Refusal::bad_input("invalid_filing_kind", format!("kind must be {}, not {:?}", FilingKind::spellings(), req.kind)))?;
        let care = req.care_admdvs.trim();
        let region = self.policies.region_of_division(care).ok_or_else(|| Refusal::bad_input("unknown_region", format!("care_admdvs {care:?} is no region's division code")))?;
        if region.code == person.region {
            return Err(Refusal::bad_input("filing_for_own_region", format!("{care} is the holder's own region ({}): care there needs no filing", region.name)).into());
        }
        let valid_from = req.valid_from.unwrap_or_else(|| self.clock.today());
        if req.valid_to.is_some_and(|to| to < valid_from) {
            return Err(Refusal::bad_input("invalid_period", "valid_to is before valid_from").into());
        }
        let hash = person.key_with(self.store.data_key());
        let mut filing = Filing { id: 0, care_admdvs: care.into(), kind, valid_from, valid_to: req.valid_to, recorded_by: who.recorded_by(), created_at: self.clock.now() };
        filing.id = self.store.insert_filing(&hash, &filing).await?;
        tracing::info!(care = %care, kind = %kind, "filing recorded");
        Ok(self.filing_view(filing))
    }

    /// A holder's filings, oldest first.
    pub async fn filings(&self, who: &Principal, ssn: &str) -> ServiceResult<Vec<FilingView>> {
        let person = self.visible_person(who, ssn, Operation::ReadPerson).await?;
        let hash = person.key_with(self.store.data_key());
        Ok(self.store.filings_of(&hash).await?.into_iter().map(|f| self.filing_view(f)).collect())
    }

    /// R-XREG-1: whether the holder may settle a visit on `date` at an institution of
    /// `care_admdvs`: their region needs no filing for it, or a filing covers the day.
    pub(crate) async fn check_filing(&self, person: &Person, care_admdvs: &str, date: NaiveDate) -> ServiceResult<()> {
        let policy = self.policies.region(&person.region)?;
        if !filing_needed(policy, care_admdvs, date) {
            return Ok(());
        }
        let hash = person.key_with(self.store.data_key());
        let filed = self.store.filings_of(&hash).await?;
        if filed.iter().any(|f| covers(&f.care_admdvs, care_admdvs) && f.valid_from <= date && f.valid_to.is_none_or(|to| date <= to)) {
            return Ok(());
        }
        Err(Refusal::conflict(
            "filing_required",
            format!(
                "{}'s holders need a filing (备案: long-term residence or temporary care elsewhere) before they settle at an institution of {care_admdvs} ({}), and no filing of this holder covers {date} (cross_region.without_filing)",
                policy.name,
                self.region_name(care_admdvs)
            ),
        )
        .into())
    }
}
