//! [`crate::HisStore`] on both databases, expanded in `sqlite.rs` and `postgres.rs`
//! (see `backend.rs`).

macro_rules! his_impl {
    ($store:ident) => {
        use crate::his::{HisFile, HisStore, Voucher};

        fn voucher_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<Voucher> {
            let opt_ts = |c: &str| -> StoreResult<Option<DateTime<Utc>>> { r.try_get::<Option<String>, _>(c)?.map(|s| parse_ts(&s)).transpose() };
            Ok(Voucher {
                id: r.try_get("id")?,
                person_hash: r.try_get("person_hash")?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                expires_at: parse_ts(&r.try_get::<String, _>("expires_at")?)?,
                read_by: r.try_get("read_by")?,
                used_at: opt_ts("used_at")?,
                mdtrt_id: r.try_get("mdtrt_id")?,
            })
        }

        #[async_trait]
        impl HisStore for $store {
            async fn insert_voucher(&self, code_hash: &str, person_hash: &str, created_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> StoreResult<i64> {
                let id: i64 = sqlx::query_scalar("INSERT INTO vouchers (code_hash, person_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(code_hash)
                    .bind(person_hash)
                    .bind(ts(created_at))
                    .bind(ts(expires_at))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(unique("voucher code"))?;
                Ok(id)
            }

            async fn voucher(&self, code_hash: &str) -> StoreResult<Option<Voucher>> {
                let row = sqlx::query("SELECT * FROM vouchers WHERE code_hash = $1").bind(code_hash).fetch_optional(&self.pool).await?;
                row.map(|r| voucher_from_row(&r)).transpose()
            }

            async fn mark_voucher_read(&self, code_hash: &str, institution: &str) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE vouchers SET read_by = $1 WHERE code_hash = $2 AND used_at IS NULL AND (read_by IS NULL OR read_by = $1)").bind(institution).bind(code_hash).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_his_file(&self, f: &HisFile) -> StoreResult<()> {
                sqlx::query("INSERT INTO his_files (file_qury_no, institution, filename, content, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&f.file_qury_no)
                    .bind(&f.institution)
                    .bind(&f.filename)
                    .bind(&f.content)
                    .bind(ts(f.created_at))
                    .execute(&self.pool)
                    .await
                    .map_err(unique(format!("file {}", f.file_qury_no)))?;
                Ok(())
            }

            async fn his_file(&self, file_qury_no: &str, institution: &str) -> StoreResult<Option<HisFile>> {
                let row = sqlx::query("SELECT * FROM his_files WHERE file_qury_no = $1 AND institution = $2").bind(file_qury_no).bind(institution).fetch_optional(&self.pool).await?;
                row.map(|r| -> StoreResult<HisFile> {
                    Ok(HisFile {
                        file_qury_no: r.try_get("file_qury_no")?,
                        institution: r.try_get("institution")?,
                        filename: r.try_get("filename")?,
                        content: r.try_get("content")?,
                        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                    })
                })
                .transpose()
            }

            async fn visit_card_of(&self, institution: &str, person_hash: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT visit_card_no FROM visit_cards WHERE institution = $1 AND person_hash = $2").bind(institution).bind(person_hash).fetch_optional(&self.pool).await?)
            }

            async fn settlements_of_institution(&self, institution: &str, kind: yikatong_core::settlement::SettlementKind, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<SettlementRecord>> {
                let rows = sqlx::query(
                    "SELECT * FROM settlements WHERE institution = $1 AND kind = $2 AND ((created_at >= $3 AND created_at < $4) OR (reversed_at >= $3 AND reversed_at < $4)) ORDER BY created_at, setl_id",
                )
                .bind(institution)
                .bind(kind.as_str())
                .bind(ts(from))
                .bind(ts(to))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(settlement_from_row).collect()
            }

            async fn cross_region_settlements(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<Vec<SettlementRecord>> {
                let rows = sqlx::query(
                    "SELECT * FROM settlements WHERE xreg_side IS NOT NULL AND ((created_at >= $1 AND created_at < $2) OR (reversed_at >= $1 AND reversed_at < $2)) ORDER BY created_at, setl_id",
                )
                .bind(ts(from))
                .bind(ts(to))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(settlement_from_row).collect()
            }
        }
    };
}

pub(crate) use his_impl;
