//! Messages to people's phones (短信 SMS). The service hands a message to a
//! [`Notifier`]; the real one, [`OutboxNotifier`], writes it to the `messages` table,
//! from which the SMS gateway sends it (`GET /v1/messages`, then
//! `POST /v1/messages/{id}/sent`) — so a message is never lost when the gateway is down,
//! and is sent once. The demo's gateway prints them. No message carries a link (SPEC §8):
//! a text with one is refused before it is kept.

use std::sync::Arc;

use crate::views::mask_phone;
use async_trait::async_trait;
use yikatong_core::access::Operation;
use yikatong_core::clock::Clock;
use yikatong_core::message::check_no_link;
use yikatong_store::{QueuedMessage, Store};

use crate::{Service, ServiceResult};

/// Sends (or queues for sending) a text to a phone.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn send(&self, purpose: &str, phone: &str, text: &str) -> ServiceResult<()>;
}

/// The real notifier: the `messages` table the SMS gateway sends from.
pub struct OutboxNotifier {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl Notifier for OutboxNotifier {
    async fn send(&self, purpose: &str, phone: &str, text: &str) -> ServiceResult<()> {
        check_no_link(text)?;
        let id = self.store.queue_message(purpose, phone, text, self.clock.now()).await?;
        tracing::info!(message_id = id, purpose, phone = %mask_phone(phone), "message queued for the SMS gateway");
        Ok(())
    }
}

/// A queued message as the SMS gateway reads it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: i64,
    /// What it is for (`sign_in_code`).
    pub purpose: String,
    pub phone: String,
    pub body: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the gateway reported it sent; absent while it waits.
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<QueuedMessage> for MessageView {
    fn from(m: QueuedMessage) -> Self {
        MessageView { id: m.id, purpose: m.purpose, phone: m.phone, body: m.body, created_at: m.created_at, sent_at: m.sent_at }
    }
}

impl Service {
    /// Messages for the SMS gateway after `after_id`, oldest first (only those not yet
    /// sent when `unsent`). The bureau's operators only.
    pub async fn messages(&self, who: &yikatong_core::access::Principal, after_id: i64, unsent: bool, limit: i64) -> ServiceResult<Vec<MessageView>> {
        who.allow(Operation::ReadMessages)?;
        Ok(self.store.messages(after_id, unsent, limit.clamp(1, 1000)).await?.into_iter().map(MessageView::from).collect())
    }

    /// The gateway reports a message sent; reporting it twice changes nothing.
    pub async fn message_sent(&self, who: &yikatong_core::access::Principal, id: i64) -> ServiceResult<()> {
        who.allow(Operation::ReportMessageSent)?;
        if self.store.mark_message_sent(id, self.clock.now()).await? {
            return Ok(());
        }
        // Reported before, or never queued.
        let exists = id > 0 && self.store.messages(id - 1, false, 1).await?.first().is_some_and(|m| m.id == id);
        if exists { Ok(()) } else { Err(yikatong_core::Refusal::not_found("message_not_found", format!("there is no message {id}")).into()) }
    }
}
