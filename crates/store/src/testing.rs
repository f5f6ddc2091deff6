//! Fresh databases for tests, on both backends: a SQLite file in a temporary directory,
//! or a PostgreSQL schema of its own (so tests run in parallel and leave nothing behind).
//!
//! PostgreSQL is found at `YKT_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`).
//! When it cannot be reached the test fails: a missing database is never a skip.

use std::sync::Arc;

use sqlx::Connection;

use crate::{DataKey, Store};

pub const DEFAULT_TEST_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn test_pg_url() -> String {
    std::env::var("YKT_TEST_PG").unwrap_or_else(|_| DEFAULT_TEST_PG.to_string())
}

/// A fresh, migrated database; dropped (file removed or schema dropped) at the end.
pub struct TestDb {
    pub backend: Backend,
    /// A URL or path that opens this same database again (e.g. for a server under test).
    pub url: String,
    pub key_hex: String,
    pub store: Arc<dyn Store>,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    /// The schema and the server URL it lives on.
    Schema(String, String),
}

fn unique_name() -> String {
    let r: [u8; 6] = crate::crypto::random_bytes();
    format!("ykt_t_{}", hex::encode(r))
}

/// A fresh empty database of `backend`, as a URL (nothing is migrated yet); with the
/// cleanup to run when done.
pub async fn fresh_url(backend: Backend, pg_base: &str) -> (String, impl FnOnce() + use<>) {
    let c = make(backend, pg_base).await;
    let url = c.0.clone();
    let cleanup = c.1;
    (url, move || run_cleanup(&cleanup))
}

async fn make(backend: Backend, pg_base: &str) -> (String, Cleanup) {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(unique_name());
            std::fs::create_dir_all(&dir).expect("create a temporary directory");
            let path = dir.join("test.db");
            (path.to_string_lossy().into_owned(), Cleanup::File(dir))
        }
        Backend::Postgres => {
            let base = pg_base.to_string();
            let schema = unique_name();
            let mut conn = sqlx::PgConnection::connect(&base).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is needed for this test and is not reachable at {base}: {e}. \
                     Start one (see README: `scripts/test.sh` starts the local server) or set YKT_TEST_PG."
                )
            });
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&mut conn).await.expect("create a test schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            (format!("{base}{sep}options[search_path]={schema}"), Cleanup::Schema(schema, base))
        }
    }
}

fn run_cleanup(c: &Cleanup) {
    match c {
        Cleanup::File(dir) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        Cleanup::Schema(schema, base) => {
            let schema = schema.clone();
            let base = base.clone();
            // Drop runs outside any runtime guarantee: use a small one of our own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&base).await {
                            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&mut conn).await;
                        }
                    });
                }
            })
            .join();
        }
    }
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
