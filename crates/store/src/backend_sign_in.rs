//! [`crate::SignInStore`] on both databases, expanded in `sqlite.rs` and `postgres.rs`
//! (see `backend.rs`).

macro_rules! sign_in_impl {
    ($store:ident) => {
        use crate::sign_in::{PortalSession, QueuedMessage, SignInCode, SignInStore};

        fn portal_session_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<PortalSession> {
            Ok(PortalSession {
                part: r.try_get("part")?,
                token_id: r.try_get("token_id")?,
                csrf: r.try_get("csrf")?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                last_seen_at: parse_ts(&r.try_get::<String, _>("last_seen_at")?)?,
                ended_at: r.try_get::<Option<String>, _>("ended_at")?.map(|s| parse_ts(&s)).transpose()?,
            })
        }

        fn sign_in_code_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<SignInCode> {
            Ok(SignInCode {
                id: r.try_get("id")?,
                person_hash: r.try_get("person_hash")?,
                code_hash: r.try_get("code_hash")?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                expires_at: parse_ts(&r.try_get::<String, _>("expires_at")?)?,
                used_at: r.try_get::<Option<String>, _>("used_at")?.map(|s| parse_ts(&s)).transpose()?,
            })
        }

        #[async_trait]
        impl SignInStore for $store {
            async fn find_token_by_id(&self, id: i64) -> StoreResult<Option<TokenRecord>> {
                let row = sqlx::query("SELECT * FROM tokens WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
                row.map(|r| Self::token_from_row(&r)).transpose()
            }

            async fn insert_portal_session(&self, id_hash: &str, s: &PortalSession) -> StoreResult<()> {
                sqlx::query("INSERT INTO portal_sessions (id_hash, part, token_id, csrf, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(id_hash)
                    .bind(&s.part)
                    .bind(s.token_id)
                    .bind(&s.csrf)
                    .bind(ts(s.created_at))
                    .bind(ts(s.last_seen_at))
                    .execute(&self.pool)
                    .await
                    .map_err(unique("session"))?;
                Ok(())
            }

            async fn portal_session(&self, id_hash: &str) -> StoreResult<Option<PortalSession>> {
                let row = sqlx::query("SELECT * FROM portal_sessions WHERE id_hash = $1").bind(id_hash).fetch_optional(&self.pool).await?;
                row.map(|r| portal_session_from_row(&r)).transpose()
            }

            async fn touch_portal_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("UPDATE portal_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND ended_at IS NULL AND last_seen_at < $1")
                    .bind(ts(at))
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn end_portal_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE portal_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL").bind(ts(at)).bind(id_hash).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_sign_in_code(&self, person_hash: &str, code_hash: &str, at: DateTime<Utc>, expires_at: DateTime<Utc>) -> StoreResult<i64> {
                let mut tx = begin_write(&self.pool).await?;
                sqlx::query("UPDATE sign_in_codes SET used_at = $1 WHERE person_hash = $2 AND used_at IS NULL").bind(ts(at)).bind(person_hash).execute(&mut *tx).await?;
                let id: i64 = sqlx::query_scalar("INSERT INTO sign_in_codes (person_hash, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(person_hash)
                    .bind(code_hash)
                    .bind(ts(at))
                    .bind(ts(expires_at))
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn latest_sign_in_code(&self, person_hash: &str) -> StoreResult<Option<SignInCode>> {
                let row = sqlx::query("SELECT * FROM sign_in_codes WHERE person_hash = $1 ORDER BY id DESC LIMIT 1").bind(person_hash).fetch_optional(&self.pool).await?;
                row.map(|r| sign_in_code_from_row(&r)).transpose()
            }

            async fn use_sign_in_code(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE sign_in_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL").bind(ts(at)).bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn queue_message(&self, purpose: &str, phone: &str, body: &str, at: DateTime<Utc>) -> StoreResult<i64> {
                let id: i64 = sqlx::query_scalar("INSERT INTO messages (purpose, phone_enc, body_enc, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(purpose)
                    .bind(self.key.encrypt(phone))
                    .bind(self.key.encrypt(body))
                    .bind(ts(at))
                    .fetch_one(&self.pool)
                    .await?;
                Ok(id)
            }

            async fn messages(&self, after_id: i64, unsent: bool, limit: i64) -> StoreResult<Vec<QueuedMessage>> {
                let sql = if unsent {
                    "SELECT * FROM messages WHERE id > $1 AND sent_at IS NULL ORDER BY id LIMIT $2"
                } else {
                    "SELECT * FROM messages WHERE id > $1 ORDER BY id LIMIT $2"
                };
                let rows = sqlx::query(sql).bind(after_id).bind(limit).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        Ok(QueuedMessage {
                            id: r.try_get("id")?,
                            purpose: r.try_get("purpose")?,
                            phone: self.key.decrypt(&r.try_get::<Vec<u8>, _>("phone_enc")?)?,
                            body: self.key.decrypt(&r.try_get::<Vec<u8>, _>("body_enc")?)?,
                            created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
                            sent_at: r.try_get::<Option<String>, _>("sent_at")?.map(|s| parse_ts(&s)).transpose()?,
                        })
                    })
                    .collect()
            }

            async fn mark_message_sent(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE messages SET sent_at = $1 WHERE id = $2 AND sent_at IS NULL").bind(ts(at)).bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use sign_in_impl;
