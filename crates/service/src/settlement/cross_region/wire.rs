//! The messages between regions, as JSON: what the care region asks ([`RegionCall`]) and
//! what the insured region answers ([`RegionAnswer`]). Field names are part of the
//! contract between deployments of different versions: add, never rename.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yikatong_core::card::Card;
use yikatong_core::money::Fen;
use yikatong_core::settlement::catalog::FeeLine;
use yikatong_core::settlement::{CatalogItem, Receipt, SettlementKind};
use yikatong_store::Person;

/// Who asks: the care region and its institution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFrom {
    /// The care region's division code (`mdtrtarea_admvs` as its file gives it).
    pub care_admdvs: String,
    /// The institution's code (`fixmedins_code`).
    pub institution: String,
}

/// One settlement of a 2206/2207: the registration fee's (R-SET-5) or the visit's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub kind: SettlementKind,
    pub setl_id: String,
    pub use_account: bool,
    /// The lines with the care region's catalogue item (R-XREG-2).
    pub lines: Vec<(FeeLine, CatalogItem)>,
}

/// A call from the care region to the insured region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RegionCall {
    /// 1101: the holder a credential names.
    Person { from: CallFrom, cert_type: String, cert_no: String, card_sn: Option<String> },
    /// 2201: may the holder register a visit with this credential (the card's first use
    /// starts its social zone, R-ACT-1; a voucher is spent on the visit).
    Register { from: CallFrom, call_key: String, mdtrt_id: String, psn_no: String, cert_type: String, cert_no: String, card_sn: Option<String>, begntime: String },
    /// 2206 (`book` false) and 2207: compute the parts under the insured region's policy
    /// and, for 2207, book them against the holder.
    Settle {
        from: CallFrom,
        call_key: String,
        mdtrt_id: String,
        psn_no: String,
        date: NaiveDate,
        credential: String,
        card_id: Option<i64>,
        level: String,
        book: bool,
        parts: Vec<Part>,
    },
    /// 2208: reverse a settlement booked by a `Settle`.
    Reverse { from: CallFrom, call_key: String, setl_id: String },
}

impl RegionCall {
    /// What identifies the call's contents for its key: the call as sent, less the
    /// settlement ids the care region drew for this attempt (a repeated call draws new
    /// ones and is answered with the first).
    pub fn fingerprint(&self) -> Vec<u8> {
        let mut same = self.clone();
        if let RegionCall::Settle { parts, .. } = &mut same {
            for p in parts {
                p.setl_id.clear();
            }
        }
        serde_json::to_vec(&same).unwrap_or_default()
    }

    /// The key the insured region claims for the call, when the call writes.
    pub fn call_key(&self) -> Option<&str> {
        match self {
            RegionCall::Person { .. } | RegionCall::Settle { book: false, .. } => None,
            RegionCall::Register { call_key, .. } | RegionCall::Settle { call_key, .. } | RegionCall::Reverse { call_key, .. } => Some(call_key),
        }
    }
}

/// The insured region's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RegionAnswer {
    /// 1101's holder: their record as another region may see it (the ID number masked),
    /// the account balance and the card in use.
    Person { psn_no: String, holder: Box<Person>, balance: Fen, card: Box<Option<Card>>, admdvs: String },
    /// 2201 may go ahead: the holder as above and the card the visit is registered with.
    Registered { holder: Box<Person>, card_id: Option<i64> },
    /// The parts' receipts in the order sent, computed (and for 2207 booked) at
    /// `settled_at` under `setl_ids` (the ids the first call of this key sent).
    Settled { settled_at: DateTime<Utc>, setl_ids: Vec<String>, receipts: Vec<Receipt>, holder: Box<Person> },
    /// The settlement is reversed: the holder's year totals and account are restored.
    Reversed { reversed_at: DateTime<Utc> },
    /// Refused, with the refusal's kind, code and message as the insured region gave it.
    Refused { kind: String, code: String, message: String },
}
