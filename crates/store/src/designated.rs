//! The designated institutions a holder chose (R-SET-12), dated.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::StoreResult;

/// One dated choice of designated institutions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignatedChoice {
    pub valid_from: NaiveDate,
    /// Institution codes, in the order chosen.
    pub institutions: Vec<String>,
    /// Who recorded it (`unit U1`, `clerk at O1`, `operator`).
    pub chosen_by: String,
    pub created_at: DateTime<Utc>,
}

/// How many persons of a region have a recorded choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceCounts {
    pub region: String,
    pub persons: i64,
    pub with_choice: i64,
}

#[async_trait]
pub trait DesignatedStore: Send + Sync {
    /// Records a choice from `valid_from` (replacing one from the same date).
    async fn set_designated_choice(&self, person_hash: &str, choice: &DesignatedChoice) -> StoreResult<()>;
    /// The person's choices, oldest first.
    async fn designated_choices(&self, person_hash: &str) -> StoreResult<Vec<DesignatedChoice>>;
    /// Per region: persons and those with a recorded choice.
    async fn designated_choice_counts(&self) -> StoreResult<Vec<ChoiceCounts>>;
}
