//! The embedded default: one SQLite file in WAL mode. Writes take the lock up front
//! (`BEGIN IMMEDIATE`) and wait on a busy timeout, so concurrent writers queue instead
//! of failing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Every file of `migrations/sqlite/`, checksummed: a file added to the folder is applied,
/// and one edited after it was applied stops the start-up.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    pool: sqlx::Pool<Db>,
    key: DataKey,
}

impl SqliteStore {
    pub async fn open(url: &str, key: DataKey, pool_options: crate::PoolOptions) -> StoreResult<SqliteStore> {
        let connect_err = |e: sqlx::Error| StoreError::Connect { url: url.to_string(), reason: e.to_string() };
        let options = if url.starts_with("sqlite:") { SqliteConnectOptions::from_str(url).map_err(connect_err)? } else { SqliteConnectOptions::new().filename(url) };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Writers queue on the one write lock; a long batch transaction may hold it a while.
            .busy_timeout(pool_options.wait.max(Duration::from_secs(30)))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(pool_options.max_connections.unwrap_or(8))
            .acquire_timeout(pool_options.wait)
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        let store = SqliteStore { pool, key };
        store.run_migrations().await?;
        Ok(store)
    }
}

crate::backend::store_impl!(SqliteStore, SqliteDialect);

/// SQLite's way of doing what differs between the databases.
/// (`Dialect`, `CardUpdate` and the shared error mappers are in scope through
/// `store_impl!` above, which imports them for the shared source.)
pub(crate) struct SqliteDialect;

impl Dialect for SqliteDialect {
    type Db = sqlx::Sqlite;
    const BACKEND: &'static str = "sqlite";
    const FOR_UPDATE: &'static str = "";
    const HAND_KEPT_MIGRATIONS: &'static str = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn begin_write(pool: &sqlx::Pool<sqlx::Sqlite>) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Ids for `n` new cards. The write transaction (`BEGIN IMMEDIATE`) holds the
    /// database's only write lock, so the ids after the highest ever given are free.
    async fn reserve_card_ids(tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>, n: usize) -> Result<Vec<i64>, sqlx::Error> {
        let top: i64 = sqlx::query_scalar("SELECT MAX(x) FROM (SELECT COALESCE(MAX(id), 0) AS x FROM cards UNION ALL SELECT seq AS x FROM sqlite_sequence WHERE name = 'cards')")
            .fetch_one(&mut **tx)
            .await?;
        Ok((top + 1..=top + n as i64).collect())
    }

    /// SQLite writes one table per statement; in process, the rows one by one cost no
    /// round trips.
    async fn record_in_one_statement(_tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>, _change: &CardChange<'_>) -> StoreResult<bool> {
        Ok(false)
    }

    /// SQLite writes one table per statement; in process, the parts one by one cost no
    /// round trips.
    async fn book_in_one_statement(_tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>, _booking: &crate::Booking<'_>) -> StoreResult<Option<u64>> {
        Ok(None)
    }

    /// Many cards' new states: one prepared `UPDATE … WHERE id = ?` per card, in process
    /// (SQLite plans `UPDATE … FROM (VALUES …)` as a walk of the whole table).
    async fn update_cards(tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>, rows: &[CardUpdate<'_>]) -> StoreResult<()> {
        for r in rows {
            let c = r.card;
            sqlx::query("UPDATE cards SET state = $1, card_number = $2, certificate_number = $3, batch_id = $4, due_on = $5, version = version + 1, head_hash = $6, last_seq = $7, data = $8 WHERE id = $9")
                .bind(c.state.as_str())
                .bind(c.card_number.as_deref())
                .bind(c.certificate.as_ref().map(|c| c.number.clone()))
                .bind(c.batch_id)
                .bind(c.due_on.map(|d| d.to_string()))
                .bind(r.head.as_str())
                .bind(r.seq)
                .bind(r.data.as_str())
                .bind(c.id)
                .execute(&mut **tx)
                .await
                .map_err(card_write)?;
        }
        Ok(())
    }
}
