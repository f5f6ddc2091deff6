//! Helpers of the settlement part of the store (row mapping, the year-totals lock,
//! catalogue upserts), expanded in `sqlite.rs` and `postgres.rs`; the `Store` and
//! `CardTx` methods that use them are in `backend.rs` and `backend_cards.rs`, since
//! `#[async_trait]` must see every method of an impl.

macro_rules! settlement_impl {
    () => {
        use yikatong_core::money::Fen;
        use yikatong_core::settlement::{CatalogEntry, CatalogItem, ItemClass, ItemKind, YearTotals, entry_in_force};

        use crate::{AccountEntry, ReimbursementClaim, SettlementRecord, StoredFeeLine, VisitRecord, WorkInjuryClaim};

        fn json_col(row: &<Db as sqlx::Database>::Row, col: &str) -> StoreResult<serde_json::Value> {
            let text: String = row.try_get(col)?;
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
        }

        fn item_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<CatalogItem> {
            let bad = |e: yikatong_core::Refusal| StoreError::Corrupt(e.message);
            Ok(CatalogItem {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                kind: ItemKind::parse(&r.try_get::<String, _>("kind")?).map_err(bad)?,
                class: ItemClass::parse(&r.try_get::<String, _>("class")?).map_err(bad)?,
                price_ceiling_fen: r.try_get("price_ceiling_fen")?,
            })
        }

        /// `valid_from` of the entry in force always, and `region` of the
        /// region-independent entry.
        const ALWAYS: &str = "0001-01-01";

        fn catalog_entry_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<CatalogEntry> {
            let region: String = r.try_get("region")?;
            let from: String = r.try_get("valid_from")?;
            let valid_from = if from == ALWAYS { None } else { Some(from.parse().map_err(|_| StoreError::Corrupt(format!("catalog_items.valid_from {from:?}")))?) };
            Ok(CatalogEntry { item: item_from_row(r)?, region: Some(region).filter(|r| !r.is_empty()), valid_from })
        }

        /// Of the rows read for `codes`, each code's item in force (in the codes' order).
        fn in_force(rows: &[<Db as sqlx::Database>::Row], region: &str, on: chrono::NaiveDate) -> StoreResult<Vec<CatalogItem>> {
            let entries = rows.iter().map(catalog_entry_from_row).collect::<StoreResult<Vec<_>>>()?;
            Ok(entries_in_force(&entries, region, on))
        }

        /// Of these entries, each code's item in force (in the codes' order).
        fn entries_in_force(entries: &[CatalogEntry], region: &str, on: chrono::NaiveDate) -> Vec<CatalogItem> {
            let mut by_code: std::collections::BTreeMap<&str, Vec<&CatalogEntry>> = std::collections::BTreeMap::new();
            for e in entries {
                by_code.entry(e.item.code.as_str()).or_default().push(e);
            }
            by_code.into_values().filter_map(|es| entry_in_force(es, region, on)).map(|e| e.item.clone()).collect()
        }

        fn reimbursement_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<ReimbursementClaim> {
            let opt_ts = |c: &str| -> StoreResult<Option<DateTime<Utc>>> { r.try_get::<Option<String>, _>(c)?.map(|s| parse_ts(&s)).transpose() };
            let due: Option<String> = r.try_get("due_on")?;
            Ok(ReimbursementClaim {
                id: r.try_get("id")?,
                person_hash: r.try_get("person_hash")?,
                amount_fen: r.try_get("amount_fen")?,
                state: crate::records::parse_closed("claim state", &r.try_get::<String, _>("state")?, yikatong_core::settlement::manual::ClaimState::parse)?,
                due_on: due.map(|d| d.parse().map_err(|_| StoreError::Corrupt(format!("reimbursement_claims.due_on {d:?}")))).transpose()?,
                submitted_by: r.try_get("submitted_by")?,
                approved_by: r.try_get("approved_by")?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                approved_at: opt_ts("approved_at")?,
                failure_reason: r.try_get("failure_reason")?,
            })
        }

        fn claim_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<WorkInjuryClaim> {
            Ok(WorkInjuryClaim {
                claim_id: r.try_get("claim_id")?,
                setl_id: r.try_get("setl_id")?,
                mdtrt_id: r.try_get("mdtrt_id")?,
                person_hash: r.try_get("person_hash")?,
                institution: r.try_get("institution")?,
                total_fen: r.try_get("total_fen")?,
                cash_due_fen: r.try_get("cash_due_fen")?,
                lines: json_col(r, "lines")?,
                state: r.try_get("state")?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
            })
        }

        fn visit_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<VisitRecord> {
            Ok(VisitRecord {
                mdtrt_id: r.try_get("mdtrt_id")?,
                institution: r.try_get("institution")?,
                person_hash: r.try_get("person_hash")?,
                card_id: r.try_get("card_id")?,
                ipt_otp_no: r.try_get("ipt_otp_no")?,
                state: crate::records::parse_closed("visit state", &r.try_get::<String, _>("state")?, yikatong_core::settlement::VisitState::parse)?,
                data: json_col(r, "data")?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
            })
        }

        fn line_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<StoredFeeLine> {
            Ok(StoredFeeLine {
                sn: r.try_get("sn")?,
                chrg_bchno: r.try_get("chrg_bchno")?,
                code: r.try_get("code")?,
                qty_e4: r.try_get("qty_e4")?,
                price_e6: r.try_get("price_e6")?,
                amount_fen: r.try_get("amount_fen")?,
                setl_id: r.try_get("setl_id")?,
            })
        }

        fn settlement_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<SettlementRecord> {
            Ok(SettlementRecord {
                setl_id: r.try_get("setl_id")?,
                mdtrt_id: r.try_get("mdtrt_id")?,
                institution: r.try_get("institution")?,
                person_hash: r.try_get("person_hash")?,
                kind: crate::records::parse_closed("settlement kind", &r.try_get::<String, _>("kind")?, yikatong_core::settlement::SettlementKind::parse)?,
                state: crate::records::parse_closed("settlement state", &r.try_get::<String, _>("state")?, yikatong_core::settlement::SettlementState::parse)?,
                visit_date: parse_date(&r.try_get::<String, _>("visit_date")?)?,
                year: r.try_get("year")?,
                receipt: json_col(r, "receipt")?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                reversed_at: r.try_get::<Option<String>, _>("reversed_at")?.map(|s| parse_ts(&s)).transpose()?,
                cross_region: match r.try_get::<Option<String>, _>("xreg_side")? {
                    None => None,
                    Some(side) => Some(yikatong_core::settlement::CrossRegion {
                        care_admdvs: r.try_get::<Option<String>, _>("care_admdvs")?.unwrap_or_default(),
                        insured_admdvs: r.try_get::<Option<String>, _>("insured_admdvs")?.unwrap_or_default(),
                        side: crate::records::parse_closed("cross-region side", &side, yikatong_core::settlement::Side::parse)?,
                    }),
                },
            })
        }

        fn entry_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<AccountEntry> {
            Ok(AccountEntry {
                id: r.try_get("id")?,
                at: parse_ts(&r.try_get::<String, _>("at")?)?,
                kind: crate::records::parse_closed("account entry kind", &r.try_get::<String, _>("kind")?, yikatong_core::account::EntryKind::parse)?,
                amount_fen: r.try_get("amount_fen")?,
                reference: r.try_get("reference")?,
                reason: r.try_get("reason")?,
            })
        }

        fn totals_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<YearTotals> {
            Ok(YearTotals {
                deductible_used: Fen(r.try_get("deductible_used")?),
                fund_paid: Fen(r.try_get("fund_paid")?),
                insured_used: Fen(r.try_get("insured_used")?),
                by_fund: serde_json::from_str(&r.try_get::<String, _>("by_fund")?).map_err(|e| StoreError::Corrupt(format!("year_totals.by_fund: {e}")))?,
            })
        }

        impl BackendCardTx {
            /// One statement creates the row when missing and locks it (an upsert's
            /// update takes the row lock on PostgreSQL; SQLite's write lock is held).
            async fn tx_lock_year_totals(&mut self, person_hash: &str, year: i64) -> StoreResult<YearTotals> {
                let row = sqlx::query("INSERT INTO year_totals (person_hash, year, deductible_used, fund_paid, insured_used) VALUES ($1, $2, 0, 0, 0) ON CONFLICT (person_hash, year) DO UPDATE SET deductible_used = year_totals.deductible_used RETURNING deductible_used, fund_paid, insured_used, by_fund")
                    .bind(person_hash)
                    .bind(year)
                    .fetch_one(&mut *self.tx)
                    .await?;
                totals_from_row(&row)
            }
        }

        /// Upserts in multi-row statements of 500 (an entry repeated in the input: the
        /// last one wins).
        async fn upsert_entries(pool: &sqlx::Pool<Db>, entries: &[CatalogEntry], at: DateTime<Utc>) -> StoreResult<u64> {
            let key = |e: &CatalogEntry| (e.item.code.clone(), e.region.clone().unwrap_or_default(), e.valid_from.map_or_else(|| ALWAYS.to_string(), |d| d.to_string()));
            let mut last: std::collections::BTreeMap<(String, String, String), &CatalogEntry> = std::collections::BTreeMap::new();
            for e in entries {
                last.insert(key(e), e);
            }
            let unique: Vec<((String, String, String), &CatalogEntry)> = last.into_iter().collect();
            let stamp = ts(at);
            let mut tx = begin_write(pool).await?;
            for chunk in unique.chunks(500) {
                let rows: Vec<String> = (0..chunk.len()).map(|r| {
                    let b = r * 8;
                    format!("(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8)
                }).collect();
                let sql = format!(
                    "INSERT INTO catalog_items (code, region, valid_from, name, kind, class, price_ceiling_fen, updated_at) VALUES {} ON CONFLICT (code, region, valid_from) DO UPDATE SET name = excluded.name, kind = excluded.kind, class = excluded.class, price_ceiling_fen = excluded.price_ceiling_fen, updated_at = excluded.updated_at",
                    rows.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for ((code, region, from), e) in chunk {
                    let i = &e.item;
                    q = q.bind(code).bind(region).bind(from).bind(&i.name).bind(i.kind.as_str()).bind(i.class.as_str()).bind(i.price_ceiling_fen).bind(&stamp);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(unique.len() as u64)
        }
    };
}

pub(crate) use settlement_impl;
