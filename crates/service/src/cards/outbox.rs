//! The outbox (R-EVT-1): the messages a card's life leaves for banks and transit
//! (blocking, unblocking, replacement, cancellation), in the order they were written.

use yikatong_core::access::{Operation, Principal};
use yikatong_store::OutboxMessage;

use crate::{Service, ServiceResult};

impl Service {
    /// Up to `limit` messages after message `after` (operator, bank).
    pub async fn outbox(&self, who: &Principal, after: i64, limit: i64) -> ServiceResult<Vec<OutboxMessage>> {
        who.allow(Operation::ReadOutbox)?;
        Ok(self.store.outbox(after, limit).await?)
    }
}
