//! The store's methods for what `ykt verify` reads (a part of [`crate::Store`]).

#![allow(clippy::wildcard_imports)]

use async_trait::async_trait;

use crate::*;

/// What `ykt verify` reads: aggregates, and whole tables a page at a time in key order (`after` is the last key of the page before).
#[async_trait]
pub trait VerifyStore: Send + Sync {
    // What `ykt verify` reads: aggregates, and whole tables a page at a time in key
    // order (`after` is the last key of the page before).
    /// Visits with more than one live settlement of a kind: `("visit (kind)", count)`.
    async fn duplicate_live_settlements(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Persons with more than one card that settles: `(person_hash, count)`.
    async fn persons_with_cards_that_settle(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Accounts whose entries add up below zero: `(person_hash, balance)`.
    async fn negative_balances(&self) -> StoreResult<Vec<(String, i64)>>;
    async fn settlements_page(&self, after: &str, limit: i64) -> StoreResult<Vec<SettlementRecord>>;
    /// Reimbursement claims in id order after `after`, at most `limit`.
    async fn reimbursement_claims_page(&self, after: &str, limit: i64) -> StoreResult<Vec<ReimbursementClaim>>;
    async fn ledger_page(&self, after_id: i64, limit: i64) -> StoreResult<Vec<(String, AccountEntry)>>;
    async fn year_totals_page(&self, after: &(String, i64), limit: i64) -> StoreResult<Vec<(String, i64, YearTotals)>>;
    /// Fee lines marked settled: `(mdtrt_id, sn, setl_id)`.
    async fn settled_lines_page(&self, after: &(String, String), limit: i64) -> StoreResult<Vec<(String, String, String)>>;
    /// Cards after `after_id` with their `state` column and their events, oldest first
    /// (or why a card's events cannot be read).
    async fn cards_with_events_page(&self, after_id: i64, limit: i64) -> StoreResult<Vec<(Card, String, Result<Vec<CardEvent>, String>)>>;
    /// Every card's chain head after `after_id`: `(card_id, last_seq, head_hash)`.
    async fn chain_heads_page(&self, after_id: i64, limit: i64) -> StoreResult<Vec<(i64, i64, String)>>;
    /// The hashes of the events of cards `first..=last`: `(card_id, seq, hash)`.
    async fn event_hashes_of(&self, first: i64, last: i64) -> StoreResult<Vec<(i64, i64, String)>>;
    /// Outbox messages per card: `(card_id, count)`.
    async fn outbox_counts(&self) -> StoreResult<Vec<(i64, i64)>>;
    /// The versions of the migrations applied to this database, in order.
    async fn applied_migrations(&self) -> StoreResult<Vec<i64>>;
}
