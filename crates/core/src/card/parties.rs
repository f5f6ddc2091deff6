//! R-EVT-1, R-EVT-2: the parties that run the card's other applications, and what each
//! keeps of a card from the notices it receives: its blocklist. A party applies each
//! notice once (by its id) and in order for one card; what it keeps is decided here, so
//! that every party decides alike.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::Zone;
use super::notices::Change;

crate::closed_set! {
    /// A party that hears of a card's life (`ykt consume --role …`).
    pub enum Party {
        /// 发卡银行: the bank runs the financial zone's account and payments.
        Bank = "bank",
        /// 市政交通一卡通: the transport application on the card.
        Transit = "transit",
        /// 公园年票: the park annual pass.
        Park = "park",
    }
}

impl Party {
    /// How the operator's page and `GET /v1/consumers` name it.
    pub fn name(self) -> &'static str {
        match self {
            Party::Bank => "发卡银行 card-issuing bank",
            Party::Transit => "市政交通一卡通 transit operator",
            Party::Park => "公园年票 park-pass operator",
        }
    }

    /// Whether a pre-loss of `zone` stops this party's application: the bank's runs in
    /// the financial zone, transit and the park pass in the social-security zone; a
    /// pre-loss of the whole card stops all of them.
    pub fn stopped_by(self, zone: Option<Zone>) -> bool {
        match zone {
            None => true,
            Some(Zone::Financial) => self == Party::Bank,
            Some(Zone::Social) => self != Party::Bank,
        }
    }
}

/// What a party keeps of one card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The pre-losses in force that stop this party, each with the instant it ends.
    pub pre_losses: Vec<(Option<Zone>, DateTime<Utc>)>,
    /// Why the card can never be used again (`formally_lost`, `replaced`, `cancelled`).
    pub stopped: Option<String>,
    /// The bank's: the financial zone was activated.
    pub financial_active: bool,
}

/// The answer a gate or a bank gets for a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Usable,
    Blocked(String),
}

impl Listing {
    /// The listing after `change`. A card stopped for good stays stopped whatever comes
    /// after; a lifting ends only the pre-loss it was written for (the same zone and
    /// end), so a late or repeated one changes nothing.
    pub fn apply(&mut self, party: Party, change: &Change) {
        if self.stopped.is_some() {
            return;
        }
        match change {
            Change::PreLossReported { zone, until } if party.stopped_by(*zone) => {
                self.pre_losses.retain(|(z, _)| z != zone);
                self.pre_losses.push((*zone, *until));
            }
            Change::PreLossLifted { zone, until } => self.pre_losses.retain(|(z, u)| !(z == zone && u == until)),
            Change::PreLossRevoked { zone } => self.pre_losses.retain(|(z, _)| z != zone),
            Change::FormallyLost => self.stopped = Some("formally_lost".into()),
            Change::Superseded { .. } => self.stopped = Some("replaced".into()),
            Change::Cancelled { .. } => self.stopped = Some("cancelled".into()),
            Change::FinancialZoneActivated => self.financial_active = true,
            Change::PreLossReported { .. } => {}
        }
    }

    /// `usable`, or `blocked` with the reason.
    pub fn standing(&self) -> Standing {
        if let Some(reason) = &self.stopped {
            return Standing::Blocked(reason.clone());
        }
        match self.pre_losses.iter().map(|(_, until)| until).max() {
            Some(until) => Standing::Blocked(format!("pre_loss until {}", until.to_rfc3339())),
            None => Standing::Usable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn r_evt_1_a_pre_loss_blocks_until_it_is_revoked_or_lifts() {
        let until = at("2026-12-04T16:00:00Z");
        let mut transit = Listing::default();
        transit.apply(Party::Transit, &Change::PreLossReported { zone: None, until });
        assert!(matches!(transit.standing(), Standing::Blocked(r) if r.starts_with("pre_loss until 2026-12-04")));
        transit.apply(Party::Transit, &Change::PreLossLifted { zone: None, until: at("2026-12-01T00:00:00Z") });
        assert!(matches!(transit.standing(), Standing::Blocked(_)), "a lifting of another pre-loss changes nothing");
        transit.apply(Party::Transit, &Change::PreLossLifted { zone: None, until });
        assert_eq!(transit.standing(), Standing::Usable);

        transit.apply(Party::Transit, &Change::PreLossReported { zone: None, until });
        transit.apply(Party::Transit, &Change::PreLossRevoked { zone: None });
        assert_eq!(transit.standing(), Standing::Usable);
    }

    #[test]
    fn r_evt_1_a_zone_stops_only_its_parties_and_a_final_change_is_for_good() {
        let until = at("2026-12-04T16:00:00Z");
        let financial = Change::PreLossReported { zone: Some(Zone::Financial), until };
        let (mut bank, mut park) = (Listing::default(), Listing::default());
        bank.apply(Party::Bank, &financial);
        park.apply(Party::Park, &financial);
        assert!(matches!(bank.standing(), Standing::Blocked(_)));
        assert_eq!(park.standing(), Standing::Usable, "the park pass does not run in the financial zone");

        park.apply(Party::Park, &Change::Cancelled { reason: "death".into() });
        park.apply(Party::Park, &Change::PreLossRevoked { zone: None });
        assert_eq!(park.standing(), Standing::Blocked("cancelled".into()), "nothing brings a cancelled card back");
        bank.apply(Party::Bank, &Change::FinancialZoneActivated);
        assert!(bank.financial_active);
    }
}
