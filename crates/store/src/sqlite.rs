//! The embedded default: one SQLite file in WAL mode. Writes take the lock up front
//! (`BEGIN IMMEDIATE`) and wait on a busy timeout, so concurrent writers queue instead
//! of failing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

type Db = sqlx::Sqlite;

const BACKEND: &str = "sqlite";
/// Row locks for read-then-write: SQLite's `BEGIN IMMEDIATE` already holds the write lock.
const FOR_UPDATE: &str = "";
const MIGRATION_LOCK: Option<&str> = None;
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_registry.sql")),
    (2, include_str!("../migrations/sqlite/0002_cards.sql")),
    (3, include_str!("../migrations/sqlite/0003_settlement.sql")),
    (4, include_str!("../migrations/sqlite/0004_credits_jobs.sql")),
    (5, include_str!("../migrations/sqlite/0005_comparison.sql")),
    (6, include_str!("../migrations/sqlite/0006_premiums.sql")),
];

async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

pub struct SqliteStore {
    pool: sqlx::Pool<Db>,
    key: DataKey,
}

impl SqliteStore {
    pub async fn open(url: &str, key: DataKey) -> StoreResult<SqliteStore> {
        let connect_err = |e: sqlx::Error| StoreError::Connect { url: url.to_string(), reason: e.to_string() };
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(connect_err)?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        let store = SqliteStore { pool, key };
        store.run_migrations().await?;
        Ok(store)
    }
}

crate::backend::store_impl!(SqliteStore);
