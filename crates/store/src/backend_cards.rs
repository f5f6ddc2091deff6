//! The card part of the store, written once and expanded in `sqlite.rs` and
//! `postgres.rs` (see `backend.rs`). Cards are kept as their projection (JSON) with the
//! columns that are searched; events are append-only and chained per card with SM3, the
//! card row holding the head of its chain.

macro_rules! card_impl {
    () => {
        use yikatong_core::card::{Card, CardEvent};

        use crate::records::event_hash;
        use crate::{AuditReport, BatchRecord, CardTx, CardsTx, FamilyTx, RegistryTx, RequestTx, SettlementTx, VisitTx, EventMeta, OutboxMessage, StoredEvent};

        fn card_from_row(k: &DataKey, row: &<Db as sqlx::Database>::Row) -> StoreResult<Card> {
            crate::records::card_from_data(k, &row.try_get::<String, _>("data")?)
        }

        fn lock_sql(sql: &str) -> sqlx::AssertSqlSafe<String> {
            sqlx::AssertSqlSafe(format!("{sql}{FOR_UPDATE}"))
        }

        pub struct BackendCardTx {
            tx: sqlx::Transaction<'static, Db>,
            /// Head hash and last sequence number of each card locked in this
            /// transaction, read with the lock.
            heads: std::collections::HashMap<i64, (String, i64)>,
            /// To read persons inside the transaction.
            key: DataKey,
        }

        impl BackendCardTx {
            pub async fn begin(pool: &sqlx::Pool<Db>, key: DataKey) -> StoreResult<BackendCardTx> {
                Ok(BackendCardTx { tx: begin_write(pool).await?, heads: Default::default(), key })
            }

            /// The card's chain head and last sequence number: as its lock read them, or read
            /// now.
            async fn head_of(&mut self, card_id: i64) -> StoreResult<(String, i64)> {
                if let Some(h) = self.heads.get(&card_id) {
                    return Ok(h.clone());
                }
                let row = sqlx::query("SELECT head_hash, last_seq FROM cards WHERE id = $1").bind(card_id).fetch_one(&mut *self.tx).await?;
                Ok((row.try_get("head_hash")?, row.try_get("last_seq")?))
            }

            async fn append(&mut self, card: &Card, events: &[CardEvent], meta: &EventMeta) -> StoreResult<(String, i64)> {
                let card_id = card.id;
                let (mut prev, mut seq) = self.head_of(card_id).await?;
                for e in events {
                    seq += 1;
                    let payload = crate::records::event_payload(&self.key, e)?;
                    let hash = event_hash(&self.key, &prev, card_id, seq, e.kind(), &payload, meta);
                    sqlx::query(INSERT_EVENT)
                        .bind(card_id)
                        .bind(seq)
                        .bind(e.kind())
                        .bind(&payload)
                        .bind(&meta.actor)
                        .bind(&meta.channel)
                        .bind(&meta.place)
                        .bind(ts(meta.at))
                        .bind(&prev)
                        .bind(&hash)
                        .execute(&mut *self.tx)
                        .await?;
                    write_notices(&mut self.tx, card, e, meta.at).await?;
                    prev = hash;
                }
                self.heads.insert(card_id, (prev.clone(), seq));
                Ok((prev, seq))
            }

            /// A card read with its lock (`id, data, head_hash, last_seq`): its chain head is
            /// kept for the events this transaction appends.
            fn locked_card(&mut self, row: &<Db as sqlx::Database>::Row) -> StoreResult<Card> {
                self.heads.insert(row.try_get("id")?, (row.try_get("head_hash")?, row.try_get("last_seq")?));
                card_from_row(&self.key, row)
            }

            /// One event of `card` written as one [`CardChange`] (one statement on
            /// PostgreSQL); the chain's head is kept for the next.
            async fn record_one(&mut self, card: &Card, event: &CardEvent, meta: &EventMeta) -> StoreResult<()> {
                let (prev_hash, seq) = self.head_of(card.id).await?;
                let seq = seq + 1;
                let payload = crate::records::event_payload(&self.key, event)?;
                let hash = event_hash(&self.key, &prev_hash, card.id, seq, event.kind(), &payload, meta);
                let change = CardChange {
                    card,
                    data: crate::records::card_data(&self.key, card)?,
                    seq,
                    kind: event.kind(),
                    payload,
                    meta,
                    prev_hash,
                    hash: hash.clone(),
                    withdraws: yikatong_core::card::notices::withdrawn_by(event),
                    notices: notice_rows(card, event, meta.at)?,
                };
                if !record_in_one_statement(&mut self.tx, &change).await? {
                    bind_event(sqlx::query(INSERT_EVENT), &change).execute(&mut *self.tx).await?;
                    write_notice_rows(&mut self.tx, card.id, &ts(meta.at), change.withdraws, &change.notices).await?;
                    bind_card_row(sqlx::query(SAVE_CARD), card, &change.hash, seq, &change.data).bind(card.id).execute(&mut *self.tx).await.map_err(card_write)?;
                }
                self.heads.insert(card.id, (hash, seq));
                Ok(())
            }

            async fn save(&mut self, card: &Card, (head, last_seq): (String, i64)) -> StoreResult<()> {
                let data = crate::records::card_data(&self.key, card)?;
                bind_card_row(sqlx::query(SAVE_CARD), card, &head, last_seq, &data)
                    .bind(card.id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(card_write)?;
                Ok(())
            }
        }

        #[async_trait]
        impl RegistryTx for BackendCardTx {
            async fn lock_person(&mut self, person_hash: &str) -> StoreResult<bool> {
                let row = sqlx::query(lock_sql("SELECT ssn_hash FROM persons WHERE ssn_hash = $1")).bind(person_hash).fetch_optional(&mut *self.tx).await?;
                Ok(row.is_some())
            }

            async fn insert_unit(&mut self, unit: &Organisation) -> StoreResult<()> {
                insert_org_in(&mut *self.tx, "units", unit).await
            }

            async fn insert_outlet(&mut self, outlet: &Organisation) -> StoreResult<()> {
                insert_org_in(&mut *self.tx, "outlets", outlet).await
            }

            async fn insert_institution(&mut self, inst: &Institution) -> StoreResult<()> {
                insert_institution_in(&mut *self.tx, inst).await
            }

            async fn insert_person(&mut self, p: &Person) -> StoreResult<()> {
                persons_insert_sql(&self.key, std::slice::from_ref(p), false)
                    .build()
                    .execute(&mut *self.tx)
                    .await
                    .map_err(person_write(format!("person {}", yikatong_core::identity::mask_ssn(&p.ssn)), p.unit_code.clone()))?;
                Ok(())
            }

            async fn change_person(&mut self, expected_version: i64, after: &Person, change: &PersonChange) -> StoreResult<()> {
                change_person_in(&mut self.tx, &self.key, expected_version, after, change).await
            }

            async fn lock_person_record(&mut self, person_hash: &str) -> StoreResult<Option<Person>> {
                let row = sqlx::query(lock_sql("SELECT * FROM persons WHERE ssn_hash = $1")).bind(person_hash).fetch_optional(&mut *self.tx).await?;
                row.map(|r| person_from_row(&self.key, &r)).transpose()
            }

            async fn persons_by_hashes(&mut self, hashes: &[String]) -> StoreResult<Vec<(String, Person)>> {
                let mut found = Vec::with_capacity(hashes.len());
                for part in hashes.chunks(rows_per_statement(1)) {
                    for r in where_in("SELECT * FROM persons WHERE ssn_hash", part).build().persistent(false).fetch_all(&mut *self.tx).await? {
                        found.push((r.try_get::<String, _>("ssn_hash")?, person_from_row(&self.key, &r)?));
                    }
                }
                Ok(found)
            }

            async fn person(&mut self, person_hash: &str) -> StoreResult<Option<Person>> {
                let row = sqlx::query("SELECT * FROM persons WHERE ssn_hash = $1").bind(person_hash).fetch_optional(&mut *self.tx).await?;
                row.map(|r| person_from_row(&self.key, &r)).transpose()
            }
        }

        #[async_trait]
        impl CardsTx for BackendCardTx {
            async fn lock_card(&mut self, id: i64) -> StoreResult<Option<Card>> {
                let row = sqlx::query(lock_sql("SELECT id, data, head_hash, last_seq FROM cards WHERE id = $1")).bind(id).fetch_optional(&mut *self.tx).await?;
                row.map(|r| self.locked_card(&r)).transpose()
            }

            async fn person_cards(&mut self, person_hash: &str) -> StoreResult<Vec<Card>> {
                let rows = sqlx::query(lock_sql("SELECT data FROM cards WHERE person_hash = $1 ORDER BY id")).bind(person_hash).fetch_all(&mut *self.tx).await?;
                rows.iter().map(|r| card_from_row(&self.key, r)).collect()
            }

            async fn applied_cards(&mut self, region: &str, after_id: i64, limit: i64) -> StoreResult<Vec<Card>> {
                let rows = sqlx::query(lock_sql("SELECT id, data, head_hash, last_seq FROM cards WHERE region = $1 AND state = 'applied' AND id > $2 ORDER BY id LIMIT $3")).bind(region).bind(after_id).bind(limit).fetch_all(&mut *self.tx).await?;
                rows.iter().map(|r| self.locked_card(r)).collect()
            }

            async fn lock_persons_cards(&mut self, person_hashes: &[String]) -> StoreResult<Vec<Card>> {
                self.lock_persons_cards_bulk(person_hashes).await
            }

            async fn province_cards(&mut self, person_hashes: &[String]) -> StoreResult<Vec<(String, String)>> {
                let mut found = Vec::new();
                for part in person_hashes.chunks(rows_per_statement(1)) {
                    for r in where_in("SELECT ssn_hash, city_admdvs FROM province_cards WHERE ssn_hash", part).build().persistent(false).fetch_all(&mut *self.tx).await? {
                        found.push((r.try_get::<String, _>("ssn_hash")?, r.try_get::<String, _>("city_admdvs")?));
                    }
                }
                Ok(found)
            }

            async fn insert_cards(&mut self, cards: &[(Card, Vec<CardEvent>)], meta: &EventMeta) -> StoreResult<Vec<i64>> {
                self.insert_cards_bulk(cards, meta).await
            }

            async fn record_many(&mut self, changes: &[(Card, Vec<CardEvent>)], meta: &EventMeta) -> StoreResult<()> {
                self.record_many_bulk(changes, meta).await
            }

            async fn insert_card(&mut self, card: &Card, events: &[CardEvent], meta: &EventMeta) -> StoreResult<i64> {
                let id: i64 = sqlx::query_scalar("INSERT INTO cards (person_hash, region, state, version, head_hash, data) VALUES ($1, $2, $3, 0, '', '{}') RETURNING id")
                    .bind(&card.person_hash)
                    .bind(&card.region)
                    .bind(card.state.as_str())
                    .fetch_one(&mut *self.tx)
                    .await?;
                let mut stored = card.clone();
                stored.id = id;
                self.heads.insert(id, (String::new(), 0));
                let head = self.append(&stored, events, meta).await?;
                self.save(&stored, head).await?;
                Ok(id)
            }

            async fn record(&mut self, card: &Card, events: &[CardEvent], meta: &EventMeta) -> StoreResult<()> {
                // One event (a counter's, a clerk's, a holder's change): one statement
                // where the database writes several tables in one. Several: each event's
                // notices are written after the withdrawals of the one before.
                if let [event] = events {
                    return self.record_one(card, event, meta).await;
                }
                let head = self.append(card, events, meta).await?;
                self.save(card, head).await
            }

            async fn record_fee(&mut self, card_id: i64, person_hash: &str, (kind, amount_fen): (&str, i64), payment_method: Option<&str>, meta: &EventMeta) -> StoreResult<()> {
                sqlx::query("INSERT INTO fees (card_id, person_hash, kind, amount_fen, payment_method, at, actor) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(card_id)
                    .bind(person_hash)
                    .bind(kind)
                    .bind(amount_fen)
                    .bind(payment_method)
                    .bind(ts(meta.at))
                    .bind(&meta.actor)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn insert_batch(&mut self, region: &str, snapshot_at: DateTime<Utc>, created_at: DateTime<Utc>) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("INSERT INTO production_batches (region, snapshot_at, created_at, excluded) VALUES ($1, $2, $3, '[]') RETURNING id")
                    .bind(region)
                    .bind(ts(snapshot_at))
                    .bind(ts(created_at))
                    .fetch_one(&mut *self.tx)
                    .await?)
            }

            async fn set_batch_excluded(&mut self, id: i64, excluded: &serde_json::Value) -> StoreResult<()> {
                sqlx::query("UPDATE production_batches SET excluded = $1 WHERE id = $2").bind(excluded.to_string()).bind(id).execute(&mut *self.tx).await?;
                Ok(())
            }
        }

        #[async_trait]
        impl SettlementTx for BackendCardTx {
            async fn lock_year_totals(&mut self, person_hash: &str, year: i64) -> StoreResult<YearTotals> {
                self.tx_lock_year_totals(person_hash, year).await
            }

            async fn save_year_totals(&mut self, person_hash: &str, year: i64, t: &YearTotals) -> StoreResult<()> {
                let by_fund = serde_json::to_string(&t.by_fund).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query("UPDATE year_totals SET deductible_used = $1, fund_paid = $2, insured_used = $3, by_fund = $4 WHERE person_hash = $5 AND year = $6")
                    .bind(t.deductible_used.0)
                    .bind(t.fund_paid.0)
                    .bind(t.insured_used.0)
                    .bind(by_fund)
                    .bind(person_hash)
                    .bind(year)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn account_balance(&mut self, person_hash: &str) -> StoreResult<i64> {
                let sum: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM account_entries WHERE person_hash = $1").bind(person_hash).fetch_one(&mut *self.tx).await?;
                Ok(sum.unwrap_or(0))
            }

            async fn account_and_holder(&mut self, person_hash: &str) -> StoreResult<(i64, Option<String>)> {
                let row = sqlx::query("SELECT (SELECT CAST(SUM(amount_fen) AS BIGINT) FROM account_entries WHERE person_hash = $1) AS balance, (SELECT holder_hash FROM family_members WHERE member_hash = $1) AS holder")
                    .bind(person_hash)
                    .fetch_one(&mut *self.tx)
                    .await?;
                Ok((row.try_get::<Option<i64>, _>("balance")?.unwrap_or(0), row.try_get("holder")?))
            }

            async fn account_entries(&mut self, person_hash: &str) -> StoreResult<Vec<AccountEntry>> {
                let rows = sqlx::query("SELECT * FROM account_entries WHERE person_hash = $1 ORDER BY id").bind(person_hash).fetch_all(&mut *self.tx).await?;
                rows.iter().map(entry_from_row).collect()
            }

            async fn append_account_entry(&mut self, person_hash: &str, at: DateTime<Utc>, kind: yikatong_core::account::EntryKind, amount_fen: i64, reference: Option<&str>, reason: &str) -> StoreResult<()> {
                sqlx::query("INSERT INTO account_entries (person_hash, at, kind, amount_fen, reference, reason) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(person_hash)
                    .bind(ts(at))
                    .bind(kind.as_str())
                    .bind(amount_fen)
                    .bind(reference)
                    .bind(reason)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn insert_settlement(&mut self, s: &SettlementRecord) -> StoreResult<()> {
                bind_settlement(sqlx::query(INSERT_SETTLEMENT), s)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(unique(format!("settlement {}", s.setl_id)))?;
                Ok(())
            }

            async fn book_settlement(&mut self, b: &crate::Booking<'_>) -> StoreResult<u64> {
                if let Some(marked) = book_in_one_statement(&mut self.tx, b).await? {
                    return Ok(marked);
                }
                let s = b.record;
                self.insert_settlement(s).await?;
                self.save_year_totals(&s.person_hash, s.year, b.totals).await?;
                for d in b.debits {
                    self.append_account_entry(&d.person_hash, s.created_at, yikatong_core::account::EntryKind::Settlement, d.amount_fen, Some(&s.setl_id), &d.reason).await?;
                }
                self.mark_lines_settled(&s.mdtrt_id, &s.setl_id, b.sns).await
            }

            async fn lock_settlement(&mut self, setl_id: &str) -> StoreResult<Option<SettlementRecord>> {
                let row = sqlx::query(lock_sql("SELECT * FROM settlements WHERE setl_id = $1")).bind(setl_id).fetch_optional(&mut *self.tx).await?;
                row.map(|r| settlement_from_row(&r)).transpose()
            }

            async fn insert_premium_payment(&mut self, p: &PremiumPayment) -> StoreResult<bool> {
                insert_premium_payment_in(&mut *self.tx, p).await
            }

            async fn record_deduction(&mut self, d: &PremiumDeduction, at: DateTime<Utc>) -> StoreResult<()> {
                record_deduction_in(&mut *self.tx, d, at).await
            }

            async fn insert_reimbursement_claim(&mut self, c: &ReimbursementClaim) -> StoreResult<()> {
                sqlx::query("INSERT INTO reimbursement_claims (id, person_hash, amount_fen, state, due_on, submitted_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(&c.id)
                    .bind(&c.person_hash)
                    .bind(c.amount_fen)
                    .bind(c.state.as_str())
                    .bind(c.due_on.map(|d| d.to_string()))
                    .bind(&c.submitted_by)
                    .bind(ts(c.created_at))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(unique(format!("reimbursement claim {}", c.id)))?;
                Ok(())
            }

            async fn send_approved_reimbursements(&mut self, file_id: &str, at: DateTime<Utc>, limit: i64) -> StoreResult<Vec<ReimbursementClaim>> {
                // The row's own state is checked again by the update, so two files made
                // at once take each claim once between them.
                sqlx::query("UPDATE reimbursement_claims SET state = 'sent', file_id = $1, sent_at = $2 WHERE state = 'approved' AND seq IN (SELECT seq FROM reimbursement_claims WHERE state = 'approved' ORDER BY seq LIMIT $3)")
                    .bind(file_id)
                    .bind(ts(at))
                    .bind(limit)
                    .execute(&mut *self.tx)
                    .await?;
                let rows = sqlx::query("SELECT * FROM reimbursement_claims WHERE file_id = $1 ORDER BY seq").bind(file_id).fetch_all(&mut *self.tx).await?;
                rows.iter().map(reimbursement_from_row).collect()
            }

            async fn insert_work_injury_claim(&mut self, c: &WorkInjuryClaim) -> StoreResult<()> {
                sqlx::query("INSERT INTO work_injury_claims (claim_id, setl_id, mdtrt_id, person_hash, institution, total_fen, cash_due_fen, lines, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                    .bind(&c.claim_id)
                    .bind(&c.setl_id)
                    .bind(&c.mdtrt_id)
                    .bind(&c.person_hash)
                    .bind(&c.institution)
                    .bind(c.total_fen)
                    .bind(c.cash_due_fen)
                    .bind(c.lines.to_string())
                    .bind(c.state.as_str())
                    .bind(ts(c.created_at))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(unique(format!("work-injury claim of settlement {}", c.setl_id)))?;
                Ok(())
            }

            async fn mark_settlement_reversed(&mut self, setl_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("UPDATE settlements SET state = 'reversed', reversed_at = $1 WHERE setl_id = $2").bind(ts(at)).bind(setl_id).execute(&mut *self.tx).await?;
                Ok(())
            }

            async fn live_settlement(&mut self, mdtrt_id: &str, kind: yikatong_core::settlement::SettlementKind) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT setl_id FROM settlements WHERE mdtrt_id = $1 AND kind = $2 AND state = 'settled'").bind(mdtrt_id).bind(kind.as_str()).fetch_optional(&mut *self.tx).await?)
            }

            async fn live_settlements(&mut self, mdtrt_id: &str) -> StoreResult<Vec<(yikatong_core::settlement::SettlementKind, String)>> {
                let rows = sqlx::query("SELECT kind, setl_id FROM settlements WHERE mdtrt_id = $1 AND state = 'settled' ORDER BY setl_id").bind(mdtrt_id).fetch_all(&mut *self.tx).await?;
                rows.iter()
                    .map(|r| Ok((crate::records::parse_closed("settlement kind", &r.try_get::<String, _>("kind")?, yikatong_core::settlement::SettlementKind::parse)?, r.try_get("setl_id")?)))
                    .collect()
            }

            async fn mark_lines_settled(&mut self, mdtrt_id: &str, setl_id: &str, sns: &[String]) -> StoreResult<u64> {
                let mut marked = 0;
                for part in sns.chunks(rows_per_statement(1)) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE fee_lines SET setl_id = ");
                    q.push_bind(setl_id).push(" WHERE mdtrt_id = ").push_bind(mdtrt_id).push(" AND setl_id IS NULL AND sn IN (");
                    let mut list = q.separated(", ");
                    for sn in part {
                        list.push_bind(sn.as_str());
                    }
                    q.push(")");
                    marked += q.build().persistent(false).execute(&mut *self.tx).await?.rows_affected();
                }
                Ok(marked)
            }

            async fn free_lines(&mut self, mdtrt_id: &str, setl_id: &str) -> StoreResult<u64> {
                Ok(sqlx::query("UPDATE fee_lines SET setl_id = NULL WHERE mdtrt_id = $1 AND setl_id = $2").bind(mdtrt_id).bind(setl_id).execute(&mut *self.tx).await?.rows_affected())
            }
        }

        #[async_trait]
        impl FamilyTx for BackendCardTx {
            async fn family_holder_of(&mut self, member_hash: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT holder_hash FROM family_members WHERE member_hash = $1").bind(member_hash).fetch_optional(&mut *self.tx).await?)
            }

            async fn is_family_holder(&mut self, person_hash: &str) -> StoreResult<bool> {
                let n: Option<String> = sqlx::query_scalar("SELECT member_hash FROM family_members WHERE holder_hash = $1 LIMIT 1").bind(person_hash).fetch_optional(&mut *self.tx).await?;
                Ok(n.is_some())
            }

            async fn bind_family_member(&mut self, m: &crate::FamilyMember) -> StoreResult<()> {
                sqlx::query("INSERT INTO family_members (member_hash, holder_hash, bound_at, bound_by) VALUES ($1, $2, $3, $4)")
                    .bind(&m.member_hash)
                    .bind(&m.holder_hash)
                    .bind(ts(m.bound_at))
                    .bind(&m.bound_by)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(unique("family member"))?;
                Ok(())
            }
        }

        #[async_trait]
        impl VisitTx for BackendCardTx {
            async fn catalog_items(&mut self, codes: &[String], region: &str, on: chrono::NaiveDate) -> StoreResult<Vec<CatalogItem>> {
                let mut rows = Vec::new();
                for part in codes.chunks(rows_per_statement(1)) {
                    let mut q = where_in("SELECT * FROM catalog_items WHERE code", part);
                    q.push(" AND region IN (").push_bind(region).push(", '') AND valid_from <= ").push_bind(on.to_string());
                    rows.extend(q.build().persistent(false).fetch_all(&mut *self.tx).await?);
                }
                in_force(&rows, region, on)
            }

            async fn insert_visit(&mut self, v: &VisitRecord) -> StoreResult<()> {
                sqlx::query("INSERT INTO visits (mdtrt_id, institution, person_hash, card_id, ipt_otp_no, state, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&v.mdtrt_id)
                    .bind(&v.institution)
                    .bind(&v.person_hash)
                    .bind(v.card_id)
                    .bind(&v.ipt_otp_no)
                    .bind(v.state.as_str())
                    .bind(v.data.to_string())
                    .bind(ts(v.created_at))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(unique(format!("visit {}", v.ipt_otp_no)))?;
                Ok(())
            }

            async fn use_voucher(&mut self, code_hash: &str, institution: &str, mdtrt_id: &str, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE vouchers SET used_at = $1, mdtrt_id = $2, read_by = $3 WHERE code_hash = $4 AND used_at IS NULL AND expires_at > $1 AND (read_by IS NULL OR read_by = $3)")
                    .bind(ts(at))
                    .bind(mdtrt_id)
                    .bind(institution)
                    .bind(code_hash)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn designated_choice_at(&mut self, person_hash: &str, on: chrono::NaiveDate) -> StoreResult<Option<Vec<String>>> {
                let chosen: Option<String> = sqlx::query_scalar("SELECT institutions FROM designated_choices WHERE person_hash = $1 AND valid_from <= $2 ORDER BY valid_from DESC LIMIT 1")
                    .bind(person_hash)
                    .bind(on.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await?;
                chosen.map(|c| serde_json::from_str(&c).map_err(|e| StoreError::Corrupt(format!("designated_choices.institutions: {e}")))).transpose()
            }

            async fn insert_certificate_visit(&mut self, mdtrt_id: &str, certificate_number: &str, person_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("INSERT INTO certificate_visits (mdtrt_id, certificate_number, person_hash, registered_at) VALUES ($1, $2, $3, $4)")
                    .bind(mdtrt_id)
                    .bind(certificate_number)
                    .bind(person_hash)
                    .bind(ts(at))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(unique(format!("certificate visit {mdtrt_id}")))?;
                Ok(())
            }

            async fn link_visit_card(&mut self, institution: &str, visit_card_no: &str, person_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
                let holder: Option<String> = sqlx::query_scalar("SELECT person_hash FROM visit_cards WHERE institution = $1 AND visit_card_no = $2").bind(institution).bind(visit_card_no).fetch_optional(&mut *self.tx).await?;
                match holder {
                    Some(h) if h == person_hash => return Ok(()),
                    Some(_) => return Err(StoreError::Duplicate(format!("visit card {visit_card_no}"))),
                    None => {}
                }
                sqlx::query("DELETE FROM visit_cards WHERE institution = $1 AND person_hash = $2").bind(institution).bind(person_hash).execute(&mut *self.tx).await?;
                // Two first visits racing to link one number: the unique key lets one in.
                sqlx::query("INSERT INTO visit_cards (institution, visit_card_no, person_hash, linked_at) VALUES ($1, $2, $3, $4)")
                    .bind(institution)
                    .bind(visit_card_no)
                    .bind(person_hash)
                    .bind(ts(at))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(unique(format!("visit card {visit_card_no}")))?;
                Ok(())
            }

            async fn lock_visit(&mut self, mdtrt_id: &str) -> StoreResult<Option<VisitRecord>> {
                let row = sqlx::query(lock_sql("SELECT * FROM visits WHERE mdtrt_id = $1")).bind(mdtrt_id).fetch_optional(&mut *self.tx).await?;
                row.map(|r| visit_from_row(&r)).transpose()
            }

            async fn update_visit(&mut self, v: &VisitRecord) -> StoreResult<()> {
                sqlx::query("UPDATE visits SET state = $1, data = $2 WHERE mdtrt_id = $3").bind(v.state.as_str()).bind(v.data.to_string()).bind(&v.mdtrt_id).execute(&mut *self.tx).await?;
                Ok(())
            }

            async fn visit_lines(&mut self, mdtrt_id: &str) -> StoreResult<Vec<StoredFeeLine>> {
                let rows = sqlx::query("SELECT * FROM fee_lines WHERE mdtrt_id = $1 ORDER BY sn").bind(mdtrt_id).fetch_all(&mut *self.tx).await?;
                rows.iter().map(line_from_row).collect()
            }

            async fn priced_visit_lines(&mut self, mdtrt_id: &str, region: &str, on: chrono::NaiveDate) -> StoreResult<(Vec<StoredFeeLine>, Vec<CatalogItem>)> {
                // Each line with every catalogue entry of its code that may be in force (an
                // unsettled line's only); the entry in force is chosen as by `catalog_items`.
                let rows = sqlx::query(
                    "SELECT f.sn, f.chrg_bchno, f.code, f.qty_e4, f.price_e6, f.amount_fen, f.setl_id, c.name, c.kind, c.class, c.price_ceiling_fen, c.region, c.valid_from \
                     FROM fee_lines f LEFT JOIN catalog_items c ON c.code = f.code AND f.setl_id IS NULL AND c.region IN ($2, '') AND c.valid_from <= $3 \
                     WHERE f.mdtrt_id = $1 ORDER BY f.sn",
                )
                .bind(mdtrt_id)
                .bind(region)
                .bind(on.to_string())
                .fetch_all(&mut *self.tx)
                .await?;
                let mut lines: Vec<StoredFeeLine> = Vec::new();
                let mut entries = Vec::new();
                for r in &rows {
                    let line = line_from_row(r)?;
                    if lines.last().is_none_or(|l| l.sn != line.sn) {
                        lines.push(line);
                    }
                    if r.try_get::<Option<String>, _>("kind")?.is_some() {
                        entries.push(catalog_entry_from_row(r)?);
                    }
                }
                Ok((lines, entries_in_force(&entries, region, on)))
            }

            async fn insert_fee_lines(&mut self, mdtrt_id: &str, chrg_bchno: &str, lines: &[StoredFeeLine]) -> StoreResult<()> {
                for l in lines {
                    sqlx::query("INSERT INTO fee_lines (mdtrt_id, sn, chrg_bchno, code, qty_e4, price_e6, amount_fen) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(mdtrt_id)
                        .bind(&l.sn)
                        .bind(chrg_bchno)
                        .bind(&l.code)
                        .bind(l.qty_e4)
                        .bind(l.price_e6)
                        .bind(l.amount_fen)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(unique(format!("fee line {}", l.sn)))?;
                }
                Ok(())
            }

            async fn delete_unsettled_lines(&mut self, mdtrt_id: &str, chrg_bchno: &str) -> StoreResult<u64> {
                let done = if chrg_bchno == "0000" {
                    sqlx::query("DELETE FROM fee_lines WHERE mdtrt_id = $1 AND setl_id IS NULL").bind(mdtrt_id).execute(&mut *self.tx).await?
                } else {
                    sqlx::query("DELETE FROM fee_lines WHERE mdtrt_id = $1 AND chrg_bchno = $2 AND setl_id IS NULL").bind(mdtrt_id).bind(chrg_bchno).execute(&mut *self.tx).await?
                };
                Ok(done.rows_affected())
            }
        }

        #[async_trait]
        impl RequestTx for BackendCardTx {
            async fn claim_request(&mut self, token_id: i64, key: &str, fingerprint: &str, at: DateTime<Utc>, expire_before: Option<DateTime<Utc>>) -> StoreResult<IdempotencyBegin> {
                if let Some(before) = expire_before {
                    sqlx::query("DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2 AND created_at < $3").bind(token_id).bind(key).bind(ts(before)).execute(&mut *self.tx).await?;
                }
                // On PostgreSQL a concurrent claim of the key waits here for the first
                // transaction to end; SQLite's write lock already orders them.
                let inserted = sqlx::query("INSERT INTO idempotency_keys (token_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                    .bind(token_id)
                    .bind(key)
                    .bind(fingerprint)
                    .bind(ts(at))
                    .execute(&mut *self.tx)
                    .await?;
                if inserted.rows_affected() == 1 {
                    return Ok(IdempotencyBegin::Fresh);
                }
                let row = sqlx::query("SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE token_id = $1 AND key = $2").bind(token_id).bind(key).fetch_one(&mut *self.tx).await?;
                Ok(claim_found(&self.key, &row, fingerprint, None)?.unwrap_or(IdempotencyBegin::InProgress))
            }

            async fn save_response(&mut self, token_id: i64, key: &str, status: u16, body: &[u8]) -> StoreResult<()> {
                let done = sqlx::query("UPDATE idempotency_keys SET status = $1, body = $2 WHERE token_id = $3 AND key = $4 AND status IS NULL")
                    .bind(i32::from(status))
                    .bind(self.key.encrypt(&String::from_utf8_lossy(body)))
                    .bind(token_id)
                    .bind(key)
                    .execute(&mut *self.tx)
                    .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Corrupt(format!("the answer of {key} has no claim of its own in this transaction")));
                }
                Ok(())
            }
        }

        #[async_trait]
        impl CardTx for BackendCardTx {
            async fn commit(self: Box<Self>) -> StoreResult<()> {
                self.tx.commit().await?;
                Ok(())
            }
        }

        /// What a kept entry says for a request with `fingerprint`; `None` when the entry
        /// was created before `expire_before` (it no longer counts).
        fn claim_found(k: &DataKey, row: &<Db as sqlx::Database>::Row, fingerprint: &str, expire_before: Option<DateTime<Utc>>) -> StoreResult<Option<IdempotencyBegin>> {
            if let Some(before) = expire_before {
                if parse_ts(&row.try_get::<String, _>("created_at")?)? < before {
                    return Ok(None);
                }
            }
            if row.try_get::<String, _>("fingerprint")? != fingerprint {
                return Ok(Some(IdempotencyBegin::Mismatch));
            }
            let status: Option<i32> = row.try_get("status")?;
            let body: Option<Vec<u8>> = row.try_get("body")?;
            Ok(Some(match (status, body) {
                // Answers are kept sealed (they name persons); one kept before answers
                // were sealed is returned as it is.
                (Some(s), Some(b)) => IdempotencyBegin::Replay { status: s as u16, body: k.decrypt(&b).map(String::into_bytes).unwrap_or(b) },
                _ => IdempotencyBegin::InProgress,
            }))
        }

        async fn cards_where(pool: &sqlx::Pool<Db>, k: &DataKey, sql: &'static str, bind: String) -> StoreResult<Vec<Card>> {
            let rows = sqlx::query(sql).bind(bind).fetch_all(pool).await?;
            rows.iter().map(|r| card_from_row(k, r)).collect()
        }

        async fn read_card_events(pool: &sqlx::Pool<Db>, k: &DataKey, id: i64) -> StoreResult<Vec<StoredEvent>> {
            let rows = sqlx::query("SELECT seq, kind, payload, actor, channel, place, at, hash FROM card_events WHERE card_id = $1 ORDER BY seq").bind(id).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    let payload: String = r.try_get("payload")?;
                    Ok(StoredEvent {
                        seq: r.try_get("seq")?,
                        kind: r.try_get("kind")?,
                        event: serde_json::to_value(crate::records::event_from_payload(k, &payload)?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        meta: EventMeta {
                            actor: r.try_get("actor")?,
                            channel: r.try_get("channel")?,
                            place: r.try_get("place")?,
                            at: parse_ts(&r.try_get::<String, _>("at")?)?,
                        },
                        hash: r.try_get("hash")?,
                    })
                })
                .collect()
        }

        async fn read_batch(pool: &sqlx::Pool<Db>, id: i64) -> StoreResult<Option<BatchRecord>> {
            let row = sqlx::query("SELECT * FROM production_batches WHERE id = $1").bind(id).fetch_optional(pool).await?;
            row.map(|r| {
                let excluded: String = r.try_get("excluded")?;
                Ok(BatchRecord {
                    id: r.try_get("id")?,
                    region: r.try_get("region")?,
                    snapshot_at: parse_ts(&r.try_get::<String, _>("snapshot_at")?)?,
                    created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                    excluded: serde_json::from_str(&excluded).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .transpose()
        }

        async fn read_outbox(pool: &sqlx::Pool<Db>, after_id: i64, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
            let rows = sqlx::query("SELECT * FROM outbox WHERE id > $1 ORDER BY id LIMIT $2").bind(after_id).bind(limit).fetch_all(pool).await?;
            rows.iter().map(outbox_from_row).collect()
        }

        /// Up to `limit` notices due at `now`, neither delivered nor withdrawn, in the order
        /// they are to be delivered (by when they are due, then as written).
        async fn read_due_notices(pool: &sqlx::Pool<Db>, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
            let rows = sqlx::query("SELECT * FROM outbox WHERE delivered_at IS NULL AND withdrawn_at IS NULL AND due <= $1 ORDER BY due, id LIMIT $2")
                .bind(ts(now))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(outbox_from_row).collect()
        }

        fn outbox_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<OutboxMessage> {
            let payload: String = r.try_get("payload")?;
            let opt_ts = |column: &str| -> StoreResult<Option<DateTime<Utc>>> { r.try_get::<Option<String>, _>(column)?.map(|t| parse_ts(&t)).transpose() };
            Ok(OutboxMessage {
                id: r.try_get("id")?,
                topic: r.try_get("topic")?,
                card_id: r.try_get("card_id")?,
                payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                at: parse_ts(&r.try_get::<String, _>("at")?)?,
                due: parse_ts(&r.try_get::<String, _>("due")?)?,
                delivered_at: opt_ts("delivered_at")?,
                withdrawn_at: opt_ts("withdrawn_at")?,
            })
        }

        /// The notices of `event` on `card` (R-EVT-1) as their outbox rows.
        fn notice_rows(card: &Card, event: &CardEvent, at: DateTime<Utc>) -> StoreResult<Vec<NoticeRow>> {
            yikatong_core::card::notices::notices_of(card, event, at)
                .into_iter()
                .map(|n| Ok(NoticeRow { topic: n.topic, payload: serde_json::to_string(&n.notice).map_err(|e| StoreError::Corrupt(e.to_string()))?, due: ts(n.due), lifts: n.lifts }))
                .collect()
        }

        /// The card's liftings of the zones `withdraws` names withdrawn at `at`, then
        /// `notices` written, one statement each.
        async fn write_notice_rows(tx: &mut sqlx::Transaction<'static, Db>, card_id: i64, at: &str, withdraws: &[&str], notices: &[NoticeRow]) -> StoreResult<()> {
            for lifts in withdraws {
                sqlx::query(WITHDRAW_LIFTING).bind(at).bind(card_id).bind(*lifts).execute(&mut **tx).await?;
            }
            for n in notices {
                sqlx::query(INSERT_NOTICE).bind(n.topic).bind(card_id).bind(&n.payload).bind(at).bind(&n.due).bind(n.lifts).execute(&mut **tx).await?;
            }
            Ok(())
        }

        /// The notices of `event` on `card` (R-EVT-1), after the liftings it withdraws.
        async fn write_notices(tx: &mut sqlx::Transaction<'static, Db>, card: &Card, event: &CardEvent, at: DateTime<Utc>) -> StoreResult<()> {
            write_notice_rows(tx, card.id, &ts(at), yikatong_core::card::notices::withdrawn_by(event), &notice_rows(card, event, at)?).await
        }

        /// Walks every card's chain: each event's hash must follow from the one before
        /// and its own fields, and the last must be the card's head.
        async fn verify_chains(pool: &sqlx::Pool<Db>, k: &DataKey) -> StoreResult<AuditReport> {
            let mut report = AuditReport::default();
            let heads = sqlx::query("SELECT id, head_hash FROM cards ORDER BY id").fetch_all(pool).await?;
            for h in heads {
                let id: i64 = h.try_get("id")?;
                let head: String = h.try_get("head_hash")?;
                report.cards += 1;
                let rows = sqlx::query("SELECT seq, kind, payload, actor, channel, place, at, prev_hash, hash FROM card_events WHERE card_id = $1 ORDER BY seq").bind(id).fetch_all(pool).await?;
                let mut prev = String::new();
                let mut expected_seq = 1;
                for r in rows {
                    report.events += 1;
                    let seq: i64 = r.try_get("seq")?;
                    let meta = EventMeta {
                        actor: r.try_get("actor")?,
                        channel: r.try_get("channel")?,
                        place: r.try_get("place")?,
                        at: parse_ts(&r.try_get::<String, _>("at")?)?,
                    };
                    let kind: String = r.try_get("kind")?;
                    let payload: String = r.try_get("payload")?;
                    let stored_prev: String = r.try_get("prev_hash")?;
                    let hash: String = r.try_get("hash")?;
                    if seq != expected_seq {
                        report.problems.push(format!("card {id}: event {expected_seq} is missing (found {seq})"));
                    }
                    if stored_prev != prev || event_hash(k, &prev, id, seq, &kind, &payload, &meta) != hash {
                        report.problems.push(format!("card {id}: event {seq} ({kind}) was changed after it was written"));
                    }
                    prev = hash;
                    expected_seq = seq + 1;
                }
                if prev != head {
                    report.problems.push(format!("card {id}: its history does not end where the card says (events removed or added)"));
                }
            }
            Ok(report)
        }
    };
}

pub(crate) use card_impl;
