//! [`crate::FilingStore`] on both databases, expanded in `sqlite.rs` and `postgres.rs`
//! (see `backend.rs`).

macro_rules! filings_impl {
    ($store:ident) => {
        use crate::filings::{Filing, FilingStore};

        fn filing_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<Filing> {
            let date = |col: &str, text: String| text.parse().map_err(|_| StoreError::Corrupt(format!("filings.{col} {text:?}")));
            Ok(Filing {
                id: r.try_get("id")?,
                care_admdvs: r.try_get("care_admdvs")?,
                kind: crate::records::parse_closed("filing kind", &r.try_get::<String, _>("kind")?, yikatong_core::settlement::cross_region::FilingKind::parse)?,
                valid_from: date("valid_from", r.try_get("valid_from")?)?,
                valid_to: r.try_get::<Option<String>, _>("valid_to")?.map(|t| date("valid_to", t)).transpose()?,
                recorded_by: r.try_get("recorded_by")?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
            })
        }

        #[async_trait]
        impl FilingStore for $store {
            async fn insert_filing(&self, person_hash: &str, f: &Filing) -> StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO filings (person_hash, care_admdvs, kind, valid_from, valid_to, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(person_hash)
                .bind(&f.care_admdvs)
                .bind(f.kind.as_str())
                .bind(f.valid_from.to_string())
                .bind(f.valid_to.map(|d| d.to_string()))
                .bind(&f.recorded_by)
                .bind(ts(f.created_at))
                .fetch_one(&self.pool)
                .await?)
            }

            async fn filings_of(&self, person_hash: &str) -> StoreResult<Vec<Filing>> {
                let rows = sqlx::query("SELECT * FROM filings WHERE person_hash = $1 ORDER BY valid_from, id").bind(person_hash).fetch_all(&self.pool).await?;
                rows.iter().map(filing_from_row).collect()
            }
        }
    };
}

pub(crate) use filings_impl;
