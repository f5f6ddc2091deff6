//! What signing in leaves in the database: portal sessions, one-time sign-in codes and
//! the messages (SMS) that carry them to a holder's phone (SPEC §8).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{StoreResult, TokenRecord};

/// A portal session: what the cookie's random id (kept only as its hash) stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// The portal part it was opened for (`holder`, `unit`, `outlet`, `operator`).
    pub part: String,
    /// The token the session acts with.
    pub token_id: i64,
    /// The token every state-changing form of the session carries.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A one-time sign-in code sent to a holder's phone (only its keyed hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInCode {
    pub id: i64,
    pub person_hash: String,
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When it was used, or superseded by a newer code.
    pub used_at: Option<DateTime<Utc>>,
}

/// A message to a person's phone, waiting for (or sent by) the SMS gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub id: i64,
    /// What it is for (`sign_in_code`).
    pub purpose: String,
    pub phone: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The store's part for signing in; each call is one transaction.
#[async_trait]
pub trait SignInStore: Send + Sync {
    async fn find_token_by_id(&self, id: i64) -> StoreResult<Option<TokenRecord>>;

    async fn insert_portal_session(&self, id_hash: &str, session: &PortalSession) -> StoreResult<()>;
    async fn portal_session(&self, id_hash: &str) -> StoreResult<Option<PortalSession>>;
    /// Records activity on a session still open.
    async fn touch_portal_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Ends a session; `false` when it had ended already.
    async fn end_portal_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<bool>;

    /// Keeps a new code for the person, superseding (marking used) the codes before it.
    async fn insert_sign_in_code(&self, person_hash: &str, code_hash: &str, at: DateTime<Utc>, expires_at: DateTime<Utc>) -> StoreResult<i64>;
    /// The person's newest code, used or not.
    async fn latest_sign_in_code(&self, person_hash: &str) -> StoreResult<Option<SignInCode>>;
    /// Uses a code once: `false` when it was used (or superseded) already.
    async fn use_sign_in_code(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;

    /// Queues a message for the SMS gateway (phone and text encrypted).
    async fn queue_message(&self, purpose: &str, phone: &str, body: &str, at: DateTime<Utc>) -> StoreResult<i64>;
    /// Messages after `after_id` in order, only those not yet sent when `unsent`.
    async fn messages(&self, after_id: i64, unsent: bool, limit: i64) -> StoreResult<Vec<QueuedMessage>>;
    /// Marks a message sent; `false` when it was sent already or does not exist.
    async fn mark_message_sent(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;
}
