//! Cards as callers see them: the holder's ID number masked, the state as in force now
//! (a pre-loss is reported while it lasts), and whether the card is out of step with
//! the record.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use yikatong_core::card::{Card, Certificate, Origin, Zone};
use yikatong_core::identity::mask_ssn;
use yikatong_store::{Person, StoredEvent};

use super::printed_of;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ZonesView {
    /// `inactive`, `active` or `pre_lost`.
    pub social: String,
    /// `none` on an ordinary card.
    pub financial: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PreLossView {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateSummary {
    pub number: String,
    pub issued_on: NaiveDate,
    /// The collection date; `null` while the calendar lacks its year (R-CAL-2).
    #[schema(value_type = Option<String>)]
    pub ready_on: Option<NaiveDate>,
    /// The calendar year the collection date waits for, while `ready_on` is `null`.
    pub ready_pending_year: Option<i32>,
    pub delivery: String,
    pub prints: u32,
}

impl CertificateSummary {
    pub fn of(c: &Certificate) -> Self {
        CertificateSummary {
            number: c.number.clone(),
            issued_on: c.issued_on,
            ready_on: c.ready_on,
            ready_pending_year: ready_pending_year(c),
            delivery: c.delivery.clone(),
            prints: c.prints,
        }
    }
}

/// A collection date as a page or a slip prints it: the date, or that it waits for the
/// calendar year (R-CAL-2).
pub fn ready_on_text(ready_on: Option<NaiveDate>, pending_year: Option<i32>) -> String {
    match (ready_on, pending_year) {
        (Some(d), _) => d.to_string(),
        (None, Some(y)) => format!("待定：{y}年工作日历公布后确定 (to be set once the {y} working-day calendar is loaded)"),
        (None, None) => "待定 (to be set)".into(),
    }
}

/// The year a certificate's collection date waits for (R-CAL-2).
pub(crate) fn ready_pending_year(c: &Certificate) -> Option<i32> {
    c.ready_on.is_none().then_some(c.awaiting_year).flatten()
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CardView {
    pub id: i64,
    pub person_ssn_masked: String,
    pub region: String,
    pub card_number: Option<String>,
    pub card_identification_code: Option<String>,
    pub generation: u8,
    pub financial: bool,
    /// The state in force now; `pre_lost` while a pre-loss lasts.
    pub state: String,
    /// The stored state underneath a pre-loss.
    pub base_state: String,
    pub zones: ZonesView,
    pub pre_loss: Option<PreLossView>,
    /// `first_issue`, `replacement`, `exchange` or `remake`.
    pub origin: String,
    pub replaces: Option<i64>,
    pub replaced_by: Option<i64>,
    /// A replacement or exchange card being made for this one.
    pub successor: Option<i64>,
    /// R-INFO-1: the card's data no longer matches the record; a clerk synchronises it.
    pub out_of_step: bool,
    /// R-EXCH-1: the person's ID number was corrected after this card was made: exchange it.
    pub number_changed: bool,
    pub certificate: Option<CertificateSummary>,
    pub batch_id: Option<i64>,
    pub applied_at: DateTime<Utc>,
    /// Production promise (R-APP-3).
    pub due_on: Option<NaiveDate>,
    pub ready_on: Option<NaiveDate>,
    /// Why the card was not produced or was ended (R-APP-4).
    pub reason: Option<String>,
    /// Why the last production cut left it out, with what to do (R-APP-4).
    pub held_reason: Option<String>,
    /// R-APP-3: the partner bank that took the unit's batch it was applied in.
    pub applied_at_bank: Option<String>,
    /// R-DIST-1: how the card reaches its holder: `unit`, `outlet`, `mail` or `bank`
    /// (the address of a mailed card is on the operator's dispatch list only).
    pub delivery: String,
    /// The delivery fee, part of `fee_fen`.
    pub delivery_fee_fen: i64,
    /// How the card's fees were paid (001); `null` when nothing was to pay.
    pub payment_method: Option<String>,
    pub fee_fen: i64,
}

impl CardView {
    pub fn of(card: &Card, person: &Person, now: DateTime<Utc>) -> Self {
        let zone_state = |zone: Zone, active: bool| {
            if card.state.is_alive() && card.zone_pre_lost(zone, now) {
                "pre_lost"
            } else if active {
                "active"
            } else {
                "inactive"
            }
        };
        let origin = match &card.origin {
            Origin::FirstIssue { .. } => "first_issue",
            Origin::Replacement { .. } => "replacement",
            Origin::Exchange { .. } => "exchange",
            Origin::Remake { .. } => "remake",
            Origin::Upgrade { .. } => "upgrade",
        };
        CardView {
            id: card.id,
            person_ssn_masked: mask_ssn(&person.ssn),
            region: card.region.clone(),
            card_number: card.card_number.clone(),
            card_identification_code: card.identification_code.clone(),
            generation: card.generation,
            financial: card.financial,
            state: card.reported_state(now).into(),
            base_state: card.state.as_str().into(),
            zones: ZonesView {
                social: zone_state(Zone::Social, card.social_zone_active).into(),
                financial: if card.financial { zone_state(Zone::Financial, card.financial_zone_active).into() } else { "none".into() },
            },
            pre_loss: card.pre_loss_in_force(now).filter(|_| card.state.is_alive()).map(|p| PreLossView {
                since: p.since,
                until: p.until,
                zone: p.zone.map(|z| z.as_str().to_string()),
            }),
            origin: origin.into(),
            replaces: card.origin.predecessor(),
            replaced_by: card.superseded_by,
            successor: card.successor,
            out_of_step: card.state.is_alive() && card.out_of_step_with(&printed_of(person)),
            number_changed: card.state.is_alive() && card.number_changed(&person.ssn),
            certificate: card.certificate.as_ref().map(CertificateSummary::of),
            batch_id: card.batch_id,
            applied_at: card.applied_at,
            due_on: card.due_on,
            ready_on: card.ready_on,
            reason: card.failure_reason.clone(),
            held_reason: card.held_reason.clone(),
            applied_at_bank: card.applied_at_bank.clone(),
            delivery: card.delivery_way().as_str().into(),
            delivery_fee_fen: card.delivery.as_ref().map_or(0, |d| d.fee_fen),
            payment_method: card.delivery.as_ref().and_then(|d| d.payment_method.clone()),
            fee_fen: card.fee_fen,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CardEventView {
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub actor: String,
    pub channel: String,
    pub place: Option<String>,
    pub at: DateTime<Utc>,
}

impl CardEventView {
    pub fn of(e: &StoredEvent) -> Self {
        let mut detail = e.event.clone();
        if let Some(o) = detail.as_object_mut() {
            o.remove("type");
            if o.contains_key("hash") {
                o.insert("hash".into(), serde_json::json!("***"));
            }
        }
        CardEventView { seq: e.seq, kind: e.kind.clone(), detail, actor: e.meta.actor.clone(), channel: e.meta.channel.clone(), place: e.meta.place.clone(), at: e.meta.at }
    }
}
