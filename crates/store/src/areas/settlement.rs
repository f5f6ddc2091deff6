//! The store's methods for settlement (a part of [`crate::Store`]).

#![allow(clippy::wildcard_imports)]

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::*;

/// The catalogue, visits, fee lines, settlements, reimbursement claims and the personal accounts.
#[async_trait]
pub trait SettlementStore: Send + Sync {
    // Catalogue, visits, fee lines, settlements and accounts (SPEC §5, §7).
    /// Inserts or replaces catalogue entries (by code, region and date) in one
    /// transaction; returns how many.
    async fn upsert_catalog_entries(&self, entries: &[CatalogEntry], at: DateTime<Utc>) -> StoreResult<u64>;
    /// Inserts or replaces region-independent entries in force always.
    async fn upsert_catalog_items(&self, items: &[CatalogItem], at: DateTime<Utc>) -> StoreResult<u64> {
        self.upsert_catalog_entries(&items.iter().cloned().map(CatalogEntry::everywhere).collect::<Vec<_>>(), at).await
    }
    /// The region-independent entry in force always.
    async fn catalog_item(&self, code: &str) -> StoreResult<Option<CatalogItem>>;
    /// The items of these codes in force in `region` on `on`, in one query (codes
    /// without an entry in force are absent; see [`yikatong_core::settlement::entry_in_force`]).
    async fn catalog_items(&self, codes: &[String], region: &str, on: NaiveDate) -> StoreResult<Vec<CatalogItem>>;
    async fn get_visit(&self, mdtrt_id: &str) -> StoreResult<Option<VisitRecord>>;
    async fn fee_lines(&self, mdtrt_id: &str) -> StoreResult<Vec<StoredFeeLine>>;
    /// The visits registered on a card-collection certificate (R-CERT-1), oldest first.
    async fn certificate_visits(&self, certificate_number: &str) -> StoreResult<Vec<String>>;
    async fn get_settlement(&self, setl_id: &str) -> StoreResult<Option<SettlementRecord>>;
    async fn work_injury_claim(&self, claim_id: &str) -> StoreResult<Option<WorkInjuryClaim>>;
    async fn reimbursement_claim(&self, id: &str) -> StoreResult<Option<ReimbursementClaim>>;
    /// A person's reimbursement claims, oldest first.
    async fn reimbursement_claims_of(&self, person_hash: &str) -> StoreResult<Vec<ReimbursementClaim>>;
    /// Approves a submitted claim; `false` when it is not submitted (approved already).
    async fn approve_reimbursement(&self, id: &str, by: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Moves a claim from `from` to `to` (`paid`, `failed` with its reason); `false`
    /// when it is not in `from`.
    async fn move_reimbursement(
        &self,
        id: &str,
        from: yikatong_core::settlement::ClaimState,
        to: yikatong_core::settlement::ClaimState,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The claims of a payment file, in its order.
    async fn reimbursements_in_file(&self, file_id: &str) -> StoreResult<Vec<ReimbursementClaim>>;
    async fn settlements_of_person(&self, person_hash: &str) -> StoreResult<Vec<SettlementRecord>>;
    async fn account_entries(&self, person_hash: &str) -> StoreResult<Vec<AccountEntry>>;
    async fn year_totals(&self, person_hash: &str, year: i64) -> StoreResult<YearTotals>;
}
