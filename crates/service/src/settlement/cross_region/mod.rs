//! 异地就医 care in another region (SPEC §11, R-XREG-1..4): a visit at this region's
//! institution by a holder another region insures. The hospital talks to its own region
//! (the care region, 就医地); the care region asks the insured region (参保地) by
//! request/reply over the regions' link (NATS, `ykt serve --region … --nats …`):
//!
//! - 1101 and 2201 ask the insured region for the holder and the card's standing; the
//!   visit and its fee lines (2204) are recorded in the care region, classified by its
//!   catalogue;
//! - 2206/2207 send the classified lines; the insured region computes the receipt under
//!   its policy and books it against the holder's year totals and account (the receipt
//!   is computed once, so the deductible is charged once a year wherever the holder was
//!   treated); the care region then records the same settlement for its institution;
//! - 2208 reverses in the insured region first, then in the care region.
//!
//! Every call that books carries a key (`<care admdvs>:<institution>:<msgid>`); the
//! insured region claims it in the booking's transaction and keeps its answer with it
//! ([`crate::RequestClaim`]), so a call repeated — after a timeout, or after either side
//! restarted — books once and gets the first answer. The care region makes its call
//! before it opens its own transaction and books with the answer; a hospital retrying
//! the same `msgid` after any failure in between gets the booking completed on both
//! sides. An insured region that cannot be reached is a refusal, and nothing is booked
//! on either side (R-XREG-4).

mod care;
mod insured;
mod wire;

use async_trait::async_trait;
pub use care::UNANSWERED_CODES;
pub(crate) use care::{holder_of, insured_region_of};
pub use wire::{CallFrom, Part, RegionAnswer, RegionCall};
use yikatong_core::settlement::Side;

/// Why a call to another region got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// Nothing serves the region (its deployment is down): the call was not delivered.
    Unreachable(String),
    /// The call was sent and no answer came in time: whether the insured region booked
    /// is unknown until the same call is made again.
    Timeout(String),
}

/// The link to the other regions' deployments, as the care region asks it.
#[async_trait]
pub trait RegionLink: Send + Sync {
    /// Sends `call` (JSON) to the deployment of the region with file code `region` and
    /// returns its answer (JSON).
    async fn call(&self, region: &str, call: Vec<u8>) -> Result<Vec<u8>, LinkError>;
}

impl crate::Service {
    /// R-XREG-3: the month's (`2026-03`, business time) clearing statements per pair of
    /// regions, from this deployment's own copies of the cross-region settlements.
    /// Each with the side this deployment's copies are on.
    pub async fn clearing(&self, month: &str) -> crate::ServiceResult<Vec<(yikatong_core::settlement::clearing::PairStatement, Side)>> {
        use yikatong_core::settlement::clearing::{Cleared, month_bounds, statements};
        let (from, to) = month_bounds(month).ok_or_else(|| yikatong_core::Refusal::bad_input("invalid_month", format!("the month must be written YYYY-MM, not {month:?}")))?;
        let records = self.store.cross_region_settlements(from, to).await?;
        let mut receipts = Vec::with_capacity(records.len());
        for mut r in records {
            let receipt = crate::settlement::booking::stored_receipt(&mut r)?;
            receipts.push((r, receipt));
        }
        let copies = receipts.iter().filter_map(|(r, receipt)| r.cross_region.as_ref().map(|pair| Cleared { pair, created_at: r.created_at, reversed_at: r.reversed_at, receipt }));
        let side_of = |s: &yikatong_core::settlement::clearing::PairStatement| {
            receipts
                .iter()
                .filter_map(|(r, _)| r.cross_region.as_ref())
                .find(|x| x.care_admdvs == s.care_admdvs && x.insured_admdvs == s.insured_admdvs)
                .map_or(Side::Care, |x| x.side)
        };
        Ok(statements(from, to, copies)
            .into_iter()
            .map(|s| {
                let side = side_of(&s);
                (s, side)
            })
            .collect())
    }

    /// A region's name by a division code it covers, for statements.
    pub fn region_name(&self, admdvs: &str) -> String {
        self.policies.region_of_division(admdvs).map_or_else(|| admdvs.to_string(), |r| r.name.clone())
    }
}
