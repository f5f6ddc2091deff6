//! The link between regions' deployments (SPEC §11, ARCHITECTURE §6): request/reply over
//! the NATS cluster the regions share. A region's deployment answers on
//! `ykt.<region>.xreg` in the queue group `ykt-<region>` (several processes of one region
//! share its calls); another region's deployment asks there
//! ([`yikatong_service::RegionLink`]). Core NATS requests, not the stream: a call is
//! answered now or not at all, and a repeated call is made safe by its key at the
//! insured region, not by the broker.

use std::sync::Arc;
use std::time::Duration;

use async_nats::RequestErrorKind;
use async_trait::async_trait;
use futures_util::StreamExt;
use yikatong_service::{LinkError, RegionLink, Service};

/// The subject a region's deployment answers calls on.
pub fn call_subject(region: &str) -> String {
    format!("ykt.{region}.xreg")
}

/// Asks other regions over NATS; a call not answered within `timeout` is a
/// [`LinkError::Timeout`], a region with no deployment listening a
/// [`LinkError::Unreachable`] (the broker says so at once).
pub struct NatsRegionLink {
    client: async_nats::Client,
    timeout: Duration,
}

impl NatsRegionLink {
    pub fn new(client: async_nats::Client, timeout: Duration) -> NatsRegionLink {
        NatsRegionLink { client, timeout }
    }
}

#[async_trait]
impl RegionLink for NatsRegionLink {
    async fn call(&self, region: &str, call: Vec<u8>) -> Result<Vec<u8>, LinkError> {
        let request = async_nats::Request::new().payload(call.into()).timeout(Some(self.timeout));
        match self.client.send_request(call_subject(region), request).await {
            Ok(message) => Ok(message.payload.to_vec()),
            Err(e) => match e.kind() {
                RequestErrorKind::NoResponders => Err(LinkError::Unreachable("no deployment of the region is listening".into())),
                RequestErrorKind::TimedOut => Err(LinkError::Timeout(format!("no answer within {} ms", self.timeout.as_millis()))),
                // Whether the call left this process is unknown: the same as no answer.
                _ => Err(LinkError::Timeout(e.to_string())),
            },
        }
    }
}

/// Listens for the calls of other regions for the holders `region` insures: once this
/// returns, the broker sends them here (so a deployment says it serves only after it).
pub async fn listen_for_calls(client: &async_nats::Client, region: &str) -> Result<async_nats::Subscriber, String> {
    let calls = client.queue_subscribe(call_subject(region), format!("ykt-{region}")).await.map_err(|e| format!("cannot listen for other regions' calls: {e}"))?;
    client.flush().await.map_err(|e| format!("cannot listen for other regions' calls: {e}"))?;
    tracing::info!(region, "answering other regions' calls");
    Ok(calls)
}

/// Answers the calls `calls` receives ([`listen_for_calls`]) until the connection
/// closes. Each call is answered in a task of its own.
pub async fn answer_calls(client: async_nats::Client, service: Arc<Service>, mut calls: async_nats::Subscriber) {
    while let Some(message) = calls.next().await {
        let (client, service) = (client.clone(), service.clone());
        tokio::spawn(async move {
            let answer = service.answer_region_call(&message.payload).await;
            if let Some(reply) = message.reply
                && let Err(e) = client.publish(reply, answer.into()).await
            {
                tracing::warn!(error = %e, "could not answer another region's call");
            }
        });
    }
}
