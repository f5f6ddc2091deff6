//! The reads `ykt verify` checks a whole database with, written once and expanded in
//! `sqlite.rs` and `postgres.rs` (see `backend.rs`): aggregates the database computes
//! itself, and whole tables read a page at a time in key order.

macro_rules! verify_impl {
    () => {
        /// Rows of `(text, count)` from an aggregate query.
        async fn counted(pool: &sqlx::Pool<Db>, sql: &'static str) -> StoreResult<Vec<(String, i64)>> {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?))).collect()
        }

        async fn duplicate_live_settlements(pool: &sqlx::Pool<Db>) -> StoreResult<Vec<(String, i64)>> {
            counted(
                pool,
                "SELECT mdtrt_id || ' (' || kind || ')', CAST(COUNT(*) AS BIGINT) FROM settlements WHERE state = 'settled' GROUP BY mdtrt_id, kind HAVING COUNT(*) > 1 ORDER BY 1",
            )
            .await
        }

        async fn persons_with_cards_that_settle(pool: &sqlx::Pool<Db>) -> StoreResult<Vec<(String, i64)>> {
            counted(pool, "SELECT person_hash, CAST(COUNT(*) AS BIGINT) FROM cards WHERE state = 'active' GROUP BY person_hash HAVING COUNT(*) > 1 ORDER BY 1").await
        }

        async fn negative_balances(pool: &sqlx::Pool<Db>) -> StoreResult<Vec<(String, i64)>> {
            counted(pool, "SELECT person_hash, CAST(SUM(amount_fen) AS BIGINT) FROM account_entries GROUP BY person_hash HAVING SUM(amount_fen) < 0 ORDER BY 1").await
        }

        async fn settlements_page(pool: &sqlx::Pool<Db>, after: &str, limit: i64) -> StoreResult<Vec<SettlementRecord>> {
            let rows = sqlx::query("SELECT * FROM settlements WHERE setl_id > $1 ORDER BY setl_id LIMIT $2").bind(after).bind(limit).fetch_all(pool).await?;
            rows.iter().map(settlement_from_row).collect()
        }

        async fn ledger_page(pool: &sqlx::Pool<Db>, after_id: i64, limit: i64) -> StoreResult<Vec<(String, AccountEntry)>> {
            let rows = sqlx::query("SELECT * FROM account_entries WHERE id > $1 ORDER BY id LIMIT $2").bind(after_id).bind(limit).fetch_all(pool).await?;
            rows.iter().map(|r| Ok((r.try_get::<String, _>("person_hash")?, entry_from_row(r)?))).collect()
        }

        async fn year_totals_page(pool: &sqlx::Pool<Db>, after: &(String, i64), limit: i64) -> StoreResult<Vec<(String, i64, YearTotals)>> {
            let rows = sqlx::query("SELECT * FROM year_totals WHERE person_hash > $1 OR (person_hash = $1 AND year > $2) ORDER BY person_hash, year LIMIT $3")
                .bind(&after.0)
                .bind(after.1)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| Ok((r.try_get::<String, _>("person_hash")?, r.try_get::<i64, _>("year")?, totals_from_row(r)?))).collect()
        }

        async fn settled_lines_page(pool: &sqlx::Pool<Db>, after: &(String, String), limit: i64) -> StoreResult<Vec<(String, String, String)>> {
            let rows = sqlx::query(
                "SELECT mdtrt_id, sn, setl_id FROM fee_lines WHERE setl_id IS NOT NULL AND (mdtrt_id > $1 OR (mdtrt_id = $1 AND sn > $2)) ORDER BY mdtrt_id, sn LIMIT $3",
            )
            .bind(&after.0)
            .bind(&after.1)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|r| Ok((r.try_get("mdtrt_id")?, r.try_get("sn")?, r.try_get("setl_id")?))).collect()
        }

        /// A page of cards with their state column and their events (one read for the
        /// page's events).
        async fn cards_with_events_page(pool: &sqlx::Pool<Db>, k: &DataKey, after_id: i64, limit: i64) -> StoreResult<Vec<(Card, String, Result<Vec<CardEvent>, String>)>> {
            let rows = sqlx::query("SELECT id, state, data FROM cards WHERE id > $1 ORDER BY id LIMIT $2").bind(after_id).bind(limit).fetch_all(pool).await?;
            let mut cards = Vec::with_capacity(rows.len());
            for r in &rows {
                cards.push((card_from_row(k, r)?, r.try_get::<String, _>("state")?, Ok(Vec::new())));
            }
            let (Some(first), Some(last)) = (cards.first().map(|c| c.0.id), cards.last().map(|c| c.0.id)) else {
                return Ok(cards);
            };
            let index: std::collections::HashMap<i64, usize> = cards.iter().enumerate().map(|(i, c)| (c.0.id, i)).collect();
            let events =
                sqlx::query("SELECT card_id, payload FROM card_events WHERE card_id >= $1 AND card_id <= $2 ORDER BY card_id, seq").bind(first).bind(last).fetch_all(pool).await?;
            for e in events {
                let id: i64 = e.try_get("card_id")?;
                let payload: String = e.try_get("payload")?;
                if let Some(i) = index.get(&id)
                    && let Ok(events) = &mut cards[*i].2
                {
                    // An event that cannot be read is the card's problem, not the page's.
                    match crate::records::event_from_payload(k, &payload) {
                        Ok(e) => events.push(e),
                        Err(e) => cards[*i].2 = Err(e.to_string()),
                    }
                }
            }
            Ok(cards)
        }

        async fn chain_heads_page(pool: &sqlx::Pool<Db>, after_id: i64, limit: i64) -> StoreResult<Vec<(i64, i64, String)>> {
            let rows = sqlx::query("SELECT id, last_seq, head_hash FROM cards WHERE id > $1 ORDER BY id LIMIT $2").bind(after_id).bind(limit).fetch_all(pool).await?;
            rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("last_seq")?, r.try_get("head_hash")?))).collect()
        }

        async fn event_hashes_of(pool: &sqlx::Pool<Db>, first: i64, last: i64) -> StoreResult<Vec<(i64, i64, String)>> {
            let rows = sqlx::query("SELECT card_id, seq, hash FROM card_events WHERE card_id >= $1 AND card_id <= $2 ORDER BY card_id, seq")
                .bind(first)
                .bind(last)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| Ok((r.try_get("card_id")?, r.try_get("seq")?, r.try_get("hash")?))).collect()
        }

        async fn outbox_counts(pool: &sqlx::Pool<Db>) -> StoreResult<Vec<(i64, i64)>> {
            let rows = sqlx::query("SELECT card_id, CAST(COUNT(*) AS BIGINT) FROM outbox GROUP BY card_id").fetch_all(pool).await?;
            rows.iter().map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))).collect()
        }
    };
}

pub(crate) use verify_impl;
