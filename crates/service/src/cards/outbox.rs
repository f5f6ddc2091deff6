//! The outbox (R-EVT-1, R-EVT-2): the notices a card's life leaves for the bank, transit
//! and the park-pass operator, written in the card's own transaction. A relay (`ykt serve
//! --nats`) delivers the due ones to the broker and marks each delivered after the
//! broker's acknowledgement; `GET /v1/outbox` still reads them all.

use async_trait::async_trait;
use serde::Serialize;
use yikatong_core::access::{Operation, Principal};
use yikatong_core::card::parties::Party;
use yikatong_store::OutboxMessage;

use crate::{Service, ServiceResult};

/// What the broker knows of one party: its durable consumer's backlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerBacklog {
    pub party: Party,
    /// Notices in the stream the party has not yet been sent, and those sent and not yet
    /// acknowledged.
    pub pending: u64,
    /// When the party last took a notice, if ever.
    pub last_active: Option<chrono::DateTime<chrono::Utc>>,
}

/// The broker, as the service asks it (`ykt serve --nats`); none without `--nats`.
#[async_trait]
pub trait Broker: Send + Sync {
    /// Each party's backlog at the broker; an error when the broker cannot be reached.
    async fn backlogs(&self) -> Result<Vec<BrokerBacklog>, String>;
}

/// One party and what it has not yet applied (`GET /v1/consumers`, the operator's page).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PartyView {
    /// `bank`, `transit` or `park`.
    #[schema(value_type = String)]
    pub role: Party,
    pub name: String,
    /// Notices the party has yet to apply: those still in the outbox (due, not yet
    /// delivered to the broker) and those at the broker it has not acknowledged.
    pub backlog: u64,
    /// Of the backlog, those still in the outbox.
    pub undelivered: u64,
    /// Of the backlog, those at the broker; `None` when there is no broker or it cannot
    /// be reached (`broker`).
    pub at_broker: Option<u64>,
    /// Liftings of pre-losses written and not yet due.
    pub scheduled: u64,
    /// `none` (served without `--nats`), `reachable` or `unreachable: …`.
    pub broker: String,
    #[schema(value_type = Option<String>)]
    pub last_active: Option<chrono::DateTime<chrono::Utc>>,
}

impl Service {
    /// Up to `limit` messages after message `after` (operator, bank).
    pub async fn outbox(&self, who: &Principal, after: i64, limit: i64) -> ServiceResult<Vec<OutboxMessage>> {
        who.allow(Operation::ReadOutbox)?;
        Ok(self.store.outbox(after, limit).await?)
    }

    /// The relay's next notices: up to `limit` due now and not yet delivered, in the order
    /// they are to be delivered.
    pub async fn due_notices(&self, limit: i64) -> ServiceResult<Vec<OutboxMessage>> {
        Ok(self.store.due_notices(self.clock.now(), limit).await?)
    }

    /// The relay's record that the broker acknowledged these notices.
    pub async fn mark_delivered(&self, ids: &[i64]) -> ServiceResult<()> {
        Ok(self.store.mark_delivered(ids, self.clock.now()).await?)
    }

    /// R-EVT-2: each party by name with its backlog (operator, bank).
    pub async fn consumers(&self, who: &Principal) -> ServiceResult<Vec<PartyView>> {
        who.allow(Operation::ReadOutbox)?;
        let (due, scheduled) = self.store.undelivered_counts(self.clock.now()).await?;
        let undelivered = u64::try_from(due).unwrap_or(0);
        let scheduled = u64::try_from(scheduled).unwrap_or(0);
        let (broker, backlogs) = match &self.broker {
            None => ("none".to_string(), None),
            Some(b) => match b.backlogs().await {
                Ok(list) => ("reachable".to_string(), Some(list)),
                Err(e) => (format!("unreachable: {e}"), None),
            },
        };
        Ok(Party::ALL
            .iter()
            .map(|&party| {
                let at_broker = backlogs.as_ref().map(|l| l.iter().find(|b| b.party == party));
                let pending = at_broker.map(|b| b.map_or(0, |b| b.pending));
                PartyView {
                    role: party,
                    name: party.name().to_string(),
                    backlog: undelivered + pending.unwrap_or(0),
                    undelivered,
                    at_broker: pending,
                    scheduled,
                    broker: broker.clone(),
                    last_active: at_broker.flatten().and_then(|b| b.last_active),
                }
            })
            .collect())
    }
}
