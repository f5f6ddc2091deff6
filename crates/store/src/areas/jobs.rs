//! The store's methods for jobs (a part of [`crate::Store`]).

#![allow(clippy::wildcard_imports)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::*;

/// Long jobs (monthly credits): their progress and report, and the ones a stop interrupted.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Marks jobs still `running` as `interrupted` (at start-up); returns how many.
    async fn interrupt_running_jobs(&self, at: DateTime<Utc>) -> StoreResult<u64>;
    async fn create_job(&self, kind: &str, params: &serde_json::Value, total: i64, at: DateTime<Utc>) -> StoreResult<i64>;
    async fn update_job(&self, id: i64, state: JobState, done: i64, report: Option<&serde_json::Value>, at: DateTime<Utc>) -> StoreResult<()>;
    async fn get_job(&self, id: i64) -> StoreResult<Option<JobRecord>>;
}
