//! The card (SPEC §4): its states, zones, pre-losses and the data printed on it.

use crate::registry::{Category, PersonFlag};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub type CardId = i64;

/// The state of one card. `pre_lost` is not stored: a pre-loss is an overlay that is in
/// force until its end instant (R-LOSS-2), so the card's reported state is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    Applied,
    InProduction,
    Produced,
    AtDistributor,
    /// Handed to the holder; the social-security zone is not started yet.
    Issued,
    /// The social-security zone is started (R-ACT-1).
    Active,
    /// Formal loss: void for ever (R-LOSS-3).
    Lost,
    /// A replacement card was activated (R-ACT-2).
    Replaced,
    /// An exchange card was activated (R-ACT-2, R-EXCH-1).
    Exchanged,
    Cancelled,
    ProductionFailed,
    /// Returned by the unit to the bureau, waiting for a second application (R-SECOND-1).
    Returned,
}

impl CardState {
    pub fn as_str(self) -> &'static str {
        match self {
            CardState::Applied => "applied",
            CardState::InProduction => "in_production",
            CardState::Produced => "produced",
            CardState::AtDistributor => "at_distributor",
            CardState::Issued => "issued",
            CardState::Active => "active",
            CardState::Lost => "lost",
            CardState::Replaced => "replaced",
            CardState::Exchanged => "exchanged",
            CardState::Cancelled => "cancelled",
            CardState::ProductionFailed => "production_failed",
            CardState::Returned => "returned",
        }
    }

    /// States from which nothing more happens to the card.
    pub fn is_final(self) -> bool {
        matches!(self, CardState::Lost | CardState::Replaced | CardState::Exchanged | CardState::Cancelled | CardState::ProductionFailed)
    }

    /// The card is on its way to the holder or with them.
    pub fn is_alive(self) -> bool {
        !self.is_final()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    /// 社保区
    Social,
    /// 金融区
    Financial,
}

impl Zone {
    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Social => "social",
            Zone::Financial => "financial",
        }
    }
}

/// 预挂失: a pre-loss and whether it was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreLoss {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Jinan reports the zones separately; `None` is the whole card.
    pub zone: Option<Zone>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl PreLoss {
    /// R-LOSS-2: in force from `since` until `until`, unless revoked. Nothing has to run
    /// for it to lift.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.since <= now && now < self.until
    }
}

/// What the card says about its holder, as printed or written to the chip; compared
/// with the record to find cards out of step (R-INFO-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintedData {
    pub name: String,
    pub category: Category,
    pub flags: Vec<PersonFlag>,
    /// The ID number the card is made with (R-EXCH-1: a corrected number needs an
    /// exchange); absent on cards applied for before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssn: Option<String>,
}

/// Why the card was applied for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// First issuance through a unit's batch or at an outlet (R-APP-1..3).
    FirstIssue { unit: Option<String> },
    /// After a formal loss or an online replacement application (R-LOSS-4, R-ONLINE-1).
    Replacement { of: CardId },
    /// For a damaged card (R-EXCH-1).
    Exchange { of: CardId, reason: String },
    /// Made again because the printed data was wrong (R-WRONG-1).
    Remake { of: CardId, reason: String },
    /// 换发: a newer generation for a holder of a working older card, applied for
    /// through a unit like a first card (R-GEN-1); it names the card it upgrades, which
    /// stops when this one is activated (R-ACT-2).
    Upgrade { of: CardId, unit: Option<String> },
}

impl Origin {
    /// The card this one takes over from, if any.
    pub fn predecessor(&self) -> Option<CardId> {
        match self {
            Origin::FirstIssue { .. } => None,
            Origin::Replacement { of } | Origin::Exchange { of, .. } | Origin::Remake { of, .. } | Origin::Upgrade { of, .. } => Some(*of),
        }
    }

    /// The unit a first card or an upgrade was applied for through.
    pub fn applying_unit(&self) -> Option<&str> {
        match self {
            Origin::FirstIssue { unit } | Origin::Upgrade { unit, .. } => unit.as_deref(),
            _ => None,
        }
    }
}

/// R-ACT-2 (000): what becomes of the old card's bank account when a new card takes
/// over, at the holder's choice; `keep` when they say nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountChoice {
    #[default]
    Keep,
    Close,
}

