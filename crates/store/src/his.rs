//! What the national interface keeps besides visits and settlements: electronic
//! vouchers (医保电子凭证, `mdtrt_cert_type` 01) and the files institutions upload for
//! reconciliation (9101, read by 3202).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{SettlementRecord, StoreResult};

/// An electronic voucher: a single-use code for one visit of one person, kept by its
/// keyed hash only (the code itself is shown once, to its holder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voucher {
    pub id: i64,
    pub person_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The institution whose 1101 read it first; only it may register the visit.
    pub read_by: Option<String>,
    /// When a 2201 registered the visit with it, and that visit.
    pub used_at: Option<DateTime<Utc>>,
    pub mdtrt_id: Option<String>,
}

/// A file an institution uploaded with 9101.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HisFile {
    pub file_qury_no: String,
    pub institution: String,
    pub filename: String,
    pub content: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// The store's part for vouchers and reconciliation; each call is one transaction.
#[async_trait]
pub trait HisStore: Send + Sync {
    async fn insert_voucher(&self, code_hash: &str, person_hash: &str, created_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> StoreResult<i64>;
    async fn voucher(&self, code_hash: &str) -> StoreResult<Option<Voucher>>;
    /// Binds an unused voucher to the institution that read it (1101); `false` when it
    /// is used or another institution read it first.
    async fn mark_voucher_read(&self, code_hash: &str, institution: &str) -> StoreResult<bool>;
    async fn insert_his_file(&self, file: &HisFile) -> StoreResult<()>;
    /// A file of this institution (another institution's does not exist for it).
    async fn his_file(&self, file_qury_no: &str, institution: &str) -> StoreResult<Option<HisFile>>;
    /// The holder's visit card at the institution (R-SET-9).
    async fn visit_card_of(&self, institution: &str, person_hash: &str) -> StoreResult<Option<String>>;
    /// The institution's settlements of `kind` booked or reversed in `[from, to)`.
    async fn settlements_of_institution(
        &self,
        institution: &str,
        kind: yikatong_core::settlement::SettlementKind,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SettlementRecord>>;
    /// R-XREG-3: this region's copies of cross-region settlements booked or reversed in
    /// `[from, to)`.
    async fn cross_region_settlements(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<SettlementRecord>>;
}
