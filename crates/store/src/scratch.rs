//! Scratch databases, for the test suites and the benchmarks alike: a SQLite file in a
//! temporary directory, or a PostgreSQL schema of its own (so runs go in parallel and
//! leave nothing behind).
//!
//! PostgreSQL is found at `YKT_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`).
//! When it cannot be reached the caller fails: a missing database is never a skip.

use sqlx::Connection;

/// The PostgreSQL server scratch schemas are made on unless `YKT_TEST_PG` names another.
pub const DEFAULT_TEST_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for scratch schemas: `YKT_TEST_PG`, or [`DEFAULT_TEST_PG`].
pub fn test_pg_url() -> String {
    std::env::var("YKT_TEST_PG").unwrap_or_else(|_| DEFAULT_TEST_PG.to_string())
}

pub(crate) enum Cleanup {
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

pub(crate) async fn make(backend: Backend, pg_base: &str) -> (String, Cleanup) {
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

pub(crate) fn run_cleanup(c: &Cleanup) {
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
