//! Yikatong's storage. One [`Store`] trait of whole business operations, implemented on
//! SQLite (the embedded default) and on PostgreSQL. Both implementations are the same
//! source (`backend.rs`) compiled against each database's types, with their own
//! migrations and the few statements that differ; the two-backend tests cover every query.
//!
//! The store encrypts personal data on the way in and decrypts it on the way out, so no
//! layer above sees ciphertext and no table holds a readable ID number, name or phone.
//! The store never decides business rules.

pub mod areas;
mod backend;
mod backend_bulk;
mod backend_cards;
mod backend_designated;
mod backend_family;
mod backend_filings;
mod backend_gateway;
mod backend_his;
mod backend_settlement;
mod backend_sign_in;
mod backend_verify;
pub mod crypto;
pub mod designated;
mod dialect;
pub mod family;
pub mod filings;
pub mod gateway;
pub mod his;
mod postgres;
mod records;
pub mod scratch;
pub mod sign_in;
mod sqlite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;

pub use areas::{
    BatchStore, CardStore, CardTx, CardsTx, FamilyTx, JobStore, RegistryStore, RegistryTx, RequestStore, RequestTx, SettlementStore, SettlementTx, VerifyStore, VisitTx,
};
pub use crypto::{DataKey, KeyError};
pub use designated::{ChoiceCounts, DesignatedChoice, DesignatedStore};
pub use family::{FamilyMember, FamilyStore};
pub use filings::{Filing, FilingStore};
pub use gateway::{GatewayStore, HisCredential};
pub use his::{HisFile, HisStore, Voucher};
pub use records::*;
pub use sign_in::{PortalSession, QueuedMessage, SignInCode, SignInStore};
use yikatong_core::card::{Card, CardEvent};
use yikatong_core::settlement::{CatalogEntry, CatalogItem, YearTotals};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (a code, an SSN, an idempotency key).
    #[error("{0} already exists")]
    Duplicate(String),
    /// A person names a unit that is not registered.
    #[error("there is no unit {0}")]
    UnknownUnit(String),
    /// Someone else changed the row first; reload and try again.
    #[error("{0} was changed by someone else at the same time; try again")]
    Conflict(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("cannot open the database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the database's migrations failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whole business operations; each is one transaction. The methods are grouped by area
/// in [`areas`] (registry, cards, settlement, batches, jobs, requests, verify reads);
/// `Store` is all of them. The benchmarks' baselines, which make scratch tables, are not
/// here at all: they are the command line's (`ykt bench`).
#[async_trait]
pub trait Store:
    VerifyStore
    + RegistryStore
    + RequestStore
    + CardStore
    + SettlementStore
    + BatchStore
    + JobStore
    + SignInStore
    + GatewayStore
    + HisStore
    + DesignatedStore
    + FilingStore
    + FamilyStore
    + Send
    + Sync
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    fn data_key(&self) -> &DataKey;

    async fn ping(&self) -> StoreResult<()>;
}

/// How many pooled connections a store keeps and how long a request waits for one (and,
/// on SQLite, for the write lock) before it is answered with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// `None`: 16 on PostgreSQL, 8 on SQLite.
    pub max_connections: Option<u32>,
    pub wait: std::time::Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { max_connections: None, wait: std::time::Duration::from_secs(10) }
    }
}

/// Opens (creating and migrating as needed) the database named by `url`: a
/// `postgres://` or `postgresql://` URL, otherwise a SQLite file path (or `sqlite:` URL).
pub async fn open(url: &str, key: DataKey) -> StoreResult<Arc<dyn Store>> {
    open_with(url, key, PoolOptions::default()).await
}

/// [`open`] with the pool's size and wait.
pub async fn open_with(url: &str, key: DataKey, pool: PoolOptions) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url, key, pool).await?))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::open(url, key, pool).await?))
    }
}

/// Hides a password in a database URL before it is shown.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
