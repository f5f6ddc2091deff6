//! R-EVT-1: what the card's other applications hear of its life. The bank, the transit
//! operator (市政交通一卡通) and the park-pass operator run their applications in their own
//! systems; each change that decides whether a card may be used becomes a notice, written
//! in the card's own transaction and delivered to each of them, in order for one card.
//!
//! A pre-loss lifts by itself at its end (R-LOSS-2): the card's state is derived from
//! that instant and stays derived, and the notice of the lifting is written with the
//! pre-loss, due at that instant. A later change of the card's standing (a revocation, a
//! formal loss, a new pre-loss, a replacement, a cancellation) withdraws a notice that is
//! not yet due, so that no party hears a stale "usable".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::events::CardEvent;
use super::model::{AccountChoice, Card, CardId, Zone};

/// The change a notice tells of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// 预挂失: blocked until `until` (the zone is `None` for the whole card).
    PreLossReported { zone: Option<Zone>, until: DateTime<Utc> },
    /// The pre-loss that was to end at `until` ended then by itself.
    PreLossLifted { zone: Option<Zone>, until: DateTime<Utc> },
    /// 撤销预挂失 at an outlet.
    PreLossRevoked { zone: Option<Zone> },
    /// 正式挂失: blocked for good.
    FormallyLost,
    /// The card stopped for good when the card that took over was activated (R-ACT-2);
    /// for a financial card, the holder's choice for its bank account.
    Superseded { by: CardId, bank_account: Option<AccountChoice> },
    /// 注销: stopped for good.
    Cancelled { reason: String },
    /// The financial zone was activated: the bank may let the card pay.
    FinancialZoneActivated,
}

impl Change {
    /// The subject's last part (`card.<topic>`): what a party filters on.
    pub fn topic(&self) -> &'static str {
        match self {
            Change::PreLossReported { .. } | Change::FormallyLost => "card.blocked",
            Change::PreLossLifted { .. } | Change::PreLossRevoked { .. } => "card.unblocked",
            Change::Superseded { .. } => "card.replaced",
            Change::Cancelled { .. } => "card.cancelled",
            Change::FinancialZoneActivated => "card.financial_activated",
        }
    }

    /// Whether the card can never be used again after it.
    pub fn is_final(&self) -> bool {
        matches!(self, Change::FormallyLost | Change::Superseded { .. } | Change::Cancelled { .. })
    }
}

/// One notice as it is kept in the outbox and as a party receives it (with the outbox
/// row's id, its stable id, added by the relay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardNotice {
    pub card_id: CardId,
    /// The number printed on the card, by which a party knows it (`None` before it is
    /// produced: no party holds such a card yet).
    pub card_number: Option<String>,
    /// The card's region, the subject's second part (`ykt.<region>.card.<topic>`).
    pub region: String,
    /// When the change takes effect.
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub change: Change,
    /// The card event it comes from, redacted (`GET /v1/outbox` has always shown it).
    pub event: CardEvent,
}

/// A notice to write with the card's event: `due` is when it may be delivered (the
/// event's instant, or the pre-loss's end for its lifting); `lifts` names, for a
/// lifting, the pre-loss it ends (see [`lift_key`]), so that a later change can withdraw
/// it while it is not yet due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub topic: &'static str,
    pub due: DateTime<Utc>,
    pub lifts: Option<&'static str>,
    pub notice: CardNotice,
}

/// The pre-loss a lifting ends, by its zone: `card` (the whole card), `social` or
/// `financial`.
pub fn lift_key(zone: Option<Zone>) -> &'static str {
    match zone {
        None => "card",
        Some(Zone::Social) => "social",
        Some(Zone::Financial) => "financial",
    }
}

/// The changes `event`, recorded at `at`, tells the parties of, each with when it takes
/// effect (a pre-loss's lifting at its end). Cheap: what `ykt verify` counts.
pub fn changes_of(event: &CardEvent, at: DateTime<Utc>) -> Vec<(Change, DateTime<Utc>)> {
    match event {
        CardEvent::PreLossReported { until, zone, .. } => {
            vec![(Change::PreLossReported { zone: *zone, until: *until }, at), (Change::PreLossLifted { zone: *zone, until: *until }, (*until).max(at))]
        }
        CardEvent::PreLossRevoked { zone, .. } => vec![(Change::PreLossRevoked { zone: *zone }, at)],
        CardEvent::FormallyLost { .. } => vec![(Change::FormallyLost, at)],
        CardEvent::Superseded { by, bank_account, .. } => vec![(Change::Superseded { by: *by, bank_account: *bank_account }, at)],
        CardEvent::Cancelled { reason } => vec![(Change::Cancelled { reason: reason.clone() }, at)],
        CardEvent::ZoneActivated { zone: Zone::Financial } => vec![(Change::FinancialZoneActivated, at)],
        _ => Vec::new(),
    }
}

/// The notices `event`, recorded at `at` on `card` (as the events leave it), gives: its
/// [`changes_of`], each addressed to the card.
pub fn notices_of(card: &Card, event: &CardEvent, at: DateTime<Utc>) -> Vec<Notice> {
    changes_of(event, at)
        .into_iter()
        .map(|(change, when)| Notice {
            topic: change.topic(),
            due: when,
            lifts: match change {
                Change::PreLossLifted { zone, .. } => Some(lift_key(zone)),
                _ => None,
            },
            notice: CardNotice { card_id: card.id, card_number: card.card_number.clone(), region: card.region.clone(), at: when, change, event: event.redacted() },
        })
        .collect()
}

/// The liftings not yet due that `event` withdraws (by [`lift_key`]) before its own
/// notices are written: a revocation or a new pre-loss of a zone ends that zone's
/// pending lifting; a formal loss, a replacement's activation or a cancellation ends
/// every one.
pub fn withdrawn_by(event: &CardEvent) -> &'static [&'static str] {
    match event {
        CardEvent::PreLossReported { zone, .. } | CardEvent::PreLossRevoked { zone, .. } => match zone {
            None => &["card"],
            Some(Zone::Social) => &["social"],
            Some(Zone::Financial) => &["financial"],
        },
        CardEvent::FormallyLost { .. } | CardEvent::Superseded { .. } | CardEvent::Cancelled { .. } => &["card", "social", "financial"],
        _ => &[],
    }
}
