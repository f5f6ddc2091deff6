//! The family mutual-aid account (共济账户, R-PAY-2): family members bound to a holder
//! whose personal account pays their resident premiums (a binding is written in a
//! transaction, `CardTx::bind_family_member`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StoreResult;

/// A family member bound to a holder's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyMember {
    pub member_hash: String,
    pub holder_hash: String,
    pub bound_at: DateTime<Utc>,
    /// Who bound them (`holder`, `clerk at O1`).
    pub bound_by: String,
}

#[async_trait]
pub trait FamilyStore: Send + Sync {
    async fn family_members_of(&self, holder_hash: &str) -> StoreResult<Vec<FamilyMember>>;
    /// Every binding, a page at a time after `after` (a member hash), in member order.
    async fn family_page(&self, after: &str, limit: i64) -> StoreResult<Vec<FamilyMember>>;
}
