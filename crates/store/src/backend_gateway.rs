//! [`crate::GatewayStore`] on both databases, expanded in `sqlite.rs` and `postgres.rs`
//! (see `backend.rs`).

macro_rules! gateway_impl {
    ($store:ident) => {
        use crate::gateway::{GatewayStore, HisCredential};

        impl $store {
            fn his_credential_from_row(&self, r: &<Db as sqlx::Database>::Row) -> StoreResult<HisCredential> {
                Ok(HisCredential {
                    id: r.try_get("id")?,
                    paasid: r.try_get("paasid")?,
                    institution: r.try_get("institution")?,
                    secret: self.key.decrypt(&r.try_get::<Vec<u8>, _>("secret_enc")?)?,
                    created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                    revoked_at: r.try_get::<Option<String>, _>("revoked_at")?.map(|s| parse_ts(&s)).transpose()?,
                })
            }
        }

        #[async_trait]
        impl GatewayStore for $store {
            async fn insert_his_credential(&self, paasid: &str, institution: &str, secret: &str, at: DateTime<Utc>) -> StoreResult<i64> {
                let id: i64 = sqlx::query_scalar("INSERT INTO his_credentials (paasid, institution, secret_enc, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(paasid)
                    .bind(institution)
                    .bind(self.key.encrypt(secret))
                    .bind(ts(at))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(unique("access id"))?;
                Ok(id)
            }

            async fn his_credential(&self, paasid: &str) -> StoreResult<Option<HisCredential>> {
                let row = sqlx::query("SELECT * FROM his_credentials WHERE paasid = $1").bind(paasid).fetch_optional(&self.pool).await?;
                row.map(|r| self.his_credential_from_row(&r)).transpose()
            }

            async fn list_his_credentials(&self) -> StoreResult<Vec<HisCredential>> {
                let rows = sqlx::query("SELECT * FROM his_credentials ORDER BY id").fetch_all(&self.pool).await?;
                rows.iter().map(|r| self.his_credential_from_row(r)).collect()
            }

            async fn revoke_his_credential(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE his_credentials SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(ts(at)).bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_nonce(&self, paasid: &str, nonce: &str, at: DateTime<Utc>, forget_before: DateTime<Utc>) -> StoreResult<bool> {
                let mut tx = begin_write(&self.pool).await?;
                sqlx::query("DELETE FROM his_nonces WHERE seen_at < $1").bind(ts(forget_before)).execute(&mut *tx).await?;
                let inserted = sqlx::query("INSERT INTO his_nonces (paasid, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT (paasid, nonce) DO NOTHING")
                    .bind(paasid)
                    .bind(nonce)
                    .bind(ts(at))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(inserted == 1)
            }
        }
    };
}

pub(crate) use gateway_impl;
