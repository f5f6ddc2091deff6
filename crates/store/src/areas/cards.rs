//! The store's methods for cards (a part of [`crate::Store`]).

#![allow(clippy::wildcard_imports)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::*;

/// Cards, their events and production batches, read outside a card transaction (writes go through [`crate::CardTx`]).
#[async_trait]
pub trait CardStore: Send + Sync {
    // Cards (SPEC §4).
    async fn begin_cards(&self) -> StoreResult<Box<dyn CardTx>>;
    async fn get_card(&self, id: i64) -> StoreResult<Option<Card>>;
    async fn cards_of_person(&self, person_hash: &str) -> StoreResult<Vec<Card>>;
    async fn card_by_certificate(&self, number: &str) -> StoreResult<Option<Card>>;
    /// Cards carrying this printed number (a replacement may reuse none, but an old
    /// card keeps its number after it is replaced).
    async fn cards_by_number(&self, card_number: &str) -> StoreResult<Vec<Card>>;
    /// The person whose lookup hash starts with `prefix` (the national `psn_no`).
    async fn person_by_hash_prefix(&self, prefix: &str) -> StoreResult<Option<Person>>;
    async fn card_events(&self, id: i64) -> StoreResult<Vec<StoredEvent>>;
    /// A card's fees as charged: (kind, fen, payment method), oldest first.
    async fn card_fees(&self, card_id: i64) -> StoreResult<Vec<(String, i64, Option<String>)>>;
    /// Cards whose certificate's collection date waits for calendar `year` (R-CAL-2).
    async fn cards_awaiting_year(&self, year: i32) -> StoreResult<Vec<i64>>;
    /// Cards past their promise: not produced by their production date (R-APP-3), or not
    /// handed out by their unit's day (R-DIST-1).
    async fn overdue_cards(&self, today: chrono::NaiveDate) -> StoreResult<Vec<Card>>;
    async fn cards_in_batch(&self, batch_id: i64) -> StoreResult<Vec<Card>>;
    async fn get_batch(&self, id: i64) -> StoreResult<Option<BatchRecord>>;
    /// The snapshot instant of the region's latest production batch, if any.
    async fn latest_batch_snapshot(&self, region: &str) -> StoreResult<Option<DateTime<Utc>>>;
    async fn get_person_by_hash(&self, person_hash: &str) -> StoreResult<Option<Person>>;
    async fn outbox(&self, after_id: i64, limit: i64) -> StoreResult<Vec<OutboxMessage>>;
    /// R-EVT-1: up to `limit` notices due at `now` and not yet delivered or withdrawn, in
    /// the order they are to be delivered (by when they are due, then as written: for one
    /// card, the order of its changes).
    async fn due_notices(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<OutboxMessage>>;
    /// Marks notices delivered (the broker acknowledged them); a notice marked already
    /// keeps its first instant.
    async fn mark_delivered(&self, ids: &[i64], at: DateTime<Utc>) -> StoreResult<()>;
    /// R-EVT-2: notices waiting at `now`: `(due, scheduled)`, those due and not yet
    /// delivered, and those due later (a pre-loss's lifting).
    async fn undelivered_counts(&self, now: DateTime<Utc>) -> StoreResult<(i64, i64)>;
    /// Recomputes every card's event chain and compares it with the card's head.
    async fn verify_audit(&self) -> StoreResult<AuditReport>;
}
