//! What the store keeps and returns, in plain (decrypted) form.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yikatong_core::identity::Gender;
use yikatong_core::registry::{Category, PersonFlag};
use yikatong_core::settlement::{SettlementKind, SettlementState, VisitState, YearTotals};

/// An employer unit or a service outlet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub code: String,
    pub name: String,
    pub region: String,
    pub created_at: DateTime<Utc>,
    /// A unit's kind (`employer`, `job_centre`, `talent_centre`, `street_office`,
    /// `school`; R-DIST-1); an outlet's `instant_issue` where it makes replacement cards
    /// on the spot (002), `None` for an ordinary counter.
    #[serde(default)]
    pub kind: Option<yikatong_core::registry::OrganisationKind>,
    /// A unit's district, its 6-digit division code (R-GEN-1: a pilot's scope).
    #[serde(default)]
    pub district: Option<String>,
}

/// A designated medical institution or pharmacy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    pub code: String,
    pub name: String,
    pub region: String,
    /// `community`, `1`, `2`, `3` or `pharmacy`.
    pub level: String,
    /// R-SET-12: `a_class`, `tcm` or `specialty` where the region opens the class to
    /// all holders; optional.
    pub class: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An insured person's current record (R-ID-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The person's key: the keyed hash of the ID number they were first registered with,
    /// which their cards, account and history carry for ever (R-EXCH-1: a corrected ID
    /// number keeps it). Filled when read from the store; empty before the first write.
    #[serde(skip)]
    pub key: String,
    /// The full SSN as it is now; encrypted in the database, looked up by its keyed hash.
    pub ssn: String,
    pub name: String,
    /// From the SSN.
    pub gender: Gender,
    pub birth_date: NaiveDate,
    /// GB/T 3304 code.
    pub ethnicity: String,
    pub category: Category,
    pub region: String,
    pub unit_code: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub handbook_no: Option<String>,
    pub flags: Vec<PersonFlag>,
    /// Monthly contribution base (缴费基数) in fen, where the account credit depends on it.
    #[serde(default)]
    pub contribution_base_fen: Option<i64>,
    /// Digest of the person's photo (the photo itself lives with the photo service).
    #[serde(default)]
    pub photo_digest: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; guards concurrent changes.
    pub version: i64,
}

impl Person {
    /// The person's key: as stored, or for a person not stored yet the hash of their ID
    /// number.
    pub fn key_with(&self, k: &crate::DataKey) -> String {
        if self.key.is_empty() { k.lookup_hash(&self.ssn) } else { self.key.clone() }
    }
}

/// One dated information change (R-INFO-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonChange {
    pub ssn: String,
    pub changed_at: DateTime<Utc>,
    /// The business date the change takes effect.
    pub effective_on: NaiveDate,
    /// Who filed it: role and organisation, e.g. `unit:U001`.
    pub actor: String,
    pub fields: Vec<String>,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// What a bearer token allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenGrant {
    pub role: yikatong_core::access::Role,
    pub outlet: Option<String>,
    pub unit: Option<String>,
    pub institution: Option<String>,
    /// Lookup hash of the holder's SSN.
    pub person_hash: Option<String>,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: i64,
    pub grant: TokenGrant,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// First use: go ahead, then finish or abandon.
    Fresh,
    /// Done before with the same request: send this answer again.
    Replay { status: u16, body: Vec<u8> },
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Instants are stored as fixed-width UTC text, which sorts in time order on both
/// databases.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>, crate::StoreError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| crate::StoreError::Corrupt(format!("bad instant {s:?}: {e}")))
}

/// A closed set's value as stored (`what`: the column), or the corruption naming it.
pub(crate) fn parse_closed<T>(what: &str, text: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, crate::StoreError> {
    parse(text).ok_or_else(|| crate::StoreError::Corrupt(format!("{what} {text:?} is not one of its known values")))
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, crate::StoreError> {
    s.parse().map_err(|e| crate::StoreError::Corrupt(format!("bad date {s:?}: {e}")))
}

/// Who did something to a card, through which channel, where and when (every event
/// carries it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    /// e.g. `clerk:O001#12` (role, organisation, token id).
    pub actor: String,
    pub channel: String,
    /// Outlet, unit or institution code, when there is one.
    pub place: Option<String>,
    pub at: DateTime<Utc>,
}

/// One stored card event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub kind: String,
    pub event: serde_json::Value,
    pub meta: EventMeta,
    pub hash: String,
}

/// A production batch (R-APP-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub id: i64,
    pub region: String,
    pub snapshot_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// `[{card_id, person_hash, reason}]`
    pub excluded: serde_json::Value,
}

