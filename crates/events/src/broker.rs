//! The service's view of the broker: each party's backlog (R-EVT-2, `GET /v1/consumers`).

use async_nats::jetstream;
use async_trait::async_trait;
use yikatong_core::card::parties::Party;
use yikatong_service::{Broker, BrokerBacklog};

/// The broker behind `ykt serve --nats`.
pub struct NatsBroker {
    pub js: jetstream::Context,
}

#[async_trait]
impl Broker for NatsBroker {
    async fn backlogs(&self) -> Result<Vec<BrokerBacklog>, String> {
        let stream = self.js.get_stream(crate::STREAM).await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for party in Party::ALL {
            let info = stream.consumer_info(party.as_str()).await.map_err(|e| e.to_string())?;
            out.push(BrokerBacklog {
                party: *party,
                pending: info.num_pending + info.num_ack_pending as u64,
                last_active: info.delivered.last_active.and_then(|t| chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())),
            });
        }
        Ok(out)
    }
}
