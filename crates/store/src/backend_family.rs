//! [`crate::FamilyStore`] on both databases, expanded in `sqlite.rs` and `postgres.rs`
//! (see `backend.rs`).

macro_rules! family_impl {
    ($store:ident) => {
        use crate::family::{FamilyMember, FamilyStore};

        fn member_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<FamilyMember> {
            Ok(FamilyMember {
                member_hash: r.try_get("member_hash")?,
                holder_hash: r.try_get("holder_hash")?,
                bound_at: parse_ts(&r.try_get::<String, _>("bound_at")?)?,
                bound_by: r.try_get("bound_by")?,
            })
        }

        #[async_trait]
        impl FamilyStore for $store {
            async fn family_members_of(&self, holder_hash: &str) -> StoreResult<Vec<FamilyMember>> {
                let rows = sqlx::query("SELECT * FROM family_members WHERE holder_hash = $1 ORDER BY bound_at, member_hash").bind(holder_hash).fetch_all(&self.pool).await?;
                rows.iter().map(member_from_row).collect()
            }

            async fn family_page(&self, after: &str, limit: i64) -> StoreResult<Vec<FamilyMember>> {
                let rows = sqlx::query("SELECT * FROM family_members WHERE member_hash > $1 ORDER BY member_hash LIMIT $2").bind(after).bind(limit).fetch_all(&self.pool).await?;
                rows.iter().map(member_from_row).collect()
            }
        }
    };
}

pub(crate) use family_impl;
