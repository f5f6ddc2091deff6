//! The benchmarks' yardsticks: the same work as the service's, done as raw statements on
//! the same database, in scratch tables (`bench_…`) made for the measurement and dropped
//! after it. They live here, beside the benchmarks, and not in the store: nothing the
//! service can reach creates tables in the live database.

use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::io::AsyncWriteExt;

/// A pool of the baselines' own on the benchmark's database (opened after the service's
/// store, which migrated it).
pub(super) enum Baselines {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// `$body` once for each backend, with `$pool` the pool, `$begin` the statement that opens
/// a write transaction the way the store opens one (SQLite takes the write lock up front)
/// and `$for_update` the row lock's clause.
macro_rules! on_pool {
    ($self:expr, |$pool:ident, $begin:ident, $for_update:ident| $body:expr) => {
        match $self {
            Baselines::Sqlite($pool) => {
                let ($begin, $for_update) = ("BEGIN IMMEDIATE", "");
                $body
            }
            Baselines::Postgres($pool) => {
                let ($begin, $for_update) = ("BEGIN", " FOR UPDATE");
                $body
            }
        }
    };
}

type Outcome<T> = Result<T, String>;

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Baselines {
    /// Connects with the settings the store's own pool uses (SQLite: WAL, `synchronous =
    /// NORMAL`, a busy timeout), so that the yardstick pays what the service pays.
    pub(super) async fn open(url: &str) -> Outcome<Baselines> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Baselines::Postgres(PgPoolOptions::new().max_connections(16).connect(url).await.map_err(text)?));
        }
        let options = if url.starts_with("sqlite:") { SqliteConnectOptions::from_str(url).map_err(text)? } else { SqliteConnectOptions::new().filename(url) };
        let options = options.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal).busy_timeout(Duration::from_secs(30));
        Ok(Baselines::Sqlite(SqlitePoolOptions::new().max_connections(8).connect_with(options).await.map_err(text)?))
    }

    /// The card-life benchmark's baseline: `ops` raw transactions (lock a card row, insert
    /// an event, update its state) over `cards` scratch cards of `card_json`'s size on
    /// `concurrency` connections.
    pub(super) async fn card_transactions(&self, cards: usize, ops: usize, concurrency: usize, card_json: &str) -> Outcome<Duration> {
        on_pool!(self, |pool, begin, for_update| {
            sqlx::raw_sql(
                "DROP TABLE IF EXISTS bench_cards; DROP TABLE IF EXISTS bench_card_events; \
                 CREATE TABLE bench_cards (id BIGINT PRIMARY KEY, state TEXT NOT NULL, version BIGINT NOT NULL, data TEXT NOT NULL); \
                 CREATE TABLE bench_card_events (card_id BIGINT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (card_id, seq))",
            )
            .execute(pool)
            .await
            .map_err(text)?;
            for id in 0..i64::try_from(cards).map_err(text)? {
                sqlx::query("INSERT INTO bench_cards (id, state, version, data) VALUES ($1, 'active', 0, $2)").bind(id).bind(card_json).execute(pool).await.map_err(text)?;
            }
            let concurrency = concurrency.max(1);
            let lock = format!("SELECT version, data FROM bench_cards WHERE id = $1{for_update}");
            let started = Instant::now();
            let mut tasks = Vec::new();
            for worker in 0..concurrency {
                let (pool, json, lock) = (pool.clone(), card_json.to_string(), lock.clone());
                let n = ops / concurrency + usize::from(worker < ops % concurrency);
                tasks.push(tokio::spawn(async move {
                    for i in 0..n {
                        let id = i64::try_from((i * concurrency + worker) % cards.max(1)).map_err(text)?;
                        let mut tx = pool.begin_with(begin).await.map_err(text)?;
                        let (version, _data): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(lock.clone())).bind(id).fetch_one(&mut *tx).await.map_err(text)?;
                        sqlx::query("INSERT INTO bench_card_events (card_id, seq, kind, payload, at) VALUES ($1, $2, 'pre_loss_reported', '{}', $3)")
                            .bind(id)
                            .bind(version + 1)
                            .bind(chrono::Utc::now().to_rfc3339())
                            .execute(&mut *tx)
                            .await
                            .map_err(text)?;
                        sqlx::query("UPDATE bench_cards SET state = 'active', version = $1, data = $2 WHERE id = $3")
                            .bind(version + 1)
                            .bind(&json)
                            .bind(id)
                            .execute(&mut *tx)
                            .await
                            .map_err(text)?;
                        tx.commit().await.map_err(text)?;
                    }
                    Ok::<(), String>(())
                }));
            }
            for t in tasks {
                t.await.map_err(|e| format!("a baseline worker failed: {e}"))??;
            }
            let took = started.elapsed();
            sqlx::raw_sql("DROP TABLE bench_cards; DROP TABLE bench_card_events").execute(pool).await.map_err(text)?;
            Ok(took)
        })
    }

    /// The registry benchmark's baseline: every row of `table` (the rows the service
    /// wrote), each written again by a single-row `INSERT` transaction into an empty copy
    /// of the table, spread over `concurrency` connections; `key` is the table's primary
    /// key, a text column.
    pub(super) async fn single_row_inserts(&self, table: &str, key: &str, concurrency: usize) -> Outcome<Duration> {
        let scratch = self.empty_copy(table).await?;
        let concurrency = concurrency.max(1);
        let insert = format!("INSERT INTO {scratch} SELECT * FROM {table} WHERE {key} = $1");
        let keys_sql = format!("SELECT {key} FROM {table}");
        let took = on_pool!(self, |pool, begin, _for_update| {
            let keys: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(keys_sql)).fetch_all(pool).await.map_err(text)?;
            let started = Instant::now();
            let mut tasks = Vec::new();
            for worker in 0..concurrency {
                let share: Vec<String> = keys.iter().skip(worker).step_by(concurrency).cloned().collect();
                let (pool, insert) = (pool.clone(), insert.clone());
                tasks.push(tokio::spawn(async move {
                    for key in &share {
                        let mut tx = pool.begin_with(begin).await.map_err(text)?;
                        sqlx::query(sqlx::AssertSqlSafe(insert.clone())).bind(key).execute(&mut *tx).await.map_err(text)?;
                        tx.commit().await.map_err(text)?;
                    }
                    Ok::<(), String>(())
                }));
            }
            for t in tasks {
                t.await.map_err(|e| format!("a baseline worker failed: {e}"))??;
            }
            started.elapsed()
        });
        self.drop_table(&scratch).await?;
        Ok(took)
    }

    /// The city benchmark's baseline: the rows `select` reads from `table` loaded again,
    /// the database's fastest way, into an empty copy of `table` (PostgreSQL: `COPY … FROM
    /// STDIN` of the rows as `COPY … TO STDOUT` gave them, through a temporary file so that
    /// a million rows are not held in memory; SQLite: one `INSERT … SELECT` in one
    /// transaction). Returns the rows and the loading time.
    pub(super) async fn bulk_load(&self, table: &str, select: &str) -> Outcome<(u64, Duration)> {
        let scratch = self.empty_copy(table).await?;
        let loaded = match self {
            Baselines::Sqlite(pool) => {
                let started = Instant::now();
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(text)?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {scratch} SELECT * FROM ({select})"))).execute(&mut *tx).await.map_err(text)?.rows_affected();
                tx.commit().await.map_err(text)?;
                (rows, started.elapsed())
            }
            Baselines::Postgres(pool) => copy_through_file(pool, &scratch, select).await?,
        };
        self.drop_table(&scratch).await?;
        Ok(loaded)
    }

    /// An empty `bench_copy_<table>` with `table`'s columns and indexes (PostgreSQL:
    /// `LIKE … INCLUDING INDEXES`; SQLite: the schema's own DDL, renamed).
    async fn empty_copy(&self, table: &str) -> Outcome<String> {
        let scratch = format!("bench_copy_{table}");
        let script = match self {
            Baselines::Postgres(_) => format!("DROP TABLE IF EXISTS {scratch}; CREATE TABLE {scratch} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)"),
            Baselines::Sqlite(pool) => {
                let ddl: Vec<(String, String)> =
                    sqlx::query_as("SELECT type, sql FROM sqlite_master WHERE tbl_name = $1 AND sql IS NOT NULL AND type IN ('table', 'index') ORDER BY type DESC")
                        .bind(table)
                        .fetch_all(pool)
                        .await
                        .map_err(text)?;
                let mut script = format!("DROP TABLE IF EXISTS {scratch};");
                for (kind, sql) in ddl {
                    let sql = if kind == "table" {
                        sql.replacen(&format!("CREATE TABLE {table}"), &format!("CREATE TABLE {scratch}"), 1)
                    } else {
                        sql.replacen("INDEX ", "INDEX bench_copy_", 1).replacen(&format!(" ON {table} "), &format!(" ON {scratch} "), 1)
                    };
                    script.push_str(&sql);
                    script.push(';');
                }
                script
            }
        };
        on_pool!(self, |pool, _begin, _for_update| sqlx::raw_sql(sqlx::AssertSqlSafe(script)).execute(pool).await.map(|_| ()).map_err(text))?;
        Ok(scratch)
    }

    async fn drop_table(&self, table: &str) -> Outcome<()> {
        let sql = format!("DROP TABLE {table}");
        on_pool!(self, |pool, _begin, _for_update| sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(pool).await.map(|_| ()).map_err(text))?;
        Ok(())
    }
}

/// PostgreSQL's fastest load: `select`'s rows out to a temporary file with `COPY … TO
/// STDOUT`, then the timed `COPY scratch FROM STDIN` from it.
async fn copy_through_file(pool: &PgPool, scratch: &str, select: &str) -> Outcome<(u64, Duration)> {
    let path = std::env::temp_dir().join(format!("ykt-copy-{}-{scratch}.txt", std::process::id()));
    let mut conn = pool.acquire().await.map_err(text)?;
    {
        let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(&path).await.map_err(text)?);
        let mut out = conn.copy_out_raw(&format!("COPY ({select}) TO STDOUT")).await.map_err(text)?;
        while let Some(chunk) = out.next().await {
            file.write_all(&chunk.map_err(text)?).await.map_err(text)?;
        }
        file.flush().await.map_err(text)?;
    }
    let started = Instant::now();
    let mut copy = conn.copy_in_raw(&format!("COPY {scratch} FROM STDIN")).await.map_err(text)?;
    copy.read_from(tokio::fs::File::open(&path).await.map_err(text)?).await.map_err(text)?;
    let rows = copy.finish().await.map_err(text)?;
    let took = started.elapsed();
    let _ = tokio::fs::remove_file(&path).await;
    Ok((rows, took))
}
