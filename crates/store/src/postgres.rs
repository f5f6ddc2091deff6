//! PostgreSQL, for production. Migrations take an advisory lock so that several service
//! instances starting together migrate once.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

type Db = sqlx::Postgres;

const BACKEND: &str = "postgres";
/// Row locks for read-then-write: SQLite's `BEGIN IMMEDIATE` already holds the write lock.
const FOR_UPDATE: &str = " FOR UPDATE";
const MIGRATION_LOCK: Option<&str> = Some("SELECT pg_advisory_xact_lock(7301)");
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_registry.sql")),
    (2, include_str!("../migrations/postgres/0002_cards.sql")),
    (3, include_str!("../migrations/postgres/0003_settlement.sql")),
    (4, include_str!("../migrations/postgres/0004_credits_jobs.sql")),
    (5, include_str!("../migrations/postgres/0005_comparison.sql")),
    (6, include_str!("../migrations/postgres/0006_premiums.sql")),
];

async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    pool.begin().await
}

pub struct PgStore {
    pool: sqlx::Pool<Db>,
    key: DataKey,
}

impl PgStore {
    pub async fn open(url: &str, key: DataKey) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StoreError::Connect { url: crate::redact_url(url), reason: e.to_string() })?;
        let store = PgStore { pool, key };
        store.run_migrations().await?;
        Ok(store)
    }
}

crate::backend::store_impl!(PgStore);
