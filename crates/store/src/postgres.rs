//! PostgreSQL, for production. Migrations take an advisory lock so that several service
//! instances starting together migrate once.

use sqlx::postgres::PgPoolOptions;

/// Every file of `migrations/postgres/`, checksummed: a file added to the folder is applied,
/// and one edited after it was applied stops the start-up.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

pub struct PgStore {
    pool: sqlx::Pool<Db>,
    key: DataKey,
}

impl PgStore {
    pub async fn open(url: &str, key: DataKey, options: crate::PoolOptions) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.unwrap_or(16))
            .acquire_timeout(options.wait)
            .connect(url)
            .await
            .map_err(|e| StoreError::Connect { url: crate::redact_url(url), reason: e.to_string() })?;
        let store = PgStore { pool, key };
        store.run_migrations().await?;
        Ok(store)
    }
}

crate::backend::store_impl!(PgStore, PgDialect);

/// PostgreSQL's way of doing what differs between the databases.
/// (`Dialect`, `CardUpdate` and the shared error mappers are in scope through
/// `store_impl!` above, which imports them for the shared source.)
pub(crate) struct PgDialect;

impl Dialect for PgDialect {
    type Db = sqlx::Postgres;
    const BACKEND: &'static str = "postgres";
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const HAND_KEPT_MIGRATIONS: &'static str = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'";

    fn migrator() -> &'static sqlx::migrate::Migrator {
        &MIGRATOR
    }

    async fn begin_write(pool: &sqlx::Pool<sqlx::Postgres>) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        pool.begin().await
    }

    /// Ids for `n` new cards from the cards' identity sequence.
    async fn reserve_card_ids(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>, n: usize) -> Result<Vec<i64>, sqlx::Error> {
        if n == 0 {
            return Ok(Vec::new());
        }
        sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('cards', 'id')) FROM generate_series(1, $1)").bind(n as i64).fetch_all(&mut **tx).await
    }

    /// The event, the withdrawals, the notices and the card's row in one statement of
    /// data-modifying `WITH`s (one round trip where they were four or five). The
    /// withdrawals see the outbox as it was before the statement, as they did before the
    /// event's own notices were written; the text depends only on the number of notices.
    async fn record_in_one_statement(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>, c: &CardChange<'_>) -> StoreResult<bool> {
        let card = c.card;
        let mut sql = format!(
            "WITH event AS ({INSERT_EVENT}), \
             withdrawn AS (UPDATE outbox SET withdrawn_at = $8 WHERE card_id = $1 AND lifts = ANY($11) AND delivered_at IS NULL AND withdrawn_at IS NULL AND due > $8)"
        );
        if !c.notices.is_empty() {
            let rows: Vec<String> = (0..c.notices.len()).map(|i| format!("(${}, $1, ${}, $8, ${}, ${})", 21 + 4 * i, 22 + 4 * i, 23 + 4 * i, 24 + 4 * i)).collect();
            sql.push_str(&format!(", notices AS (INSERT INTO outbox (topic, card_id, payload, at, due, lifts) VALUES {})", rows.join(", ")));
        }
        sql.push_str(
            " UPDATE cards SET state = $12, card_number = $13, certificate_number = $14, batch_id = $15, due_on = $16, version = version + 1, head_hash = $17, last_seq = $18, data = $19, ready_awaited_year = $20 WHERE id = $1",
        );
        let q = bind_event(sqlx::query(sqlx::AssertSqlSafe(sql)), c).bind(c.withdraws);
        let mut q = bind_card_row(q, card, &c.hash, c.seq, &c.data);
        for n in &c.notices {
            q = q.bind(n.topic).bind(&n.payload).bind(&n.due).bind(n.lifts);
        }
        q.execute(&mut **tx).await.map_err(card_write)?;
        Ok(true)
    }

    /// The record, the year totals, the debits and the lines in one statement of
    /// data-modifying `WITH`s (one round trip where they were four or five); its text
    /// depends only on the number of debits, so it is prepared once per connection.
    async fn book_in_one_statement(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>, b: &crate::Booking<'_>) -> StoreResult<Option<u64>> {
        let (s, t) = (b.record, b.totals);
        let by_fund = serde_json::to_string(&t.by_fund).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut sql = format!(
            "WITH booked AS ({INSERT_SETTLEMENT}), \
             totals AS (UPDATE year_totals SET deductible_used = $14, fund_paid = $15, insured_used = $16, by_fund = $17 WHERE person_hash = $4 AND year = $8)"
        );
        if !b.debits.is_empty() {
            let rows: Vec<String> = (0..b.debits.len()).map(|i| format!("(${}, $10, $19, ${}, $1, ${})", 20 + 3 * i, 21 + 3 * i, 22 + 3 * i)).collect();
            sql.push_str(&format!(", debits AS (INSERT INTO account_entries (person_hash, at, kind, amount_fen, reference, reason) VALUES {})", rows.join(", ")));
        }
        sql.push_str(" UPDATE fee_lines SET setl_id = $1 WHERE mdtrt_id = $2 AND setl_id IS NULL AND sn = ANY($18)");
        let mut q = bind_settlement(sqlx::query(sqlx::AssertSqlSafe(sql)), s)
            .bind(t.deductible_used.0)
            .bind(t.fund_paid.0)
            .bind(t.insured_used.0)
            .bind(by_fund)
            .bind(b.sns)
            .bind(yikatong_core::account::EntryKind::Settlement.as_str());
        for d in b.debits {
            q = q.bind(&d.person_hash).bind(d.amount_fen).bind(&d.reason);
        }
        let done = q.execute(&mut **tx).await.map_err(unique(format!("settlement {}", s.setl_id)))?;
        Ok(Some(done.rows_affected()))
    }

    /// Many cards' new states in a few statements (`UPDATE … FROM (VALUES …)`): one round
    /// trip per few thousand cards.
    async fn update_cards(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>, rows: &[CardUpdate<'_>]) -> StoreResult<()> {
        for part in rows.chunks(rows_per_statement(9)) {
            let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
                "UPDATE cards SET state = v.column2, card_number = v.column3, certificate_number = v.column4, batch_id = v.column5, due_on = v.column6, version = cards.version + 1, head_hash = v.column7, last_seq = v.column8, data = v.column9 FROM (",
            );
            q.push_values(part, |mut b, r| {
                let c = r.card;
                b.push("CAST(").push_bind_unseparated(c.id).push_unseparated(" AS BIGINT)");
                b.push("CAST(").push_bind_unseparated(c.state.as_str()).push_unseparated(" AS TEXT)");
                b.push("CAST(").push_bind_unseparated(c.card_number.as_deref()).push_unseparated(" AS TEXT)");
                b.push("CAST(").push_bind_unseparated(c.certificate.as_ref().map(|c| c.number.clone())).push_unseparated(" AS TEXT)");
                b.push("CAST(").push_bind_unseparated(c.batch_id).push_unseparated(" AS BIGINT)");
                b.push("CAST(").push_bind_unseparated(c.due_on.map(|d| d.to_string())).push_unseparated(" AS TEXT)");
                b.push("CAST(").push_bind_unseparated(r.head.as_str()).push_unseparated(" AS TEXT)");
                b.push("CAST(").push_bind_unseparated(r.seq).push_unseparated(" AS BIGINT)");
                b.push("CAST(").push_bind_unseparated(r.data.as_str()).push_unseparated(" AS TEXT)");
            });
            q.push(") AS v WHERE cards.id = v.column1");
            q.build().persistent(false).execute(&mut **tx).await.map_err(card_write)?;
        }
        Ok(())
    }
}
