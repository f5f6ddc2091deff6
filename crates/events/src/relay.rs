//! The outbox's relay (R-EVT-1): due notices to the stream, each marked delivered after
//! the broker acknowledged it.
//!
//! Order for one card holds because at most one notice of a card is in flight at a
//! time: of the due notices, in their order, each round sends the first of every card
//! together and waits for the broker's acknowledgements; a card's next notice goes in a
//! later round. A notice whose acknowledgement was lost is sent again; the broker drops
//! the copy by its `Nats-Msg-Id` (the outbox id), and a party applies a notice once by
//! that id whatever reaches it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::message::PublishMessage;
use yikatong_service::{OutboxMessage, Service};

/// How the relay paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Notices read from the outbox at a time.
    pub batch: i64,
    /// The wait when nothing is due.
    pub idle: Duration,
    /// The longest wait between tries while the broker is away.
    pub max_backoff: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace { batch: 500, idle: Duration::from_millis(100), max_backoff: Duration::from_secs(2) }
    }
}

pub struct Relay {
    service: Arc<Service>,
    js: jetstream::Context,
    replicas: usize,
    pace: Pace,
}

impl Relay {
    pub fn new(service: Arc<Service>, js: jetstream::Context, replicas: usize, pace: Pace) -> Relay {
        Relay { service, js, replicas, pace }
    }

    /// Runs until the task is dropped: declares the stream and the parties' consumers,
    /// then delivers; while the broker is away it tries again with a growing wait, and
    /// catches up when it returns.
    pub async fn run(self) {
        let mut backoff = self.pace.idle;
        let mut declared = false;
        loop {
            let step = if declared {
                self.deliver_once().await
            } else {
                crate::declare(&self.js, self.replicas).await.map(|_| {
                    declared = true;
                    0
                })
            };
            match step {
                Ok(0) => {
                    backoff = self.pace.idle;
                    tokio::time::sleep(self.pace.idle).await;
                }
                Ok(_) => backoff = self.pace.idle,
                Err(e) => {
                    tracing::warn!(error = %e, "the relay could not deliver; trying again");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.pace.max_backoff);
                }
            }
        }
    }

    /// One round: the first due notice of every card, sent together; those the broker
    /// acknowledged are marked delivered. Returns how many were.
    pub async fn deliver_once(&self) -> Result<usize, String> {
        let due = self.service.due_notices(self.pace.batch).await.map_err(|e| e.to_string())?;
        let mut cards = HashSet::new();
        let round: Vec<&OutboxMessage> = due.iter().filter(|m| cards.insert(m.card_id)).collect();
        let mut in_flight = Vec::with_capacity(round.len());
        let mut failure = None;
        for m in round {
            let (subject, body) = message(m)?;
            match self.js.send_publish(subject, PublishMessage::build().payload(body.into()).message_id(m.id.to_string())).await {
                Ok(ack) => in_flight.push((m.id, ack)),
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        let mut acknowledged = Vec::with_capacity(in_flight.len());
        for (id, ack) in in_flight {
            match ack.await {
                Ok(_) => acknowledged.push(id),
                Err(e) => failure = failure.or(Some(e.to_string())),
            }
        }
        self.service.mark_delivered(&acknowledged).await.map_err(|e| e.to_string())?;
        match failure {
            Some(e) => Err(e),
            None => Ok(acknowledged.len()),
        }
    }
}

/// The subject and body of an outbox row: the notice with its stable `id` and `topic`.
pub fn message(m: &OutboxMessage) -> Result<(String, Vec<u8>), String> {
    let mut body = m.payload.clone();
    let serde_json::Value::Object(fields) = &mut body else { return Err(format!("outbox row {} is not a notice", m.id)) };
    let region = fields.get("region").and_then(serde_json::Value::as_str).unwrap_or("unknown").to_string();
    fields.insert("id".into(), m.id.into());
    fields.insert("topic".into(), m.topic.clone().into());
    Ok((crate::subject(&region, &m.topic), serde_json::to_vec(&body).map_err(|e| e.to_string())?))
}
