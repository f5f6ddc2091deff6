//! The body of [`crate::Store`], written once and expanded in `sqlite.rs` and
//! `postgres.rs` as `store_impl!(TheStore, TheDialect)`. What differs between the two
//! databases comes from the [`crate::dialect::Dialect`] passed in, under the names the
//! shared source uses (`Db`, `BACKEND`, `FOR_UPDATE`, `begin_write`, …), which this macro
//! defines first. Every statement is plain SQL both databases accept, with `$1, $2, …` in
//! order.

macro_rules! store_impl {
    ($store:ident, $dialect:ty) => {
        use crate::dialect::{CardChange, CardUpdate, Dialect, INSERT_EVENT, INSERT_NOTICE, INSERT_SETTLEMENT, NoticeRow, SAVE_CARD, WITHDRAW_LIFTING, card_write, rows_per_statement, unique};

        // The dialect's items under the names the shared source uses.
        type Db = <$dialect as Dialect>::Db;
        const BACKEND: &str = <$dialect as Dialect>::BACKEND;
        const FOR_UPDATE: &str = <$dialect as Dialect>::FOR_UPDATE;
        const HAND_KEPT_MIGRATIONS: &str = <$dialect as Dialect>::HAND_KEPT_MIGRATIONS;

        async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
            <$dialect as Dialect>::begin_write(pool).await
        }

        async fn reserve_card_ids(tx: &mut sqlx::Transaction<'static, Db>, n: usize) -> Result<Vec<i64>, sqlx::Error> {
            <$dialect as Dialect>::reserve_card_ids(tx, n).await
        }

        async fn update_cards(tx: &mut sqlx::Transaction<'static, Db>, rows: &[CardUpdate<'_>]) -> StoreResult<()> {
            <$dialect as Dialect>::update_cards(tx, rows).await
        }

        /// A statement with its values bound so far.
        type Bound<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

        /// A settlement's 13 columns, in the order `INSERT INTO settlements` names them.
        fn bind_settlement<'q>(q: Bound<'q>, s: &crate::SettlementRecord) -> Bound<'q> {
            q.bind(&s.setl_id)
                .bind(&s.mdtrt_id)
                .bind(&s.institution)
                .bind(&s.person_hash)
                .bind(s.kind.as_str())
                .bind(s.state.as_str())
                .bind(s.visit_date.to_string())
                .bind(s.year)
                .bind(s.receipt.to_string())
                .bind(ts(s.created_at))
                .bind(s.cross_region.as_ref().map(|x| x.care_admdvs.clone()))
                .bind(s.cross_region.as_ref().map(|x| x.insured_admdvs.clone()))
                .bind(s.cross_region.as_ref().map(|x| x.side.as_str()))
        }

        /// An event's 10 columns, in [`INSERT_EVENT`]'s order.
        fn bind_event<'q>(q: Bound<'q>, c: &CardChange<'_>) -> Bound<'q> {
            let m = c.meta;
            q.bind(c.card.id).bind(c.seq).bind(c.kind).bind(&c.payload).bind(&m.actor).bind(&m.channel).bind(&m.place).bind(ts(m.at)).bind(&c.prev_hash).bind(&c.hash)
        }

        /// A card row's 9 columns before its id, in [`SAVE_CARD`]'s order.
        fn bind_card_row<'q>(q: Bound<'q>, card: &yikatong_core::card::Card, head: &str, last_seq: i64, data: &str) -> Bound<'q> {
            q.bind(card.state.as_str())
                .bind(&card.card_number)
                .bind(card.certificate.as_ref().map(|c| c.number.clone()))
                .bind(card.batch_id)
                .bind(card.due_on.map(|d| d.to_string()))
                .bind(head)
                .bind(last_seq)
                .bind(data)
                .bind(card.certificate.as_ref().and_then(|c| c.awaiting_year))
        }

        async fn record_in_one_statement(tx: &mut sqlx::Transaction<'static, Db>, change: &CardChange<'_>) -> StoreResult<bool> {
            <$dialect as Dialect>::record_in_one_statement(tx, change).await
        }

        async fn book_in_one_statement(tx: &mut sqlx::Transaction<'static, Db>, booking: &crate::Booking<'_>) -> StoreResult<Option<u64>> {
            <$dialect as Dialect>::book_in_one_statement(tx, booking).await
        }

        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use sqlx::Row;

        use crate::records::{parse_closed, parse_date, parse_ts, ts};
        use yikatong_core::identity::Gender;
        use yikatong_core::registry::{Category, OrganisationKind};
        use crate::{
            BatchStore, CardStore, DataKey, IdempotencyBegin, JobState, JobStore, RegistryStore, RequestStore, SettlementStore, VerifyStore, JobRecord, MonthlyCredit, PremiumDeduction, PremiumPayment, RegistryRow, Institution, Organisation, Person, PersonChange, Store, StoreError,
            StoreResult, TokenGrant, TokenRecord,
        };

        /// For writes of a person: a unique-key violation is a duplicate, a foreign-key
        /// violation an unregistered unit (the only reference a person row holds).
        fn person_write(what: String, unit: Option<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
            move |e| match &e {
                sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::UnknownUnit(unit.unwrap_or_default()),
                _ => unique(what)(e),
            }
        }

    /// A person's row, decrypted with `k`.
    fn person_from_row(k: &DataKey, row: &<Db as sqlx::Database>::Row) -> StoreResult<Person> {
            let flags: String = row.try_get("flags")?;
            Ok(Person {
                key: row.try_get("ssn_hash")?,
                ssn: k.decrypt(&row.try_get::<Vec<u8>, _>("ssn_enc")?)?,
                name: k.decrypt(&row.try_get::<Vec<u8>, _>("name_enc")?)?,
                gender: parse_closed("gender", &row.try_get::<String, _>("gender")?, Gender::parse)?,
                birth_date: parse_date(&row.try_get::<String, _>("birth_date")?)?,
                ethnicity: row.try_get("ethnicity")?,
                category: parse_closed("category", &row.try_get::<String, _>("category")?, |c| Category::parse(c).ok())?,
                region: row.try_get("region")?,
                unit_code: row.try_get("unit_code")?,
                phone: k.decrypt_opt(row.try_get("phone_enc")?)?,
                address: k.decrypt_opt(row.try_get("address_enc")?)?,
                handbook_no: k.decrypt_opt(row.try_get("handbook_enc")?)?,
                flags: serde_json::from_str(&flags).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                contribution_base_fen: row.try_get("contribution_base_fen")?,
                photo_digest: row.try_get("photo_digest")?,
                created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
                updated_at: parse_ts(&row.try_get::<String, _>("updated_at")?)?,
                version: row.try_get("version")?,
            })
        }

        /// The insert of `persons` as one multi-row statement (skipping persons already
        /// stored when `skip_existing`).
        fn persons_insert_sql(k: &DataKey, persons: &[Person], skip_existing: bool) -> sqlx::QueryBuilder<Db> {
            let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO persons (ssn_hash, current_hash, ssn_enc, name_enc, gender, birth_date, ethnicity, category, region, unit_code, phone_enc, address_enc, handbook_hash, handbook_enc, flags, created_at, updated_at, version, contribution_base_fen, photo_digest) ");
            q.push_values(persons, |mut b, p| {
                b.push_bind(p.key_with(k))
                    .push_bind(k.lookup_hash(&p.ssn))
                    .push_bind(k.encrypt(&p.ssn))
                    .push_bind(k.encrypt(&p.name))
                    .push_bind(p.gender.as_str())
                    .push_bind(p.birth_date.to_string())
                    .push_bind(p.ethnicity.clone())
                    .push_bind(p.category.as_str())
                    .push_bind(p.region.clone())
                    .push_bind(p.unit_code.clone())
                    .push_bind(k.encrypt_opt(p.phone.as_deref()))
                    .push_bind(k.encrypt_opt(p.address.as_deref()))
                    .push_bind(p.handbook_no.as_deref().map(|h| k.lookup_hash(h)))
                    .push_bind(k.encrypt_opt(p.handbook_no.as_deref()))
                    .push_bind(serde_json::to_string(&p.flags).unwrap_or_else(|_| "[]".into()))
                    .push_bind(ts(p.created_at))
                    .push_bind(ts(p.updated_at))
                    .push_bind(p.version)
                    .push_bind(p.contribution_base_fen)
                    .push_bind(p.photo_digest.clone());
            });
            if skip_existing {
                q.push(" ON CONFLICT DO NOTHING");
            }
            q
        }

        async fn insert_org_in<'e, E: sqlx::Executor<'e, Database = Db>>(exec: E, table: &'static str, org: &Organisation) -> StoreResult<()> {
            let what = if table == "units" { "unit" } else { "outlet" };
            let q = match table {
                "units" => sqlx::query("INSERT INTO units (code, name, region, created_at, kind, district) VALUES ($1, $2, $3, $4, $5, $6)").bind(&org.code).bind(&org.name).bind(&org.region).bind(ts(org.created_at)).bind(org.kind.unwrap_or(OrganisationKind::Employer).as_str()).bind(&org.district),
                _ => sqlx::query("INSERT INTO outlets (code, name, region, created_at, kind) VALUES ($1, $2, $3, $4, $5)").bind(&org.code).bind(&org.name).bind(&org.region).bind(ts(org.created_at)).bind(org.kind.map(OrganisationKind::as_str)),
            };
            q.execute(exec).await.map_err(unique(format!("{what} {}", org.code)))?;
            Ok(())
        }

        /// A premium payment, once per reference; `false` when it was recorded already.
        async fn insert_premium_payment_in<'e, E: sqlx::Executor<'e, Database = Db>>(exec: E, p: &PremiumPayment) -> StoreResult<bool> {
            let done = sqlx::query("INSERT INTO premium_payments (person_hash, period, amount_fen, channel, payer_hash, paid_at, reference) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (reference) DO NOTHING")
                .bind(&p.person_hash)
                .bind(&p.period)
                .bind(p.amount_fen)
                .bind(&p.channel)
                .bind(&p.payer_hash)
                .bind(ts(p.paid_at))
                .bind(&p.reference)
                .execute(exec)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn record_deduction_in<'e, E: sqlx::Executor<'e, Database = Db>>(exec: E, d: &PremiumDeduction, at: DateTime<Utc>) -> StoreResult<()> {
            sqlx::query("INSERT INTO premium_deductions (person_hash, period, ok, reason, recorded_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (person_hash, period) DO UPDATE SET ok = excluded.ok, reason = excluded.reason, recorded_at = excluded.recorded_at")
                .bind(&d.person_hash)
                .bind(&d.period)
                .bind(d.ok)
                .bind(&d.reason)
                .bind(ts(at))
                .execute(exec)
                .await?;
            Ok(())
        }

        async fn insert_institution_in<'e, E: sqlx::Executor<'e, Database = Db>>(exec: E, i: &Institution) -> StoreResult<()> {
            sqlx::query("INSERT INTO institutions (code, name, region, level, class, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&i.code)
                .bind(&i.name)
                .bind(&i.region)
                .bind(&i.level)
                .bind(&i.class)
                .bind(ts(i.created_at))
                .execute(exec)
                .await
                .map_err(unique(format!("institution {}", i.code)))?;
            Ok(())
        }

        async fn change_person_in(tx: &mut sqlx::Transaction<'static, Db>, k: &DataKey, expected_version: i64, p: &Person, c: &PersonChange) -> StoreResult<()> {
            let hash = p.key_with(k);
            let updated = sqlx::query(
                "UPDATE persons SET name_enc = $1, ethnicity = $2, category = $3, unit_code = $4, phone_enc = $5, address_enc = $6, handbook_hash = $7, handbook_enc = $8, flags = $9, updated_at = $10, version = $11, contribution_base_fen = $12, photo_digest = $13, ssn_enc = $16, current_hash = $17, gender = $18, birth_date = $19 WHERE ssn_hash = $14 AND version = $15",
            )
            .bind(k.encrypt(&p.name))
            .bind(&p.ethnicity)
            .bind(p.category.as_str())
            .bind(&p.unit_code)
            .bind(k.encrypt_opt(p.phone.as_deref()))
            .bind(k.encrypt_opt(p.address.as_deref()))
            .bind(p.handbook_no.as_deref().map(|h| k.lookup_hash(h)))
            .bind(k.encrypt_opt(p.handbook_no.as_deref()))
            .bind(serde_json::to_string(&p.flags).unwrap_or_else(|_| "[]".into()))
            .bind(ts(p.updated_at))
            .bind(p.version)
            .bind(p.contribution_base_fen)
            .bind(&p.photo_digest)
            .bind(&hash)
            .bind(expected_version)
            .bind(k.encrypt(&p.ssn))
            .bind(k.lookup_hash(&p.ssn))
            .bind(p.gender.as_str())
            .bind(p.birth_date.to_string())
            .execute(&mut **tx)
            .await
            .map_err(person_write("handbook number or ID number".into(), p.unit_code.clone()))?;
            if updated.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!("person {}", yikatong_core::identity::mask_ssn(&p.ssn))));
            }
            sqlx::query(
                "INSERT INTO person_changes (ssn_hash, changed_at, effective_on, actor, fields, before_enc, after_enc) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&hash)
            .bind(ts(c.changed_at))
            .bind(c.effective_on.to_string())
            .bind(&c.actor)
            .bind(c.fields.join(","))
            .bind(k.encrypt(&c.before.to_string()))
            .bind(k.encrypt(&c.after.to_string()))
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        impl $store {
            /// Applies every migration of the backend's folder not yet applied
            /// (`sqlx::migrate!`: checksummed, under the migrator's own lock). A database
            /// made when migrations were a hand-kept list (`schema_migrations`) has the
            /// versions it recorded marked as applied first, so they are not run twice;
            /// anything after them is then applied like on a new database.
            async fn run_migrations(&self) -> StoreResult<()> {
                let migrate = |e: sqlx::migrate::MigrateError| StoreError::Migration(e.to_string());
                let hand_kept: i64 = sqlx::query_scalar(HAND_KEPT_MIGRATIONS).fetch_one(&self.pool).await?;
                if hand_kept > 0 {
                    let done: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(&self.pool).await?;
                    <$dialect as Dialect>::migrator().skip(&self.pool, Some(done.unwrap_or(0))).await.map_err(migrate)?;
                    sqlx::raw_sql("DROP TABLE IF EXISTS schema_migrations").execute(&self.pool).await?;
                    tracing::info!(backend = BACKEND, up_to = done, "adopted the hand-kept migration list");
                }
                <$dialect as Dialect>::migrator().run(&self.pool).await.map_err(migrate)?;
                Ok(())
            }

            /// The migration versions recorded as applied, in order.
            async fn applied_migration_versions(&self) -> StoreResult<Vec<i64>> {
                Ok(sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version").fetch_all(&self.pool).await?)
            }

            fn person_from_row(&self, row: &<Db as sqlx::Database>::Row) -> StoreResult<Person> {
                person_from_row(&self.key, row)
            }

            fn token_from_row(row: &<Db as sqlx::Database>::Row) -> StoreResult<TokenRecord> {
                Ok(TokenRecord {
                    id: row.try_get("id")?,
                    grant: TokenGrant {
                        role: parse_closed("token role", &row.try_get::<String, _>("role")?, |r| yikatong_core::access::Role::parse(r).ok())?,
                        outlet: row.try_get("outlet")?,
                        unit: row.try_get("unit")?,
                        institution: row.try_get("institution")?,
                        person_hash: row.try_get("person_hash")?,
                        label: row.try_get("label")?,
                    },
                    created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
                    revoked_at: row.try_get::<Option<String>, _>("revoked_at")?.map(|s| parse_ts(&s)).transpose()?,
                })
            }

            async fn insert_org(&self, table: &'static str, org: &Organisation) -> StoreResult<()> {
                insert_org_in(&self.pool, table, org).await
            }

            async fn get_org(&self, table: &'static str, code: &str) -> StoreResult<Option<Organisation>> {
                let sql = match table {
                    "units" => "SELECT code, name, region, created_at, kind, district FROM units WHERE code = $1",
                    _ => "SELECT code, name, region, created_at, kind, NULL AS district FROM outlets WHERE code = $1",
                };
                let row = sqlx::query(sql).bind(code).fetch_optional(&self.pool).await?;
                row.map(|r| {
                    Ok(Organisation {
                        code: r.try_get("code")?,
                        name: r.try_get("name")?,
                        region: r.try_get("region")?,
                        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                        kind: r.try_get::<Option<String>, _>("kind")?.map(|k| parse_closed("organisation kind", &k, OrganisationKind::parse)).transpose()?,
                        district: r.try_get("district")?,
                    })
                })
                .transpose()
            }

            /// The insert of `persons` as one multi-row statement (skipping persons already
            /// stored when `skip_existing`).
            fn persons_insert(&self, persons: &[Person], skip_existing: bool) -> sqlx::QueryBuilder<Db> {
                persons_insert_sql(&self.key, persons, skip_existing)
            }

            async fn insert_person_in<'e, E>(&self, exec: E, p: &Person, skip_existing: bool) -> StoreResult<u64>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let done = self
                    .persons_insert(std::slice::from_ref(p), skip_existing)
                    .build()
                    .execute(exec)
                    .await
                    .map_err(person_write(format!("person {}", yikatong_core::identity::mask_ssn(&p.ssn)), p.unit_code.clone()))?;
                Ok(done.rows_affected())
            }

            fn registry_from_row(&self, ssn: &str, r: &<Db as sqlx::Database>::Row) -> StoreResult<RegistryRow> {
                Ok(RegistryRow {
                    ssn: ssn.to_string(),
                    name: self.key.decrypt(&r.try_get::<Vec<u8>, _>("name_enc")?)?,
                    gender: r.try_get("gender")?,
                    ethnicity: r.try_get("ethnicity")?,
                    birth_date: parse_date(&r.try_get::<String, _>("birth_date")?)?,
                    photo_digest: r.try_get("photo_digest")?,
                })
            }

            async fn person_where(&self, column: &'static str, hash: String) -> StoreResult<Option<Person>> {
                let sql = match column {
                    "handbook_hash" => "SELECT * FROM persons WHERE handbook_hash = $1",
                    "current_hash" => "SELECT * FROM persons WHERE current_hash = $1",
                    _ => "SELECT * FROM persons WHERE ssn_hash = $1",
                };
                let row = sqlx::query(sql).bind(hash).fetch_optional(&self.pool).await?;
                row.map(|r| self.person_from_row(&r)).transpose()
            }
        }

        crate::backend_cards::card_impl!();
        crate::backend_bulk::bulk_impl!();
        crate::backend_settlement::settlement_impl!();
        crate::backend_verify::verify_impl!();
        crate::backend_sign_in::sign_in_impl!($store);
        crate::backend_gateway::gateway_impl!($store);
        crate::backend_his::his_impl!($store);
        crate::backend_designated::designated_impl!($store);
        crate::backend_filings::filings_impl!($store);
        crate::backend_family::family_impl!($store);

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                BACKEND
            }

            fn data_key(&self) -> &DataKey {
                &self.key
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }
        }

        #[async_trait]
        impl VerifyStore for $store {
            async fn duplicate_live_settlements(&self) -> StoreResult<Vec<(String, i64)>> {
                duplicate_live_settlements(&self.pool).await
            }

            async fn persons_with_cards_that_settle(&self) -> StoreResult<Vec<(String, i64)>> {
                persons_with_cards_that_settle(&self.pool).await
            }

            async fn negative_balances(&self) -> StoreResult<Vec<(String, i64)>> {
                negative_balances(&self.pool).await
            }

            async fn settlements_page(&self, after: &str, limit: i64) -> StoreResult<Vec<SettlementRecord>> {
                settlements_page(&self.pool, after, limit).await
            }

            async fn reimbursement_claims_page(&self, after: &str, limit: i64) -> StoreResult<Vec<ReimbursementClaim>> {
                let rows = sqlx::query("SELECT * FROM reimbursement_claims WHERE id > $1 ORDER BY id LIMIT $2").bind(after).bind(limit).fetch_all(&self.pool).await?;
                rows.iter().map(reimbursement_from_row).collect()
            }

            async fn ledger_page(&self, after_id: i64, limit: i64) -> StoreResult<Vec<(String, AccountEntry)>> {
                ledger_page(&self.pool, after_id, limit).await
            }

            async fn year_totals_page(&self, after: &(String, i64), limit: i64) -> StoreResult<Vec<(String, i64, YearTotals)>> {
                year_totals_page(&self.pool, after, limit).await
            }

            async fn settled_lines_page(&self, after: &(String, String), limit: i64) -> StoreResult<Vec<(String, String, String)>> {
                settled_lines_page(&self.pool, after, limit).await
            }

            async fn cards_with_events_page(&self, after_id: i64, limit: i64) -> StoreResult<Vec<(Card, String, Result<Vec<CardEvent>, String>)>> {
                cards_with_events_page(&self.pool, &self.key, after_id, limit).await
            }

            async fn chain_heads_page(&self, after_id: i64, limit: i64) -> StoreResult<Vec<(i64, i64, String)>> {
                chain_heads_page(&self.pool, after_id, limit).await
            }

            async fn event_hashes_of(&self, first: i64, last: i64) -> StoreResult<Vec<(i64, i64, String)>> {
                event_hashes_of(&self.pool, first, last).await
            }

            async fn outbox_counts(&self) -> StoreResult<Vec<(i64, i64)>> {
                outbox_counts(&self.pool).await
            }

            async fn applied_migrations(&self) -> StoreResult<Vec<i64>> {
                self.applied_migration_versions().await
            }
        }

        #[async_trait]
        impl RegistryStore for $store {
            async fn insert_unit(&self, unit: &Organisation) -> StoreResult<()> {
                self.insert_org("units", unit).await
            }

            async fn get_unit(&self, code: &str) -> StoreResult<Option<Organisation>> {
                self.get_org("units", code).await
            }

            async fn insert_outlet(&self, outlet: &Organisation) -> StoreResult<()> {
                self.insert_org("outlets", outlet).await
            }

            async fn get_outlet(&self, code: &str) -> StoreResult<Option<Organisation>> {
                self.get_org("outlets", code).await
            }

            async fn insert_institution(&self, i: &Institution) -> StoreResult<()> {
                insert_institution_in(&self.pool, i).await
            }

            async fn get_institution(&self, code: &str) -> StoreResult<Option<Institution>> {
                let row = sqlx::query("SELECT code, name, region, level, class, created_at FROM institutions WHERE code = $1")
                    .bind(code)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| {
                    Ok(Institution {
                        code: r.try_get("code")?,
                        name: r.try_get("name")?,
                        region: r.try_get("region")?,
                        level: r.try_get("level")?,
                        class: r.try_get("class")?,
                        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                    })
                })
                .transpose()
            }

            async fn insert_person(&self, p: &Person) -> StoreResult<()> {
                self.insert_person_in(&self.pool, p, false).await.map(|_| ())
            }

            async fn insert_persons(&self, persons: &[Person]) -> StoreResult<u64> {
                let mut tx = begin_write(&self.pool).await?;
                let mut n = 0;
                for part in persons.chunks(rows_per_statement(20)) {
                    let unit = part.iter().find_map(|p| p.unit_code.clone());
                    n += self.persons_insert(part, true).build().persistent(false).execute(&mut *tx).await.map_err(person_write("a person of the same handbook number".into(), unit))?.rows_affected();
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn get_person(&self, ssn: &str) -> StoreResult<Option<Person>> {
                self.person_where("current_hash", self.key.lookup_hash(ssn)).await
            }

            async fn find_person_by_handbook(&self, handbook_no: &str) -> StoreResult<Option<Person>> {
                self.person_where("handbook_hash", self.key.lookup_hash(handbook_no)).await
            }

            async fn count_persons(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM persons").fetch_one(&self.pool).await?)
            }

            async fn change_person(&self, expected_version: i64, p: &Person, c: &PersonChange) -> StoreResult<()> {
                let mut tx = begin_write(&self.pool).await?;
                change_person_in(&mut tx, &self.key, expected_version, p, c).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn change_flags(&self, changes: &[(i64, Person, PersonChange)]) -> StoreResult<()> {
                let k = &self.key;
                let mut tx = begin_write(&self.pool).await?;
                for part in changes.chunks(rows_per_statement(5)) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE persons SET flags = v.column2, updated_at = v.column3, version = v.column4 FROM (");
                    q.push_values(part, |mut b, (expected, p, _)| {
                        b.push("CAST(").push_bind_unseparated(p.key_with(k)).push_unseparated(" AS TEXT)");
                        b.push("CAST(").push_bind_unseparated(serde_json::to_string(&p.flags).unwrap_or_else(|_| "[]".into())).push_unseparated(" AS TEXT)");
                        b.push("CAST(").push_bind_unseparated(ts(p.updated_at)).push_unseparated(" AS TEXT)");
                        b.push("CAST(").push_bind_unseparated(p.version).push_unseparated(" AS BIGINT)");
                        b.push("CAST(").push_bind_unseparated(*expected).push_unseparated(" AS BIGINT)");
                    });
                    q.push(") AS v WHERE persons.ssn_hash = v.column1 AND persons.version = v.column5");
                    if q.build().persistent(false).execute(&mut *tx).await?.rows_affected() != part.len() as u64 {
                        return Err(StoreError::Conflict("a person of the batch".into()));
                    }
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO person_changes (ssn_hash, changed_at, effective_on, actor, fields, before_enc, after_enc) ");
                    q.push_values(part, |mut b, (_, p, c)| {
                        b.push_bind(p.key_with(k)).push_bind(ts(c.changed_at)).push_bind(c.effective_on.to_string()).push_bind(c.actor.clone()).push_bind(c.fields.join(",")).push_bind(k.encrypt(&c.before.to_string())).push_bind(k.encrypt(&c.after.to_string()));
                    });
                    q.build().persistent(false).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn person_history(&self, ssn: &str) -> StoreResult<Vec<PersonChange>> {
                let k = &self.key;
                let rows = sqlx::query(
                    "SELECT changed_at, effective_on, actor, fields, before_enc, after_enc FROM person_changes WHERE ssn_hash = (SELECT ssn_hash FROM persons WHERE current_hash = $1) ORDER BY id",
                )
                .bind(k.lookup_hash(ssn))
                .fetch_all(&self.pool)
                .await?;
                let json = |blob: Vec<u8>| -> StoreResult<serde_json::Value> {
                    serde_json::from_str(&k.decrypt(&blob)?).map_err(|e| StoreError::Corrupt(e.to_string()))
                };
                rows.into_iter()
                    .map(|r| {
                        let fields: String = r.try_get("fields")?;
                        Ok(PersonChange {
                            ssn: ssn.to_string(),
                            changed_at: parse_ts(&r.try_get::<String, _>("changed_at")?)?,
                            effective_on: parse_date(&r.try_get::<String, _>("effective_on")?)?,
                            actor: r.try_get("actor")?,
                            fields: fields.split(',').filter(|s| !s.is_empty()).map(String::from).collect(),
                            before: json(r.try_get("before_enc")?)?,
                            after: json(r.try_get("after_enc")?)?,
                        })
                    })
                    .collect()
            }

            async fn put_calendar_year(&self, year: i32, toml: &str, at: DateTime<Utc>) -> StoreResult<()> {
                let mut tx = begin_write(&self.pool).await?;
                sqlx::query("DELETE FROM calendar_years WHERE year = $1").bind(year).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO calendar_years (year, data, loaded_at) VALUES ($1, $2, $3)")
                    .bind(year)
                    .bind(toml)
                    .bind(ts(at))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn calendar_years(&self) -> StoreResult<Vec<(i32, String)>> {
                let rows = sqlx::query("SELECT year, data FROM calendar_years ORDER BY year").fetch_all(&self.pool).await?;
                rows.iter().map(|r| Ok((r.try_get("year")?, r.try_get("data")?))).collect()
            }
        }

        #[async_trait]
        impl RequestStore for $store {
            async fn insert_token(&self, token_hash: &str, g: &TokenGrant, at: DateTime<Utc>) -> StoreResult<i64> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO tokens (token_hash, role, outlet, unit, institution, person_hash, label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(token_hash)
                .bind(g.role.as_str())
                .bind(&g.outlet)
                .bind(&g.unit)
                .bind(&g.institution)
                .bind(&g.person_hash)
                .bind(&g.label)
                .bind(ts(at))
                .fetch_one(&self.pool)
                .await
                .map_err(unique("token"))?;
                Ok(id)
            }

            async fn find_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
                let row = sqlx::query("SELECT * FROM tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| Self::token_from_row(&r)).transpose()
            }

            async fn revoke_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(ts(at))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
                let rows = sqlx::query("SELECT * FROM tokens ORDER BY id").fetch_all(&self.pool).await?;
                rows.iter().map(Self::token_from_row).collect()
            }

            async fn idempotency_peek(&self, token_id: i64, key: &str, fingerprint: &str, expire_before: Option<DateTime<Utc>>) -> StoreResult<Option<IdempotencyBegin>> {
                let row = sqlx::query("SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE token_id = $1 AND key = $2").bind(token_id).bind(key).fetch_optional(&self.pool).await?;
                row.map(|r| claim_found(&self.key, &r, fingerprint, expire_before)).transpose().map(Option::flatten)
            }

            async fn release_unanswered_claims(&self) -> StoreResult<u64> {
                Ok(sqlx::query("DELETE FROM idempotency_keys WHERE status IS NULL").execute(&self.pool).await?.rows_affected())
            }

            async fn idempotency_finish(&self, token_id: i64, key: &str, status: u16, body: &[u8]) -> StoreResult<()> {
                sqlx::query("UPDATE idempotency_keys SET status = $1, body = $2 WHERE token_id = $3 AND key = $4")
                    .bind(i32::from(status))
                    .bind(self.key.encrypt(&String::from_utf8_lossy(body)))
                    .bind(token_id)
                    .bind(key)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn idempotency_abandon(&self, token_id: i64, key: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2 AND status IS NULL")
                    .bind(token_id)
                    .bind(key)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }

        #[async_trait]
        impl CardStore for $store {
            async fn begin_cards(&self) -> StoreResult<Box<dyn CardTx>> {
                Ok(Box::new(BackendCardTx::begin(&self.pool, self.key.clone()).await?))
            }

            async fn get_card(&self, id: i64) -> StoreResult<Option<Card>> {
                let row = sqlx::query("SELECT data FROM cards WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
                row.map(|r| card_from_row(&self.key, &r)).transpose()
            }

            async fn cards_of_person(&self, person_hash: &str) -> StoreResult<Vec<Card>> {
                cards_where(&self.pool, &self.key, "SELECT data FROM cards WHERE person_hash = $1 ORDER BY id", person_hash.to_string()).await
            }

            async fn card_by_certificate(&self, number: &str) -> StoreResult<Option<Card>> {
                Ok(cards_where(&self.pool, &self.key, "SELECT data FROM cards WHERE certificate_number = $1", number.to_string()).await?.pop())
            }

            async fn cards_by_number(&self, card_number: &str) -> StoreResult<Vec<Card>> {
                cards_where(&self.pool, &self.key, "SELECT data FROM cards WHERE card_number = $1 ORDER BY id", card_number.to_string()).await
            }

            async fn person_by_hash_prefix(&self, prefix: &str) -> StoreResult<Option<Person>> {
                if prefix.len() < 16 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Ok(None);
                }
                // Hex digits sort below 'g': a range on the primary key's index.
                let row = sqlx::query("SELECT * FROM persons WHERE ssn_hash >= $1 AND ssn_hash < $2 LIMIT 2")
                    .bind(prefix)
                    .bind(format!("{prefix}g"))
                    .fetch_all(&self.pool)
                    .await?;
                match row.as_slice() {
                    [one] => self.person_from_row(one).map(Some),
                    _ => Ok(None),
                }
            }

            async fn card_events(&self, id: i64) -> StoreResult<Vec<StoredEvent>> {
                read_card_events(&self.pool, &self.key, id).await
            }

            async fn card_fees(&self, card_id: i64) -> StoreResult<Vec<(String, i64, Option<String>)>> {
                let rows = sqlx::query("SELECT kind, amount_fen, payment_method FROM fees WHERE card_id = $1 ORDER BY id").bind(card_id).fetch_all(&self.pool).await?;
                rows.iter().map(|r| Ok((r.try_get("kind")?, r.try_get("amount_fen")?, r.try_get("payment_method")?))).collect()
            }

            async fn cards_awaiting_year(&self, year: i32) -> StoreResult<Vec<i64>> {
                Ok(sqlx::query_scalar("SELECT id FROM cards WHERE ready_awaited_year = $1 ORDER BY id").bind(year).fetch_all(&self.pool).await?)
            }

            async fn overdue_cards(&self, today: chrono::NaiveDate) -> StoreResult<Vec<Card>> {
                cards_where(&self.pool, &self.key, "SELECT data FROM cards WHERE due_on < $1 AND state IN ('applied', 'in_production', 'at_distributor') ORDER BY due_on, id", today.to_string()).await
            }

            async fn cards_in_batch(&self, batch_id: i64) -> StoreResult<Vec<Card>> {
                let rows = sqlx::query("SELECT data FROM cards WHERE batch_id = $1 ORDER BY id").bind(batch_id).fetch_all(&self.pool).await?;
                rows.iter().map(|r| card_from_row(&self.key, r)).collect()
            }

            async fn get_batch(&self, id: i64) -> StoreResult<Option<BatchRecord>> {
                read_batch(&self.pool, id).await
            }

            async fn latest_batch_snapshot(&self, region: &str) -> StoreResult<Option<DateTime<Utc>>> {
                let at: Option<String> = sqlx::query_scalar("SELECT MAX(snapshot_at) FROM production_batches WHERE region = $1").bind(region).fetch_one(&self.pool).await?;
                at.map(|a| parse_ts(&a)).transpose()
            }

            async fn get_person_by_hash(&self, person_hash: &str) -> StoreResult<Option<Person>> {
                self.person_where("ssn_hash", person_hash.to_string()).await
            }

            async fn outbox(&self, after_id: i64, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
                read_outbox(&self.pool, after_id, limit).await
            }

            async fn due_notices(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
                read_due_notices(&self.pool, now, limit).await
            }

            async fn mark_delivered(&self, ids: &[i64], at: DateTime<Utc>) -> StoreResult<()> {
                let at = ts(at);
                for part in ids.chunks(rows_per_statement(1)) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE outbox SET delivered_at = ");
                    q.push_bind(at.as_str()).push(" WHERE delivered_at IS NULL AND id IN (");
                    let mut list = q.separated(", ");
                    for id in part {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    q.build().persistent(false).execute(&self.pool).await?;
                }
                Ok(())
            }

            async fn undelivered_counts(&self, now: DateTime<Utc>) -> StoreResult<(i64, i64)> {
                let row = sqlx::query("SELECT CAST(COALESCE(SUM(CASE WHEN due <= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS due, CAST(COALESCE(SUM(CASE WHEN due > $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS later FROM outbox WHERE delivered_at IS NULL AND withdrawn_at IS NULL")
                    .bind(ts(now))
                    .fetch_one(&self.pool)
                    .await?;
                Ok((row.try_get("due")?, row.try_get("later")?))
            }

            async fn verify_audit(&self) -> StoreResult<AuditReport> {
                verify_chains(&self.pool, &self.key).await
            }
        }

        #[async_trait]
        impl SettlementStore for $store {
            async fn upsert_catalog_entries(&self, entries: &[CatalogEntry], at: DateTime<Utc>) -> StoreResult<u64> {
                upsert_entries(&self.pool, entries, at).await
            }

            async fn catalog_item(&self, code: &str) -> StoreResult<Option<CatalogItem>> {
                let row = sqlx::query("SELECT * FROM catalog_items WHERE code = $1 AND region = '' AND valid_from = $2").bind(code).bind(ALWAYS).fetch_optional(&self.pool).await?;
                row.map(|r| item_from_row(&r)).transpose()
            }

            async fn catalog_items(&self, codes: &[String], region: &str, on: chrono::NaiveDate) -> StoreResult<Vec<CatalogItem>> {
                let mut rows = Vec::new();
                for part in codes.chunks(rows_per_statement(1)) {
                    let mut q = where_in("SELECT * FROM catalog_items WHERE code", part);
                    q.push(" AND region IN (").push_bind(region).push(", '') AND valid_from <= ").push_bind(on.to_string());
                    rows.extend(q.build().persistent(false).fetch_all(&self.pool).await?);
                }
                in_force(&rows, region, on)
            }

            async fn get_visit(&self, mdtrt_id: &str) -> StoreResult<Option<VisitRecord>> {
                let row = sqlx::query("SELECT * FROM visits WHERE mdtrt_id = $1").bind(mdtrt_id).fetch_optional(&self.pool).await?;
                row.map(|r| visit_from_row(&r)).transpose()
            }

            async fn fee_lines(&self, mdtrt_id: &str) -> StoreResult<Vec<StoredFeeLine>> {
                let rows = sqlx::query("SELECT * FROM fee_lines WHERE mdtrt_id = $1 ORDER BY sn").bind(mdtrt_id).fetch_all(&self.pool).await?;
                rows.iter().map(line_from_row).collect()
            }

            async fn certificate_visits(&self, certificate_number: &str) -> StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar("SELECT mdtrt_id FROM certificate_visits WHERE certificate_number = $1 ORDER BY registered_at, mdtrt_id").bind(certificate_number).fetch_all(&self.pool).await?)
            }

            async fn get_settlement(&self, setl_id: &str) -> StoreResult<Option<SettlementRecord>> {
                let row = sqlx::query("SELECT * FROM settlements WHERE setl_id = $1").bind(setl_id).fetch_optional(&self.pool).await?;
                row.map(|r| settlement_from_row(&r)).transpose()
            }

            async fn work_injury_claim(&self, claim_id: &str) -> StoreResult<Option<WorkInjuryClaim>> {
                let row = sqlx::query("SELECT * FROM work_injury_claims WHERE claim_id = $1").bind(claim_id).fetch_optional(&self.pool).await?;
                row.map(|r| claim_from_row(&r)).transpose()
            }

            async fn reimbursement_claim(&self, id: &str) -> StoreResult<Option<ReimbursementClaim>> {
                let row = sqlx::query("SELECT * FROM reimbursement_claims WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
                row.map(|r| reimbursement_from_row(&r)).transpose()
            }

            async fn reimbursement_claims_of(&self, person_hash: &str) -> StoreResult<Vec<ReimbursementClaim>> {
                let rows = sqlx::query("SELECT * FROM reimbursement_claims WHERE person_hash = $1 ORDER BY seq").bind(person_hash).fetch_all(&self.pool).await?;
                rows.iter().map(reimbursement_from_row).collect()
            }

            async fn approve_reimbursement(&self, id: &str, by: &str, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE reimbursement_claims SET state = 'approved', approved_by = $1, approved_at = $2 WHERE id = $3 AND state = 'submitted'").bind(by).bind(ts(at)).bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn move_reimbursement(&self, id: &str, from: yikatong_core::settlement::ClaimState, to: yikatong_core::settlement::ClaimState, reason: Option<&str>, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE reimbursement_claims SET state = $1, failure_reason = $2, settled_at = $3 WHERE id = $4 AND state = $5").bind(to.as_str()).bind(reason).bind(ts(at)).bind(id).bind(from.as_str()).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn reimbursements_in_file(&self, file_id: &str) -> StoreResult<Vec<ReimbursementClaim>> {
                let rows = sqlx::query("SELECT * FROM reimbursement_claims WHERE file_id = $1 ORDER BY seq").bind(file_id).fetch_all(&self.pool).await?;
                rows.iter().map(reimbursement_from_row).collect()
            }

            async fn settlements_of_person(&self, person_hash: &str) -> StoreResult<Vec<SettlementRecord>> {
                let rows = sqlx::query("SELECT * FROM settlements WHERE person_hash = $1 ORDER BY created_at, setl_id").bind(person_hash).fetch_all(&self.pool).await?;
                rows.iter().map(settlement_from_row).collect()
            }

            async fn account_entries(&self, person_hash: &str) -> StoreResult<Vec<AccountEntry>> {
                let rows = sqlx::query("SELECT * FROM account_entries WHERE person_hash = $1 ORDER BY id").bind(person_hash).fetch_all(&self.pool).await?;
                rows.iter().map(entry_from_row).collect()
            }

            async fn year_totals(&self, person_hash: &str, year: i64) -> StoreResult<YearTotals> {
                let row = sqlx::query("SELECT deductible_used, fund_paid, insured_used, by_fund FROM year_totals WHERE person_hash = $1 AND year = $2").bind(person_hash).bind(year).fetch_optional(&self.pool).await?;
                row.map(|r| totals_from_row(&r)).transpose().map(|t| t.unwrap_or_default())
            }
        }

        #[async_trait]
        impl BatchStore for $store {
            async fn person_key_of_number(&self, number_hash: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT ssn_hash FROM persons WHERE current_hash = $1").bind(number_hash).fetch_optional(&self.pool).await?)
            }

            async fn persons_by_numbers(&self, number_hashes: &[String]) -> StoreResult<Vec<(String, Person)>> {
                let mut found = Vec::with_capacity(number_hashes.len());
                for part in number_hashes.chunks(rows_per_statement(1)) {
                    for r in where_in("SELECT * FROM persons WHERE current_hash", part).build().persistent(false).fetch_all(&self.pool).await? {
                        found.push((r.try_get::<String, _>("current_hash")?, self.person_from_row(&r)?));
                    }
                }
                Ok(found)
            }

            async fn persons_by_hashes(&self, hashes: &[String]) -> StoreResult<Vec<(String, Person)>> {
                let mut found = Vec::with_capacity(hashes.len());
                for part in hashes.chunks(rows_per_statement(1)) {
                    for r in where_in("SELECT * FROM persons WHERE ssn_hash", part).build().persistent(false).fetch_all(&self.pool).await? {
                        found.push((r.try_get::<String, _>("ssn_hash")?, self.person_from_row(&r)?));
                    }
                }
                Ok(found)
            }

            async fn persons_page(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, Person)>> {
                let rows = sqlx::query("SELECT * FROM persons WHERE ssn_hash > $1 ORDER BY ssn_hash LIMIT $2").bind(after.unwrap_or("")).bind(limit).fetch_all(&self.pool).await?;
                rows.iter().map(|r| Ok((r.try_get::<String, _>("ssn_hash")?, self.person_from_row(r)?))).collect()
            }

            async fn unit_persons_page(&self, unit: &str, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, Person)>> {
                let rows = sqlx::query("SELECT * FROM persons WHERE unit_code = $1 AND ssn_hash > $2 ORDER BY ssn_hash LIMIT $3").bind(unit).bind(after.unwrap_or("")).bind(limit).fetch_all(&self.pool).await?;
                rows.iter().map(|r| Ok((r.try_get::<String, _>("ssn_hash")?, self.person_from_row(r)?))).collect()
            }

            async fn credit_once(&self, credits: &[MonthlyCredit], at: DateTime<Utc>) -> StoreResult<Vec<bool>> {
                let at = ts(at);
                let mut tx = begin_write(&self.pool).await?;
                let mut new = std::collections::HashSet::new();
                for part in credits.chunks(rows_per_statement(6)) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO account_entries (person_hash, at, kind, amount_fen, reference, reason) ");
                    q.push_values(part, |mut b, c| {
                        b.push_bind(c.person_hash.as_str()).push_bind(at.as_str()).push_bind(yikatong_core::account::EntryKind::MonthlyCredit.as_str()).push_bind(c.amount_fen).push_bind(c.reference.as_str()).push_bind(c.reason.as_str());
                    });
                    q.push(" ON CONFLICT (person_hash, reference) WHERE kind = 'monthly_credit' DO NOTHING RETURNING person_hash, reference");
                    for r in q.build().persistent(false).fetch_all(&mut *tx).await? {
                        new.insert((r.try_get::<String, _>("person_hash")?, r.try_get::<String, _>("reference")?));
                    }
                }
                tx.commit().await?;
                // A person appears once per reference in a run, so the set answers for each.
                Ok(credits.iter().map(|c| new.remove(&(c.person_hash.clone(), c.reference.clone()))).collect())
            }

            async fn upsert_registry_rows(&self, rows: &[RegistryRow], at: DateTime<Utc>) -> StoreResult<u64> {
                let at = ts(at);
                let mut tx = begin_write(&self.pool).await?;
                // The last row of a person wins, as row-by-row upserts would have it.
                let mut last: std::collections::HashMap<String, &RegistryRow> = std::collections::HashMap::new();
                for r in rows {
                    last.insert(self.key.lookup_hash(&r.ssn), r);
                }
                let last: Vec<(String, &RegistryRow)> = last.into_iter().collect();
                for part in last.chunks(rows_per_statement(7)) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO registry_extract (ssn_hash, name_enc, gender, ethnicity, birth_date, photo_digest, loaded_at) ");
                    q.push_values(part, |mut b, (hash, r)| {
                        b.push_bind(hash.as_str()).push_bind(self.key.encrypt(&r.name)).push_bind(r.gender.as_str()).push_bind(r.ethnicity.as_str()).push_bind(r.birth_date.to_string()).push_bind(r.photo_digest.as_deref()).push_bind(at.as_str());
                    });
                    q.push(" ON CONFLICT (ssn_hash) DO UPDATE SET name_enc = excluded.name_enc, gender = excluded.gender, ethnicity = excluded.ethnicity, birth_date = excluded.birth_date, photo_digest = excluded.photo_digest, loaded_at = excluded.loaded_at");
                    q.build().persistent(false).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(rows.len() as u64)
            }

            async fn load_province_cards(&self, rows: &[(String, String, bool)], at: DateTime<Utc>) -> StoreResult<u64> {
                let at = ts(at);
                let mut last: std::collections::HashMap<String, (&str, bool)> = std::collections::HashMap::new();
                for (ssn, city, works) in rows {
                    last.insert(self.key.lookup_hash(ssn), (city.as_str(), *works));
                }
                let mut tx = begin_write(&self.pool).await?;
                for (hash, (city, works)) in &last {
                    if *works {
                        sqlx::query("INSERT INTO province_cards (ssn_hash, city_admdvs, loaded_at) VALUES ($1, $2, $3) ON CONFLICT (ssn_hash) DO UPDATE SET city_admdvs = excluded.city_admdvs, loaded_at = excluded.loaded_at")
                            .bind(hash)
                            .bind(*city)
                            .bind(at.as_str())
                            .execute(&mut *tx)
                            .await?;
                    } else {
                        sqlx::query("DELETE FROM province_cards WHERE ssn_hash = $1").bind(hash).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(rows.len() as u64)
            }

            async fn registry_row(&self, ssn: &str) -> StoreResult<Option<RegistryRow>> {
                let row = sqlx::query("SELECT * FROM registry_extract WHERE ssn_hash = $1").bind(self.key.lookup_hash(ssn)).fetch_optional(&self.pool).await?;
                row.map(|r| self.registry_from_row(ssn, &r)).transpose()
            }

            async fn save_comparison(&self, ssn: &str, marks: &serde_json::Value, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("INSERT INTO comparisons (ssn_hash, marks, compared_at) VALUES ($1, $2, $3) ON CONFLICT (ssn_hash) DO UPDATE SET marks = excluded.marks, compared_at = excluded.compared_at")
                    .bind(self.key.lookup_hash(ssn))
                    .bind(marks.to_string())
                    .bind(ts(at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn comparison(&self, ssn: &str) -> StoreResult<Option<(serde_json::Value, DateTime<Utc>)>> {
                let row = sqlx::query("SELECT marks, compared_at FROM comparisons WHERE ssn_hash = $1").bind(self.key.lookup_hash(ssn)).fetch_optional(&self.pool).await?;
                row.map(|r| {
                    let marks: String = r.try_get("marks")?;
                    Ok((serde_json::from_str(&marks).map_err(|e| StoreError::Corrupt(e.to_string()))?, parse_ts(&r.try_get::<String, _>("compared_at")?)?))
                })
                .transpose()
            }

            async fn compare_page(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, Person, Option<RegistryRow>)>> {
                // Two statements, each on its primary key: a join here lets PostgreSQL's
                // generic plan hash both million-row tables for every page.
                let persons = self.persons_page(after, limit).await?;
                let mut registry = std::collections::HashMap::with_capacity(persons.len());
                for part in persons.chunks(rows_per_statement(1)) {
                    let hashes = part.iter().map(|(hash, _)| hash);
                    for r in where_in("SELECT * FROM registry_extract WHERE ssn_hash", hashes).build().persistent(false).fetch_all(&self.pool).await? {
                        registry.insert(r.try_get::<String, _>("ssn_hash")?, r);
                    }
                }
                let mut page = Vec::with_capacity(persons.len());
                for (hash, person) in persons {
                    let row = registry.get(&hash).map(|r| self.registry_from_row(&person.ssn, r)).transpose()?;
                    page.push((hash, person, row));
                }
                Ok(page)
            }

            async fn save_comparisons(&self, marks: &[(String, serde_json::Value)], at: DateTime<Utc>) -> StoreResult<()> {
                let at = ts(at);
                let mut tx = begin_write(&self.pool).await?;
                for part in marks.chunks(rows_per_statement(3)) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO comparisons (ssn_hash, marks, compared_at) ");
                    q.push_values(part, |mut b, (hash, m)| {
                        b.push_bind(hash.as_str()).push_bind(m.to_string()).push_bind(at.as_str());
                    });
                    q.push(" ON CONFLICT (ssn_hash) DO UPDATE SET marks = excluded.marks, compared_at = excluded.compared_at");
                    q.build().persistent(false).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn refresh_statistics(&self, tables: &[&str]) -> StoreResult<()> {
                for table in tables {
                    if !table.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                        return Err(StoreError::Corrupt(format!("not a table name: {table:?}")));
                    }
                    sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}"))).execute(&self.pool).await?;
                }
                Ok(())
            }

            async fn insert_premium_payment(&self, p: &PremiumPayment) -> StoreResult<bool> {
                insert_premium_payment_in(&self.pool, p).await
            }

            async fn record_deduction(&self, d: &PremiumDeduction, at: DateTime<Utc>) -> StoreResult<()> {
                record_deduction_in(&self.pool, d, at).await
            }

            async fn premium_payments(&self, person_hash: &str) -> StoreResult<Vec<PremiumPayment>> {
                let rows = sqlx::query("SELECT * FROM premium_payments WHERE person_hash = $1 ORDER BY period, id").bind(person_hash).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        Ok(PremiumPayment {
                            person_hash: r.try_get("person_hash")?,
                            period: r.try_get("period")?,
                            amount_fen: r.try_get("amount_fen")?,
                            channel: r.try_get("channel")?,
                            payer_hash: r.try_get("payer_hash")?,
                            paid_at: parse_ts(&r.try_get::<String, _>("paid_at")?)?,
                            reference: r.try_get("reference")?,
                        })
                    })
                    .collect()
            }

            async fn failed_deductions(&self, person_hash: Option<&str>, period: Option<&str>) -> StoreResult<Vec<PremiumDeduction>> {
                let rows = sqlx::query("SELECT * FROM premium_deductions WHERE ok = $1 AND ($2 = '' OR person_hash = $2) AND ($3 = '' OR period = $3) ORDER BY period, person_hash")
                    .bind(false)
                    .bind(person_hash.unwrap_or(""))
                    .bind(period.unwrap_or(""))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| Ok(PremiumDeduction { person_hash: r.try_get("person_hash")?, period: r.try_get("period")?, ok: r.try_get("ok")?, reason: r.try_get("reason")? }))
                    .collect()
            }
        }

        #[async_trait]
        impl JobStore for $store {
            async fn interrupt_running_jobs(&self, at: DateTime<Utc>) -> StoreResult<u64> {
                Ok(sqlx::query("UPDATE jobs SET state = 'interrupted', updated_at = $1, finished_at = $1 WHERE state = 'running'").bind(ts(at)).execute(&self.pool).await?.rows_affected())
            }

            async fn create_job(&self, kind: &str, params: &serde_json::Value, total: i64, at: DateTime<Utc>) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("INSERT INTO jobs (kind, params, state, total, done, started_at, updated_at) VALUES ($1, $2, 'running', $3, 0, $4, $4) RETURNING id")
                    .bind(kind)
                    .bind(params.to_string())
                    .bind(total)
                    .bind(ts(at))
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn update_job(&self, id: i64, state: JobState, done: i64, report: Option<&serde_json::Value>, at: DateTime<Utc>) -> StoreResult<()> {
                let finished = (state != JobState::Running).then(|| ts(at));
                // Only a running job changes: a late progress report never reopens a finished one.
                sqlx::query("UPDATE jobs SET state = $1, done = $2, report = $3, updated_at = $4, finished_at = $5 WHERE id = $6 AND state = 'running'")
                    .bind(state.as_str())
                    .bind(done)
                    .bind(report.map(|r| r.to_string()))
                    .bind(ts(at))
                    .bind(finished)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn get_job(&self, id: i64) -> StoreResult<Option<JobRecord>> {
                let row = sqlx::query("SELECT * FROM jobs WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
                row.map(|r| {
                    let params: String = r.try_get("params")?;
                    let report: Option<String> = r.try_get("report")?;
                    Ok(JobRecord {
                        id: r.try_get("id")?,
                        kind: r.try_get("kind")?,
                        params: serde_json::from_str(&params).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        state: parse_closed("job state", &r.try_get::<String, _>("state")?, JobState::parse)?,
                        total: r.try_get("total")?,
                        done: r.try_get("done")?,
                        report: report.map(|t| serde_json::from_str(&t)).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        started_at: parse_ts(&r.try_get::<String, _>("started_at")?)?,
                        updated_at: parse_ts(&r.try_get::<String, _>("updated_at")?)?,
                        finished_at: r.try_get::<Option<String>, _>("finished_at")?.map(|t| parse_ts(&t)).transpose()?,
                    })
                })
                .transpose()
            }
        }
    };
}

pub(crate) use store_impl;
