//! A holder's filings (备案) for care in another region (R-XREG-1), dated.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use yikatong_core::settlement::cross_region::FilingKind;

use crate::StoreResult;

/// One filing as the insured region records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    pub id: i64,
    /// The care region's division code (a province's covers its cities).
    pub care_admdvs: String,
    pub kind: FilingKind,
    pub valid_from: NaiveDate,
    /// The last day it covers; `None`: until it is ended.
    pub valid_to: Option<NaiveDate>,
    /// Who recorded it (`clerk at O1`, `operator`, `holder`).
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait FilingStore: Send + Sync {
    /// Records a filing (its `id` is given by the store) and returns its id.
    async fn insert_filing(&self, person_hash: &str, filing: &Filing) -> StoreResult<i64>;
    /// The person's filings, oldest first.
    async fn filings_of(&self, person_hash: &str) -> StoreResult<Vec<Filing>>;
}