/// A message waiting for banks and transit (written with the change it reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub topic: String,
    pub card_id: i64,
    /// The notice (`yikatong_core::card::notices::CardNotice`) as JSON.
    pub payload: serde_json::Value,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// When it may be delivered (later than `at` for a pre-loss's lifting).
    pub due: DateTime<Utc>,
    /// When the broker acknowledged it; `None` while it waits.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When a later change withdrew it before it was due.
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// What `ykt audit verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    pub cards: u64,
    pub events: u64,
    pub problems: Vec<String>,
}

/// The chain hash of one card event: HMAC-SM3, keyed by a key derived from the data key
/// (never stored), over the previous hash and the event's fields, marked `k1:`. Without
/// the key no one can write a chain that verifies, even with the whole database.
pub fn event_hash(k: &crate::DataKey, prev: &str, card_id: i64, seq: i64, kind: &str, payload: &str, meta: &EventMeta) -> String {
    let mut data = Vec::new();
    for part in [prev, &card_id.to_string(), &seq.to_string(), kind, payload, &meta.actor, &meta.channel, meta.place.as_deref().unwrap_or(""), &ts(meta.at)] {
        data.extend_from_slice(part.as_bytes());
        data.push(b'\n');
    }
    format!("k1:{}", k.chain_mac(&data))
}

/// A visit registered by an institution (2201), with its visit information (2203A).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRecord {
    pub mdtrt_id: String,
    pub institution: String,
    pub person_hash: String,
    pub card_id: Option<i64>,
    pub ipt_otp_no: String,
    pub state: VisitState,
    /// Registration and visit fields as the HIS sent them (insutype, med_type, begntime,
    /// diagnoses …).
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A fee line as stored (2204).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFeeLine {
    pub sn: String,
    pub chrg_bchno: String,
    pub code: String,
    pub qty_e4: i64,
    pub price_e6: i64,
    pub amount_fen: i64,
    pub setl_id: Option<String>,
}

/// R-SET-6: a manual reimbursement claim; its id is its settlement's `setl_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReimbursementClaim {
    pub id: String,
    pub person_hash: String,
    /// What the funds reimburse (the receipt's fund payment).
    pub amount_fen: i64,
    pub state: yikatong_core::settlement::manual::ClaimState,
    /// The region's working days after submission; `None` while the calendar lacks
    /// the year (R-CAL-2).
    pub due_on: Option<chrono::NaiveDate>,
    pub submitted_by: String,
    pub approved_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    /// Why the bank could not pay it.
    pub failure_reason: Option<String>,
}

/// R-SET-7: the claim to work-injury insurance for a reversed settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkInjuryClaim {
    pub claim_id: String,
    pub setl_id: String,
    pub mdtrt_id: String,
    pub person_hash: String,
    pub institution: String,
    /// The visit's total, which the holder now pays in full.
    pub total_fen: i64,
    /// What the holder owes besides the cash already paid: the fund's and the
    /// account's parts that the reversal took back.
    pub cash_due_fen: i64,
    /// The settlement's fee lines, as split then.
    pub lines: serde_json::Value,
    /// `open` until work-injury insurance decides.
    pub state: String,
    pub created_at: DateTime<Utc>,
}

/// A booked settlement (real-time or manual reimbursement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRecord {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub institution: String,
    pub person_hash: String,
    pub kind: SettlementKind,
    pub state: SettlementState,
    pub visit_date: chrono::NaiveDate,
    pub year: i64,
    /// The receipt with its trace, as the engine produced it.
    pub receipt: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub reversed_at: Option<DateTime<Utc>>,
    /// A settlement across two regions (R-XREG-2): the pair and this copy's side; `None`
    /// for a settlement within one region.
    pub cross_region: Option<yikatong_core::settlement::CrossRegion>,
}

impl SettlementRecord {
    /// Whether this is the care region's copy of a cross-region settlement: its holder is
    /// another region's, known here by `psn_no` and the visit's record of them.
    pub fn is_care_copy(&self) -> bool {
        self.cross_region.as_ref().is_some_and(|x| x.side == yikatong_core::settlement::Side::Care)
    }
}

/// One settlement booked ([`crate::SettlementTx::book_settlement`]): its record, the
/// person's year totals it leaves, the accounts that pay it and the visit's lines it
/// settles.
#[derive(Debug, Clone, Copy)]
pub struct Booking<'a> {
    pub record: &'a SettlementRecord,
    /// The year totals of `record.person_hash` for `record.year` with this settlement in
    /// them (their row locked by [`crate::SettlementTx::lock_year_totals`]).
    pub totals: &'a YearTotals,
    /// The accounts' debits (R-PAY-2): the holder's own, then a family holder's mutual
    /// aid; each written as a `settlement` entry referencing `record.setl_id`.
    pub debits: &'a [AccountDebit],
    /// The visit's lines (`sn`) this settlement marks as its own.
    pub sns: &'a [String],
}

