//! Settlement use cases (SPEC §5, §7): the catalogue, visits and fee lines as the
//! national HIS interface sends them, real-time settlement and its reversal, manual
//! reimbursement, and the personal account. The engine in `yikatong_core::settlement`
//! computes; here the person's row, year totals and card are locked and the result is
//! booked in one transaction.

mod accounts;
mod booking;
mod catalog;
mod claims;
mod cross_region;
mod designated;
mod filings;
mod manual;
mod reconciliation;
mod routing;
mod visits;
mod vouchers;
mod work_injury;

use chrono::{Datelike, NaiveDate};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::settlement::VisitState;
use yikatong_store::{Person, VisitRecord};

pub use accounts::{AccountEntryView, AccountView};
pub use booking::{SettleRequest, Settlement};
pub use catalog::{CatalogImportReport, NewCatalogItem};
pub use claims::{PaymentResult, PaymentResultReport, ReimbursementView};
pub(crate) use cross_region::insured_region_of;
pub use cross_region::{CallFrom, LinkError, Part, RegionAnswer, RegionCall, RegionLink, UNANSWERED_CODES};
pub(crate) use designated::checked_class;
pub use designated::{DesignatedChoiceView, DesignatedCounts, DesignatedInstitutions, DesignatedView};
pub use filings::{FilingView, NewFiling};
pub use manual::{CertificateVisitView, MANUAL_REASONS, ManualLine, ManualReimbursement};
pub use reconciliation::{ReconDifference, ReconRecord, ReconScope, ReconTotals, amount_differences, compare_details, detail_file_text, parse_detail_text};
pub use routing::Route;
pub use visits::{FeeLineInput, LineResult, PersonInfo, Registration, parse_fee_lines};
pub use vouchers::IssuedVoucher;
pub use work_injury::WorkInjuryClaimView;

use crate::{Service, ServiceError, ServiceResult};

/// A visit still open for fee lines and settlement: not cancelled (2202), not declared
/// a work injury (R-SET-7: the holder pays in full and claims from work-injury
/// insurance).
pub(crate) fn still_open(visit: &VisitRecord) -> ServiceResult<()> {
    match visit.state {
        VisitState::Registered => Ok(()),
        VisitState::WorkInjury => {
            Err(Refusal::conflict("work_injury", format!("visit {} was declared a work injury: the holder pays in full and claims from work-injury insurance", visit.mdtrt_id))
                .into())
        }
        VisitState::Cancelled => Err(Refusal::conflict("visit_cancelled", "the visit's registration was cancelled").into()),
    }
}

/// The national interface's person number: the first 30 characters of the person's
/// keyed lookup hash (stable, and not the ID number).
pub fn psn_no(person_hash: &str) -> String {
    person_hash.chars().take(30).collect()
}

pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0) as u32
}

fn institution_of(who: &Principal) -> ServiceResult<String> {
    who.allow(Operation::Settle)?;
    who.institution.clone().ok_or_else(|| ServiceError::Internal("institution token without institution".into()))
}

impl Service {
    /// A visit of the caller's institution, read with its row lock in `tx`; another
    /// institution's visit does not exist for it.
    pub(crate) async fn lock_own_visit(&self, tx: &mut Box<dyn yikatong_store::CardTx>, who: &Principal, mdtrt_id: &str) -> ServiceResult<VisitRecord> {
        let institution = institution_of(who)?;
        match tx.lock_visit(mdtrt_id).await? {
            Some(v) if v.institution == institution => Ok(v),
            _ => Err(Refusal::not_found("visit_not_found", format!("there is no visit {mdtrt_id} at this institution")).into()),
        }
    }

    pub(crate) async fn person_by_psn_no(&self, psn_no: &str) -> ServiceResult<Person> {
        self.store.person_by_hash_prefix(psn_no).await?.ok_or_else(|| Refusal::not_found("person_not_found", format!("there is no insured person {psn_no}")).into())
    }

    /// R-SET-10: suspended insurance gets no fund payment
    /// (`yikatong_core::registry::check_insured`).
    pub(crate) fn check_insured(person: &Person) -> ServiceResult<()> {
        Ok(yikatong_core::registry::check_insured(&person.flags)?)
    }
}
