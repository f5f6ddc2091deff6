//! The card use cases (SPEC §4, §6, API.md "Cards"). Each one locks what it changes,
//! lets `yikatong_core::card` decide, and records the events, the card's new state, the
//! outbox messages and any fee in one transaction.

mod certificate;
mod delivery;
mod life;
mod outbox;
mod password;
mod production;
mod views;

use std::sync::Arc;

use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_core::calendar::WorkingCalendar;
use yikatong_core::card::rules::RuleCtx;
use yikatong_core::card::{Card, CardEvent, PrintedData, apply};
use yikatong_store::{CardTx, EventMeta, Person};

pub use certificate::CertificateView;
pub(crate) use certificate::certificate_valid;
pub use delivery::{DeliveryRequest, DispatchLine};
pub use life::{ExchangeRequest, FormalLossRequest, ReplacementView};
pub use outbox::{Broker, BrokerBacklog, PartyView};
pub use password::QueryTarget;
pub(crate) use password::{PasswordGates, Secret};
pub use production::{ApplicationRequest, BatchProgress, BatchView, HandOverRequest, ProductionResult, ResultReport};
pub use views::{CardEventView, CardView, ready_on_text};

use crate::{Service, ServiceError, ServiceResult};

pub(crate) fn card_not_found(id: i64) -> ServiceError {
    Refusal::not_found("card_not_found", format!("there is no card {id} visible to you")).into()
}

/// A new card's fees as charged (R-LOSS-5): its own fee, recorded as `kind`, and its
/// delivery fee, each when there is one, with how they were paid (001).
pub(crate) async fn record_card_fees(tx: &mut Box<dyn CardTx>, card: &Card, kind: &str, meta: &EventMeta) -> ServiceResult<()> {
    let (delivery_fee, paid) = card.delivery.as_ref().map(|d| (d.fee_fen, d.payment_method.clone())).unwrap_or_default();
    for (kind, amount) in [(kind, card.fee_fen - delivery_fee), ("delivery", delivery_fee)] {
        if amount > 0 {
            tx.record_fee(card.id, &card.person_hash, (kind, amount), paid.as_deref(), meta).await?;
        }
    }
    Ok(())
}

/// What the card should say, from the person's record.
pub(crate) fn printed_of(p: &Person) -> PrintedData {
    PrintedData { name: p.name.clone(), category: p.category, flags: p.flags.clone(), ssn: Some(p.ssn.clone()) }
}

impl Service {
    pub(crate) fn meta(&self, who: &Principal) -> EventMeta {
        EventMeta { actor: who.actor(), channel: who.channel().as_str().into(), place: who.place().map(str::to_string), at: self.clock.now() }
    }

    pub(crate) async fn card_holder(&self, card: &Card) -> ServiceResult<Person> {
        self.store.get_person_by_hash(&card.person_hash).await?.ok_or_else(|| ServiceError::Internal(format!("card {} has no person", card.id)))
    }

    /// Refuses a card the caller may not see (`Principal::sees_card`) as not found.
    pub(crate) async fn check_card_visible(&self, who: &Principal, card: &Card) -> ServiceResult<()> {
        let holder = if who.role == Role::Unit { Some(self.card_holder(card).await?) } else { None };
        if card_visible(who, card, holder.as_ref()) { Ok(()) } else { Err(card_not_found(card.id)) }
    }

    pub(crate) fn rule_parts(&self, region: &str) -> ServiceResult<(&yikatong_core::policy::RegionPolicy, Arc<WorkingCalendar>)> {
        Ok((self.policies.region(region)?, self.calendar()?))
    }

    /// Locks a card the caller may see (its holder read in the same transaction).
    pub(crate) async fn lock_visible(&self, tx: &mut Box<dyn CardTx>, who: &Principal, id: i64) -> ServiceResult<Card> {
        Ok(self.lock_visible_with_holder(tx, who, id).await?.0)
    }

    /// [`Service::lock_visible`] with the card's holder: a request holding a
    /// transaction reads through it, never through a second pooled connection.
    pub(crate) async fn lock_visible_with_holder(&self, tx: &mut Box<dyn CardTx>, who: &Principal, id: i64) -> ServiceResult<(Card, Person)> {
        let card = tx.lock_card(id).await?.ok_or_else(|| card_not_found(id))?;
        let holder = tx.person(&card.person_hash).await?.ok_or_else(|| ServiceError::Internal(format!("card {} has no person", card.id)))?;
        if !card_visible(who, &card, Some(&holder)) {
            return Err(card_not_found(card.id));
        }
        Ok((card, holder))
    }

    /// The common shape of a card command: lock, decide, record, commit. Returns the
    /// card as it is now with its holder (read in the transaction).
    pub(crate) async fn card_command(
        &self,
        who: &Principal,
        id: i64,
        op: Operation,
        decide: impl FnOnce(&Card, &RuleCtx) -> Result<Vec<CardEvent>, Refusal>,
    ) -> ServiceResult<ChangedCard> {
        who.allow(op)?;
        let mut tx = self.begin_write().await?;
        let (card, holder) = self.lock_visible_with_holder(&mut tx, who, id).await?;
        let (policy, calendar) = self.rule_parts(&card.region)?;
        let ctx = RuleCtx { policy, calendar: &calendar, now: self.clock.now(), channel: who.channel() };
        let events = decide(&card, &ctx)?;
        let after = events.iter().fold(card, apply);
        tx.record(&after, &events, &self.meta(who)).await?;
        self.commit(tx).await?;
        Ok(ChangedCard { card: after, holder })
    }
}

/// A card after a command, with its holder.
pub(crate) struct ChangedCard {
    pub card: Card,
    pub holder: Person,
}

impl ChangedCard {
    pub fn view(&self, now: chrono::DateTime<chrono::Utc>) -> CardView {
        CardView::of(&self.card, &self.holder, now)
    }
}

/// Whether `who` may see `card` (`holder`: the card's holder, needed for a unit).
fn card_visible(who: &Principal, card: &Card, holder: Option<&Person>) -> bool {
    who.sees_card(&card.person_hash, holder.and_then(|h| h.unit_code.as_deref()))
}