/// A debit of one account for a settlement; `amount_fen` is negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDebit {
    pub person_hash: String,
    pub amount_fen: i64,
    pub reason: String,
}

/// One movement of a personal account (R-ACC-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: yikatong_core::account::EntryKind,
    /// Signed: credits positive, debits negative.
    pub amount_fen: i64,
    pub reference: Option<String>,
    pub reason: String,
}

yikatong_core::closed_set! {
    /// Where a background job is: it runs until it is finished (with its report) or failed
    /// (with its error); a finished or failed job never runs again.
    pub enum JobState {
        Running = "running",
        Finished = "finished",
        Failed = "failed",
    }
}

/// A long-running job and its progress (`GET /v1/jobs/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub params: serde_json::Value,
    pub state: JobState,
    pub total: i64,
    pub done: i64,
    pub report: Option<serde_json::Value>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One monthly credit to write once (R-ACC-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyCredit {
    pub person_hash: String,
    pub amount_fen: i64,
    /// e.g. `monthly:2026-11`: the entry is written at most once per person and reference.
    pub reference: String,
    pub reason: String,
}

/// One row of the population registry extract (人口基础信息库), R-CMP-1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRow {
    pub ssn: String,
    pub name: String,
    /// `male` / `female`.
    pub gender: String,
    pub ethnicity: String,
    pub birth_date: NaiveDate,
    pub photo_digest: Option<String>,
}

/// A resident premium payment (R-PAY-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PremiumPayment {
    pub person_hash: String,
    /// `YYYY-MM`
    pub period: String,
    pub amount_fen: i64,
    /// `online`, `mini_program`, `bank_withholding`, `street_office`, `bank_counter`.
    pub channel: String,
    /// Who paid, when it was someone else.
    pub payer_hash: Option<String>,
    pub paid_at: DateTime<Utc>,
    /// Unique per payment: a payment recorded twice is recorded once.
    pub reference: String,
}

/// The bank's monthly deduction for a person (R-PAY-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PremiumDeduction {
    pub person_hash: String,
    pub period: String,
    pub ok: bool,
    pub reason: Option<String>,
}

/// The fields of a card's stored data, and of its events' payloads, that say who the
/// holder is (the printed name, category and flags): sealed with the data key at rest,
/// like the person record, and opened when read.
const PERSONAL_FIELDS: [&str; 2] = ["printed", "mail_to"];

fn seal_fields(k: &crate::DataKey, v: &mut serde_json::Value) {
    for field in PERSONAL_FIELDS {
        if let Some(x) = v.get_mut(field) {
            *x = serde_json::Value::String(k.seal_text(&x.to_string()));
        }
    }
}

fn open_fields(k: &crate::DataKey, v: &mut serde_json::Value) -> Result<(), crate::StoreError> {
    for field in PERSONAL_FIELDS {
        if let Some(serde_json::Value::String(sealed)) = v.get(field)
            && sealed.starts_with("sm4:")
        {
            let plain = k.open_text(sealed)?;
            v[field] = serde_json::from_str(&plain).map_err(|e| crate::StoreError::Corrupt(format!("{field}: {e}")))?;
        }
    }
    Ok(())
}

/// A value as its text column holds it, personal fields sealed.
fn sealed<T: serde::Serialize>(k: &crate::DataKey, value: &T) -> Result<String, crate::StoreError> {
    let mut v = serde_json::to_value(value).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
    seal_fields(k, &mut v);
    Ok(v.to_string())
}

/// A value from its text column, personal fields opened.
fn opened<T: serde::de::DeserializeOwned>(k: &crate::DataKey, text: &str, what: &str) -> Result<T, crate::StoreError> {
    let mut v: serde_json::Value = serde_json::from_str(text).map_err(|e| crate::StoreError::Corrupt(format!("{what}: {e}")))?;
    open_fields(k, &mut v)?;
    serde_json::from_value(v).map_err(|e| crate::StoreError::Corrupt(format!("{what}: {e}")))
}

/// A card as its `data` column holds it.
pub(crate) fn card_data(k: &crate::DataKey, card: &yikatong_core::card::Card) -> Result<String, crate::StoreError> {
    sealed(k, card)
}

/// A card from its `data` column.
pub(crate) fn card_from_data(k: &crate::DataKey, data: &str) -> Result<yikatong_core::card::Card, crate::StoreError> {
    opened(k, data, "card data")
}

/// An event as its `payload` column holds it; the chain hash covers this text.
pub(crate) fn event_payload(k: &crate::DataKey, e: &yikatong_core::card::CardEvent) -> Result<String, crate::StoreError> {
    sealed(k, e)
}

/// An event from its `payload` column.
pub(crate) fn event_from_payload(k: &crate::DataKey, payload: &str) -> Result<yikatong_core::card::CardEvent, crate::StoreError> {
    opened(k, payload, "event")
}
