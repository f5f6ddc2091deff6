//! The store's methods for batch work (a part of [`crate::Store`]).

#![allow(clippy::wildcard_imports)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::*;

/// Batch work at city scale: persons a page at a time, monthly credits, the registry comparison and resident premiums.
#[async_trait]
pub trait BatchStore: Send + Sync {
    // Batch work (issue: city scale).
    /// Persons in lookup-hash order after `after` (keyset paging, so a run can resume).
    async fn persons_page(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, Person)>>;
    /// The persons with these lookup hashes (those that exist), in one statement per
    /// few thousand.
    /// R-EXCH-1: the key of the person whose ID number is now the one hashed to
    /// `number_hash`.
    async fn person_key_of_number(&self, number_hash: &str) -> StoreResult<Option<String>>;
    /// Persons by the keyed hash of their ID number as it is now (files name people by
    /// their number), each with that hash.
    async fn persons_by_numbers(&self, number_hashes: &[String]) -> StoreResult<Vec<(String, Person)>>;
    async fn persons_by_hashes(&self, hashes: &[String]) -> StoreResult<Vec<(String, Person)>>;
    /// A unit's persons in lookup-hash order after `after`.
    async fn unit_persons_page(&self, unit: &str, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, Person)>>;
    /// Writes monthly credits in one transaction, each at most once per person and
    /// reference; says for each whether this call wrote it.
    async fn credit_once(&self, credits: &[MonthlyCredit], at: DateTime<Utc>) -> StoreResult<Vec<bool>>;
    // Comparison with the population registry (R-CMP-1..4).
    /// Inserts or replaces registry rows in one transaction; returns how many.
    async fn upsert_registry_rows(&self, rows: &[RegistryRow], at: DateTime<Utc>) -> StoreResult<u64>;
    async fn registry_row(&self, ssn: &str) -> StoreResult<Option<RegistryRow>>;
    /// R-APP-4: the province's card register: `(ssn, city's division code, card works)`
    /// rows; a working card's row is kept (the last row of a person wins), another's
    /// removed. Returns how many rows were applied.
    async fn load_province_cards(&self, rows: &[(String, String, bool)], at: DateTime<Utc>) -> StoreResult<u64>;
    async fn save_comparison(&self, ssn: &str, marks: &serde_json::Value, at: DateTime<Utc>) -> StoreResult<()>;
    /// Persons in lookup-hash order after `after`, each with their registry row if the
    /// extract has one (one statement per page).
    async fn compare_page(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, Person, Option<RegistryRow>)>>;
    /// Keeps many persons' marks (lookup hash, marks) in one transaction.
    async fn save_comparisons(&self, marks: &[(String, serde_json::Value)], at: DateTime<Utc>) -> StoreResult<()>;
    async fn comparison(&self, ssn: &str) -> StoreResult<Option<(serde_json::Value, DateTime<Utc>)>>;
    // Resident premiums (R-PAY-1, R-PAY-2).
    /// Records a payment once per reference; false when the reference was recorded before.
    async fn insert_premium_payment(&self, p: &PremiumPayment) -> StoreResult<bool>;
    async fn record_deduction(&self, d: &PremiumDeduction, at: DateTime<Utc>) -> StoreResult<()>;
    async fn premium_payments(&self, person_hash: &str) -> StoreResult<Vec<PremiumPayment>>;
    async fn failed_deductions(&self, person_hash: Option<&str>, period: Option<&str>) -> StoreResult<Vec<PremiumDeduction>>;

    /// Refreshes the query planner's statistics of `tables` (`ANALYZE`), after a bulk
    /// load has changed them by more than the database would notice in time.
    async fn refresh_statistics(&self, tables: &[&str]) -> StoreResult<()>;
}
