//! [`crate::DesignatedStore`] on both databases, expanded in `sqlite.rs` and
//! `postgres.rs` (see `backend.rs`).

macro_rules! designated_impl {
    ($store:ident) => {
        use crate::designated::{ChoiceCounts, DesignatedChoice, DesignatedStore};

        fn choice_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<DesignatedChoice> {
            let from: String = r.try_get("valid_from")?;
            Ok(DesignatedChoice {
                valid_from: from.parse().map_err(|_| StoreError::Corrupt(format!("designated_choices.valid_from {from:?}")))?,
                institutions: serde_json::from_str(&r.try_get::<String, _>("institutions")?).map_err(|e| StoreError::Corrupt(format!("designated_choices.institutions: {e}")))?,
                chosen_by: r.try_get("chosen_by")?,
                created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
            })
        }

        #[async_trait]
        impl DesignatedStore for $store {
            async fn set_designated_choice(&self, person_hash: &str, c: &DesignatedChoice) -> StoreResult<()> {
                let institutions = serde_json::to_string(&c.institutions).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO designated_choices (person_hash, valid_from, institutions, chosen_by, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (person_hash, valid_from) DO UPDATE SET institutions = excluded.institutions, chosen_by = excluded.chosen_by, created_at = excluded.created_at",
                )
                .bind(person_hash)
                .bind(c.valid_from.to_string())
                .bind(institutions)
                .bind(&c.chosen_by)
                .bind(ts(c.created_at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn designated_choices(&self, person_hash: &str) -> StoreResult<Vec<DesignatedChoice>> {
                let rows = sqlx::query("SELECT * FROM designated_choices WHERE person_hash = $1 ORDER BY valid_from").bind(person_hash).fetch_all(&self.pool).await?;
                rows.iter().map(choice_from_row).collect()
            }

            async fn designated_choice_counts(&self) -> StoreResult<Vec<ChoiceCounts>> {
                let rows = sqlx::query(
                    "SELECT p.region AS region, COUNT(*) AS persons, COUNT(d.person_hash) AS with_choice FROM persons p \
                     LEFT JOIN (SELECT DISTINCT person_hash FROM designated_choices) d ON d.person_hash = p.ssn_hash GROUP BY p.region ORDER BY p.region",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| Ok(ChoiceCounts { region: r.try_get("region")?, persons: r.try_get("persons")?, with_choice: r.try_get("with_choice")? })).collect()
            }
        }
    };
}

pub(crate) use designated_impl;
