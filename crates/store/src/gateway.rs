//! Gateway credentials of designated institutions for the national interface's signed
//! requests (`x-tif-paasid`, `x-tif-timestamp`, `x-tif-nonce`, `x-tif-signature`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StoreResult;

/// An institution's access id and secret (the secret decrypted on the way out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HisCredential {
    pub id: i64,
    pub paasid: String,
    pub institution: String,
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The store's part for gateway credentials; each call is one transaction.
#[async_trait]
pub trait GatewayStore: Send + Sync {
    async fn insert_his_credential(&self, paasid: &str, institution: &str, secret: &str, at: DateTime<Utc>) -> StoreResult<i64>;
    async fn his_credential(&self, paasid: &str) -> StoreResult<Option<HisCredential>>;
    async fn list_his_credentials(&self) -> StoreResult<Vec<HisCredential>>;
    /// `false` when there is no such credential in force.
    async fn revoke_his_credential(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Records a nonce of an access id: `false` when it was seen already. Nonces seen
    /// before `forget_before` are forgotten in the same transaction.
    async fn record_nonce(&self, paasid: &str, nonce: &str, at: DateTime<Utc>, forget_before: DateTime<Utc>) -> StoreResult<bool>;
}
