//! What happens to a card, as events; `apply` folds them into the card. The card's
//! history is its events; the stored card is their projection, kept in the same
//! transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::model::{Card, CardId, CardState, Certificate, PreLoss, PrintedData, Zone};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CardEvent {
    /// The card was applied for (its first event; the card is created with it).
    Applied {
        generation: u8,
        financial: bool,
        due_on: Option<NaiveDate>,
        ready_on: Option<NaiveDate>,
        fee_fen: i64,
        /// R-APP-3: the partner bank that took the unit's batch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bank: Option<String>,
        /// R-DIST-1: how the card reaches its holder (absent in events recorded before
        /// it was asked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<super::delivery::Delivery>,
        /// Where a mailed card goes (sealed at rest, like the printed data).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mail_to: Option<super::delivery::MailAddress>,
    },
    AssignedToBatch {
        batch_id: i64,
    },
    /// R-APP-4: left out of a production cut for a reason the unit acts on; recorded when
    /// the reason changes, not at every cut.
    HeldOutOfBatch {
        reason: String,
    },
    Produced {
        card_number: String,
        identification_code: String,
    },
    ProductionFailed {
        reason: String,
    },
    BankAccountOpened,
    BankAccountRefused {
        reason: String,
    },
    /// Sent to the unit (or outlet) that hands it out, by the region's day if it has one
    /// (R-DIST-1; absent in events recorded before it was kept).
    Dispatched {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hand_out_by: Option<NaiveDate>,
    },
    HandedOver {
        proxy: bool,
    },
    ZoneActivated {
        zone: Zone,
    },
    PreLossReported {
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        zone: Option<Zone>,
    },
    PreLossRevoked {
        zone: Option<Zone>,
        at: DateTime<Utc>,
    },
    FormallyLost {
        proxy: bool,
    },
    SuccessorApplied {
        successor: CardId,
    },
    /// The successor was activated: this card stops at once (R-ACT-2).
    /// R-ACT-2: stopped by the card that took over; for a card with a bank account, the
    /// holder's choice for it (`keep` or `close`), which the bank hears in the outbox's
    /// `card.replaced` (absent in events recorded before it was asked).
    Superseded {
        by: CardId,
        state: CardState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bank_account: Option<super::model::AccountChoice>,
    },
    Returned,
    /// R-SECOND-1: the card claimed again, with the certificate it is collected with
    /// (absent in events recorded before certificates were issued for it).
    SecondApplied {
        ready_on: NaiveDate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certificate: Option<Certificate>,
        /// R-DIST-1 (001): how the claimed card reaches its holder.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<super::delivery::Delivery>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mail_to: Option<super::delivery::MailAddress>,
    },
    Cancelled {
        reason: String,
    },
    Synchronised {
        printed: PrintedData,
    },
    PasswordChanged {
        hash: String,
    },
    PasswordReset {
        hash: String,
    },
    PasswordFailed {
        on: NaiveDate,
    },
    CertificateReprinted,
    /// The collection date, counted once the calendar year it fell in was loaded (R-CAL-2).
    ReadyDateCounted {
        ready_on: NaiveDate,
    },
    /// The collection date now waits for a later calendar year (R-CAL-2).
    ReadyDateAwaits {
        year: i32,
    },
    /// The card was accepted for a settlement at an institution (R-SET-10); recorded in
    /// the card's history in the same transaction as the check.
    UsedForSettlement {
        institution: String,
    },
}

impl CardEvent {
    /// The event's name as stored and shown (`pre_loss_reported`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            CardEvent::Applied { .. } => "applied",
            CardEvent::AssignedToBatch { .. } => "assigned_to_batch",
            CardEvent::HeldOutOfBatch { .. } => "held_out_of_batch",
            CardEvent::Produced { .. } => "produced",
            CardEvent::ProductionFailed { .. } => "production_failed",
            CardEvent::BankAccountOpened => "bank_account_opened",
            CardEvent::BankAccountRefused { .. } => "bank_account_refused",
            CardEvent::Dispatched { .. } => "dispatched",
            CardEvent::HandedOver { .. } => "handed_over",
            CardEvent::ZoneActivated { .. } => "zone_activated",
            CardEvent::PreLossReported { .. } => "pre_loss_reported",
            CardEvent::PreLossRevoked { .. } => "pre_loss_revoked",
            CardEvent::FormallyLost { .. } => "formally_lost",
            CardEvent::SuccessorApplied { .. } => "successor_applied",
            CardEvent::Superseded { .. } => "superseded",
            CardEvent::Returned => "returned",
            CardEvent::SecondApplied { .. } => "second_applied",
            CardEvent::Cancelled { .. } => "cancelled",
            CardEvent::Synchronised { .. } => "synchronised",
            CardEvent::PasswordChanged { .. } => "password_changed",
            CardEvent::PasswordReset { .. } => "password_reset",
            CardEvent::PasswordFailed { .. } => "password_failed",
            CardEvent::CertificateReprinted => "certificate_reprinted",
            CardEvent::ReadyDateCounted { .. } => "ready_date_counted",
            CardEvent::ReadyDateAwaits { .. } => "ready_date_awaits",
            CardEvent::UsedForSettlement { .. } => "used_for_settlement",
        }
    }

    /// Password hashes never leave the service in a card's history.
    pub fn redacted(&self) -> CardEvent {
        match self {
            CardEvent::PasswordChanged { .. } => CardEvent::PasswordChanged { hash: "***".into() },
            CardEvent::PasswordReset { .. } => CardEvent::PasswordReset { hash: "***".into() },
            other => other.clone(),
        }
    }
}

