//! Helpers for the test suites, built only for tests (`cfg(test)` or the `testing`
//! feature, which the workspace's test builds enable): a fresh migrated database on
//! either backend ([`TestDb`], [`on_both_databases!`]) and raw access past the store.

use std::sync::Arc;

use sqlx::Connection;

pub use crate::scratch::{Backend, DEFAULT_TEST_PG, fresh_url, test_pg_url};
use crate::scratch::{Cleanup, make, run_cleanup};
use crate::{DataKey, Store};

/// A fresh, migrated database; dropped (file removed or schema dropped) at the end.
pub struct TestDb {
    pub backend: Backend,
    /// A URL or path that opens this same database again (e.g. for a server under test).
    pub url: String,
    pub key_hex: String,
    pub store: Arc<dyn Store>,
    cleanup: Cleanup,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let (url, cleanup) = make(backend, &test_pg_url()).await;
        let key_hex = DataKey::generate_hex();
        let key = DataKey::from_hex(&key_hex).expect("a generated key is valid");
        let store = crate::open(&url, key).await.expect("open the test database");
        TestDb { backend, url, key_hex, store, cleanup }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        run_cleanup(&self.cleanup);
    }
}

/// Declares one async test per backend: `name::sqlite` and `name::postgres`, each given
/// a fresh [`TestDb`].
#[macro_export]
macro_rules! on_both_databases {
    ($(#[$meta:meta])* $name:ident, $body:expr) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::new($crate::testing::Backend::Sqlite).await;
                ($body)(db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::testing::TestDb::new($crate::testing::Backend::Postgres).await;
                ($body)(db).await;
            }
        }
    };
}

/// Runs `sql` straight on the database at `url` (a `postgres://` URL or a SQLite file),
/// past the store: for tests that break an invariant behind the service's back or make
/// a database as an older version left it.
pub async fn run_raw_sql(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut c = sqlx::PgConnection::connect(url).await?;
        sqlx::raw_sql(sql).execute(&mut c).await?;
    } else {
        let mut c = sqlx::SqliteConnection::connect_with(&sqlx::sqlite::SqliteConnectOptions::new().filename(url).create_if_missing(true)).await?;
        sqlx::raw_sql(sql).execute(&mut c).await?;
    }
    Ok(())
}

/// The text of a column of every row of `table`, read straight from the database at
/// `url`, past the store: for tests that check what is readable at rest.
pub async fn raw_column_text(url: &str, table: &str, column: &str) -> Result<String, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT CAST({column} AS TEXT) FROM {table}"));
    let rows: Vec<Option<String>> = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut c = sqlx::PgConnection::connect(url).await?;
        sqlx::query_scalar(sql).fetch_all(&mut c).await?
    } else {
        let mut c = sqlx::SqliteConnection::connect_with(&sqlx::sqlite::SqliteConnectOptions::new().filename(url)).await?;
        sqlx::query_scalar(sql).fetch_all(&mut c).await?
    };
    Ok(rows.into_iter().flatten().collect::<Vec<_>>().join("\n"))
}
