//! Card events over NATS JetStream (SPEC §12, R-EVT-1, R-EVT-2).
//!
//! - [`relay`]: `ykt serve --nats` delivers the outbox's due notices to the stream, one
//!   subject per region and topic (`ykt.<region>.card.<topic>`), with the outbox id as
//!   `Nats-Msg-Id` so that the broker drops a duplicate, and marks each delivered only
//!   after the broker's acknowledgement.
//! - [`consumer`]: a party (`ykt consume --role bank|transit|park`) takes the notices from
//!   its durable consumer with explicit acks and keeps its own blocklist, applying each
//!   notice once however often it is delivered.
//! - [`broker`]: what the service asks the broker (each party's backlog).
//!
//! The stream keeps a notice until every party has acknowledged it (interest retention),
//! and the relay declares the parties' durable consumers before it delivers anything, so
//! a party that was away receives everything it missed.

pub mod broker;
pub mod consumer;
pub mod regions;
pub mod relay;

use std::time::Duration;

use async_nats::jetstream;
use yikatong_core::card::parties::Party;

/// The stream of card notices.
pub const STREAM: &str = "YKT_CARD_EVENTS";
/// Every region's card notices.
pub const SUBJECTS: &str = "ykt.*.card.>";

/// The subject of a notice: `ykt.<region>.card.<topic>` (`topic` is `card.<…>`).
pub fn subject(region: &str, topic: &str) -> String {
    format!("ykt.{region}.{topic}")
}

/// A connection to the broker at `url` (several servers of a cluster separated by
/// commas) that keeps trying to reconnect, and its JetStream context.
pub async fn connect(url: &str) -> Result<(async_nats::Client, jetstream::Context), String> {
    let servers: Vec<&str> = url.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(Duration::from_secs(2))
        .request_timeout(Some(Duration::from_secs(5)))
        .connect(servers)
        .await
        .map_err(|e| format!("cannot connect to NATS at {url}: {e}"))?;
    let js = jetstream::new(client.clone());
    Ok((client, js))
}

/// The stream (made when missing; `replicas` copies in a cluster) and a durable pull
/// consumer for each party, so that notices are kept for a party before it first comes.
pub async fn declare(js: &jetstream::Context, replicas: usize) -> Result<jetstream::stream::Stream, String> {
    let stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: STREAM.into(),
            subjects: vec![SUBJECTS.into()],
            retention: jetstream::stream::RetentionPolicy::Interest,
            storage: jetstream::stream::StorageType::File,
            num_replicas: replicas.max(1),
            duplicate_window: Duration::from_mins(2),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("cannot declare the stream {STREAM}: {e}"))?;
    for party in Party::ALL {
        stream.get_or_create_consumer(party.as_str(), consumer_config(*party)).await.map_err(|e| format!("cannot declare the consumer {party}: {e}"))?;
    }
    Ok(stream)
}

/// A party's durable consumer: every card notice, explicit acks, one notice in flight at
/// a time. The broker keeps no order across a redelivery (a notice sent to a party that
/// stopped before acknowledging it comes again only after `ack_wait`), so it sends the
/// next notice only once the last is acknowledged: a card's notices are applied in the
/// order they were written.
fn consumer_config(party: Party) -> jetstream::consumer::pull::Config {
    jetstream::consumer::pull::Config {
        durable_name: Some(party.as_str().into()),
        description: Some(party.name().into()),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(5),
        max_ack_pending: 1,
        filter_subject: SUBJECTS.into(),
        ..Default::default()
    }
}