/// Folds one event into the card.
pub fn apply(mut card: Card, event: &CardEvent) -> Card {
    match event {
        CardEvent::Applied { .. } => {}
        CardEvent::AssignedToBatch { batch_id } => {
            card.batch_id = Some(*batch_id);
            card.state = CardState::InProduction;
            card.held_reason = None;
        }
        CardEvent::HeldOutOfBatch { reason } => card.held_reason = Some(reason.clone()),
        CardEvent::Produced { card_number, identification_code } => {
            card.card_number = Some(card_number.clone());
            card.identification_code = Some(identification_code.clone());
            card.state = CardState::Produced;
        }
        CardEvent::ProductionFailed { reason } => {
            card.failure_reason = Some(reason.clone());
            card.state = CardState::ProductionFailed;
        }
        CardEvent::BankAccountOpened => card.bank_account_opened = Some(true),
        CardEvent::BankAccountRefused { reason } => {
            card.bank_account_opened = Some(false);
            card.failure_reason = Some(format!("bank: {reason}"));
            card.state = CardState::ProductionFailed;
        }
        CardEvent::Dispatched { hand_out_by } => {
            card.state = CardState::AtDistributor;
            // The production promise is kept; the promise now is to hand it out.
            card.due_on = *hand_out_by;
        }
        CardEvent::HandedOver { .. } => card.state = CardState::Issued,
        CardEvent::ZoneActivated { zone: Zone::Social } => {
            card.social_zone_active = true;
            card.state = CardState::Active;
        }
        CardEvent::ZoneActivated { zone: Zone::Financial } => card.financial_zone_active = true,
        CardEvent::PreLossReported { since, until, zone } => {
            card.pre_losses.push(PreLoss { since: *since, until: *until, zone: *zone, revoked_at: None });
        }
        CardEvent::PreLossRevoked { zone, at } => {
            // Ends the pre-loss of that zone that is still in force.
            if let Some(p) = card.pre_losses.iter_mut().rev().find(|p| p.in_force(*at) && p.zone == *zone) {
                p.revoked_at = Some(*at);
            }
        }
        CardEvent::FormallyLost { .. } => card.state = CardState::Lost,
        CardEvent::SuccessorApplied { successor } => card.successor = Some(*successor),
        CardEvent::Superseded { by, state, .. } => {
            card.superseded_by = Some(*by);
            card.successor = None;
            if card.state.is_alive() {
                card.state = *state;
            }
        }
        CardEvent::Returned => card.state = CardState::Returned,
        CardEvent::SecondApplied { ready_on, certificate, delivery, mail_to } => {
            card.ready_on = Some(*ready_on);
            if certificate.is_some() {
                card.certificate.clone_from(certificate);
            }
            if delivery.is_some() {
                card.delivery.clone_from(delivery);
                card.mail_to.clone_from(mail_to);
            }
            card.state = CardState::AtDistributor;
        }
        CardEvent::Cancelled { reason } => {
            card.failure_reason = Some(reason.clone());
            card.state = CardState::Cancelled;
        }
        CardEvent::Synchronised { printed } => card.printed = printed.clone(),
        CardEvent::PasswordChanged { hash } | CardEvent::PasswordReset { hash } => {
            card.password.hash = Some(hash.clone());
            card.password.failures = 0;
            card.password.failures_on = None;
        }
        CardEvent::PasswordFailed { on } => {
            if card.password.failures_on != Some(*on) {
                card.password.failures = 0;
                card.password.failures_on = Some(*on);
            }
            card.password.failures += 1;
        }
        CardEvent::CertificateReprinted => {
            if let Some(c) = card.certificate.as_mut() {
                c.prints += 1;
            }
        }
        CardEvent::ReadyDateCounted { ready_on } => {
            card.ready_on = Some(*ready_on);
            if let Some(c) = card.certificate.as_mut() {
                c.ready_on = Some(*ready_on);
                c.awaiting_year = None;
            }
        }
        CardEvent::ReadyDateAwaits { year } => {
            if let Some(c) = card.certificate.as_mut() {
                c.awaiting_year = Some(*year);
            }
        }
        CardEvent::UsedForSettlement { .. } => {}
    }
    card
}

/// The card its events make of it: the stored card with every event-derived field
/// reset to what a new card has, the events folded in again. `ykt verify` compares this
/// with the stored projection (what is not event-derived, the holder and the printed
/// data, is taken as stored).
pub fn replay(stored: &Card, events: &[CardEvent]) -> Card {
    let blank = Card {
        state: CardState::Applied,
        batch_id: None,
        card_number: None,
        identification_code: None,
        social_zone_active: false,
        financial_zone_active: false,
        bank_account_opened: None,
        pre_losses: Vec::new(),
        superseded_by: None,
        successor: None,
        ..stored.clone()
    };
    events.iter().fold(blank, apply)
}

/// The first way the stored card differs from its replayed events, if any.
pub fn projection_mismatch(stored: &Card, events: &[CardEvent]) -> Option<String> {
    let r = replay(stored, events);
    let fields: [(&str, bool); 7] = [
        ("state", r.state == stored.state),
        ("card number", r.card_number == stored.card_number),
        ("social zone", r.social_zone_active == stored.social_zone_active),
        ("financial zone", r.financial_zone_active == stored.financial_zone_active),
        ("pre-losses", r.pre_losses == stored.pre_losses),
        ("superseded by", r.superseded_by == stored.superseded_by),
        ("batch", r.batch_id == stored.batch_id),
    ];
    fields
        .iter()
        .find(|(_, same)| !same)
        .map(|(field, _)| format!("its {field} is not what its events make of it (events say {}, stored {})", r.state.as_str(), stored.state.as_str()))
}