/// 领卡证明: the card-collection certificate of a replacement or exchange (R-CERT-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub number: String,
    pub issued_on: NaiveDate,
    /// The collection date: the new card is ready on this day (R-LOSS-4). `None` while
    /// the calendar lacks the year it falls in (R-CAL-2), until the operator loads it.
    pub ready_on: Option<NaiveDate>,
    /// The working days counted from `issued_on` (R-CAL-1), kept so that the date can be
    /// counted when the year is loaded.
    #[serde(default)]
    pub working_days: Option<u32>,
    /// The calendar year the collection date waits for (R-CAL-2).
    #[serde(default)]
    pub awaiting_year: Option<i32>,
    pub prints: u32,
    pub delivery: String,
}

/// The query password (R-PWD-1). `hash` is `None` while the initial password (the
/// SSN's last six characters) is in use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPassword {
    pub hash: Option<String>,
    pub failures: u32,
    pub failures_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub id: CardId,
    /// Lookup hash of the holder's SSN.
    pub person_hash: String,
    pub region: String,
    pub generation: u8,
    pub financial: bool,
    pub state: CardState,
    pub origin: Origin,
    pub card_number: Option<String>,
    pub identification_code: Option<String>,
    pub social_zone_active: bool,
    pub financial_zone_active: bool,
    /// The bank's answer on the account of a financial card: `None` while pending.
    pub bank_account_opened: Option<bool>,
    pub pre_losses: Vec<PreLoss>,
    /// The card that took over from this one, once activated.
    pub superseded_by: Option<CardId>,
    /// A replacement or exchange card applied for and not yet activated.
    pub successor: Option<CardId>,
    pub failure_reason: Option<String>,
    /// Why the last production cut left it out, for the unit to act on (R-APP-4).
    #[serde(default)]
    pub held_reason: Option<String>,
    /// R-APP-3: the partner bank that took the unit's batch this card was applied in.
    #[serde(default)]
    pub applied_at_bank: Option<String>,
    /// R-DIST-1: how the card reaches its holder; `None` for cards applied for before it
    /// was asked (they go to their unit, or to the outlet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<super::delivery::Delivery>,
    /// Where a mailed card goes: personal data, sealed at rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_to: Option<super::delivery::MailAddress>,
    pub printed: PrintedData,
    pub certificate: Option<Certificate>,
    pub password: QueryPassword,
    pub batch_id: Option<i64>,
    pub applied_at: DateTime<Utc>,
    /// Production promise (R-APP-3): produced by this date.
    pub due_on: Option<NaiveDate>,
    /// When the card is ready for collection (replacement, second application).
    pub ready_on: Option<NaiveDate>,
    pub fee_fen: i64,
}

impl Card {
    /// How the card reaches its holder: as recorded, else its unit's or the outlet's hands.
    pub fn delivery_way(&self) -> super::delivery::DeliveryWay {
        use super::delivery::DeliveryWay;
        match (&self.delivery, &self.origin) {
            (Some(d), _) => d.way,
            (None, Origin::FirstIssue { unit: Some(_) } | Origin::Upgrade { unit: Some(_), .. }) => DeliveryWay::Unit,
            (None, _) => DeliveryWay::Outlet,
        }
    }

    pub fn pre_loss_in_force(&self, now: DateTime<Utc>) -> Option<&PreLoss> {
        self.pre_losses.iter().rev().find(|p| p.in_force(now))
    }

    /// The zone a pre-loss in force blocks: the social zone is blocked by a whole-card
    /// or social-zone pre-loss.
    pub fn zone_pre_lost(&self, zone: Zone, now: DateTime<Utc>) -> bool {
        self.pre_losses.iter().any(|p| p.in_force(now) && (p.zone.is_none() || p.zone == Some(zone)))
    }

    /// The state as callers see it: `pre_lost` while a pre-loss is in force.
    pub fn reported_state(&self, now: DateTime<Utc>) -> &'static str {
        if self.state.is_alive() && self.pre_loss_in_force(now).is_some() { "pre_lost" } else { self.state.as_str() }
    }

    /// A card that works for settlement: active and not superseded (one per person).
    pub fn is_working(&self) -> bool {
        self.state == CardState::Active
    }

    /// R-EXCH-1: the person's ID number was corrected after this card was applied for:
    /// the card carries the old one until it is exchanged.
    pub fn number_changed(&self, ssn_now: &str) -> bool {
        self.printed.ssn.as_deref().is_some_and(|s| s != ssn_now)
    }

    /// The card data differs from the person's record (R-INFO-1).
    pub fn out_of_step_with(&self, record: &PrintedData) -> bool {
        let mut a = self.printed.flags.clone();
        let mut b = record.flags.clone();
        a.sort();
        b.sort();
        self.printed.name != record.name || self.printed.category != record.category || a != b
    }
}
