//! The store's methods for tokens and exactly-once requests (a part of [`crate::Store`]).

#![allow(clippy::wildcard_imports)]

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::*;

/// Access tokens and exactly-once requests (a national `msgid`, a client's `Idempotency-Key`).
#[async_trait]
pub trait RequestStore: Send + Sync {
    // Access tokens.
    async fn insert_token(&self, token_hash: &str, grant: &TokenGrant, at: DateTime<Utc>) -> StoreResult<i64>;
    async fn find_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>>;
    async fn revoke_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>>;
    // Idempotency of creating requests.
    /// What is kept for a key, read without claiming it: `None` when nothing (or only
    /// an entry created before `expire_before`) is kept. The claim itself is
    /// [`CardTx::claim_request`], inside the transaction of the work.
    async fn idempotency_peek(&self, token_id: i64, key: &str, fingerprint: &str, expire_before: Option<DateTime<Utc>>) -> StoreResult<Option<IdempotencyBegin>>;
    async fn idempotency_finish(&self, token_id: i64, key: &str, status: u16, body: &[u8]) -> StoreResult<()>;
    async fn idempotency_abandon(&self, token_id: i64, key: &str) -> StoreResult<()>;
    /// Removes claims without an answer (left by a multi-transaction request when the
    /// service stopped); returns how many.
    async fn release_unanswered_claims(&self) -> StoreResult<u64>;
}
