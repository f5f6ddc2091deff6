//! The store's methods for registry (a part of [`crate::Store`]).

#![allow(clippy::wildcard_imports)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::*;

/// The registry (SPEC §1-2): units, outlets, institutions and persons, and the working-day calendar years an operator loaded.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    // Registry (SPEC §1-2).
    async fn insert_unit(&self, unit: &Organisation) -> StoreResult<()>;
    async fn get_unit(&self, code: &str) -> StoreResult<Option<Organisation>>;
    async fn insert_outlet(&self, outlet: &Organisation) -> StoreResult<()>;
    async fn get_outlet(&self, code: &str) -> StoreResult<Option<Organisation>>;
    async fn insert_institution(&self, inst: &Institution) -> StoreResult<()>;
    async fn get_institution(&self, code: &str) -> StoreResult<Option<Institution>>;

    async fn insert_person(&self, person: &Person) -> StoreResult<()>;
    /// Inserts many persons in one transaction (demo data, bulk loads); persons already
    /// present are skipped. Returns how many were inserted.
    async fn insert_persons(&self, persons: &[Person]) -> StoreResult<u64>;
    async fn get_person(&self, ssn: &str) -> StoreResult<Option<Person>>;
    async fn find_person_by_handbook(&self, handbook_no: &str) -> StoreResult<Option<Person>>;
    async fn count_persons(&self) -> StoreResult<i64>;
    /// R-INFO-1: replaces the person's current record with `after` if its version is
    /// still `expected_version`, and appends `change` to the dated history, together.
    async fn change_person(&self, expected_version: i64, after: &Person, change: &PersonChange) -> StoreResult<()>;
    async fn person_history(&self, ssn: &str) -> StoreResult<Vec<PersonChange>>;
    /// Many persons' flags changed at once (each at its expected version), each change
    /// kept in the history, in one transaction; a conflict on any changes none.
    async fn change_flags(&self, changes: &[(i64, Person, PersonChange)]) -> StoreResult<()>;
    // Working-day calendar years loaded by an operator (R-CAL-2).
    async fn put_calendar_year(&self, year: i32, toml: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn calendar_years(&self) -> StoreResult<Vec<(i32, String)>>;
}
