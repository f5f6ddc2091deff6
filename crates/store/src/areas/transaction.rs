//! The write transaction ([`CardTx`]) by area: lock, read, write, then commit (or drop
//! to roll back). A service operation takes one and calls what it needs from each part;
//! the parts are traits so that each is small enough to read.

#![allow(clippy::wildcard_imports)]

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::*;

/// One write transaction: every part below, and `commit`.
#[async_trait]
pub trait CardTx: RegistryTx + CardsTx + SettlementTx + FamilyTx + VisitTx + RequestTx + Send {
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// Persons and organisations inside the write transaction.
#[async_trait]
pub trait RegistryTx: Send {
    /// Locks the person's row so that their card operations run one at a time; false if
    /// there is no such person.
    async fn lock_person(&mut self, person_hash: &str) -> StoreResult<bool>;
    // The registry's writes, when they are a request's one transaction (so that its
    // `Idempotency-Key` commits with them).
    async fn insert_unit(&mut self, unit: &Organisation) -> StoreResult<()>;
    async fn insert_outlet(&mut self, outlet: &Organisation) -> StoreResult<()>;
    async fn insert_institution(&mut self, inst: &Institution) -> StoreResult<()>;
    async fn insert_person(&mut self, person: &Person) -> StoreResult<()>;
    /// [`Store::change_person`] in this transaction.
    async fn change_person(&mut self, expected_version: i64, after: &Person, change: &PersonChange) -> StoreResult<()>;

    /// [`RegistryTx::lock_person`] that also reads the person, in this transaction.
    async fn lock_person_record(&mut self, person_hash: &str) -> StoreResult<Option<Person>>;
    /// The persons with these lookup hashes (those that exist), read in this transaction.
    async fn persons_by_hashes(&mut self, hashes: &[String]) -> StoreResult<Vec<(String, Person)>>;
    /// The person, read (not locked) in this transaction.
    async fn person(&mut self, person_hash: &str) -> StoreResult<Option<Person>>;
}

/// Cards, their events, fees and production batches inside the write transaction.
#[async_trait]
pub trait CardsTx: Send {
    async fn lock_card(&mut self, id: i64) -> StoreResult<Option<Card>>;
    async fn person_cards(&mut self, person_hash: &str) -> StoreResult<Vec<Card>>;
    /// Up to `limit` cards of a region in state `applied` with ids after `after_id`,
    /// oldest first, locked.
    async fn applied_cards(&mut self, region: &str, after_id: i64, limit: i64) -> StoreResult<Vec<Card>>;
    /// Stores a new card and its first events; returns its id.
    async fn insert_card(&mut self, card: &Card, events: &[CardEvent], meta: &EventMeta) -> StoreResult<i64>;
    /// Appends events (chained) and stores the card as they leave it; events with an
    /// outbox topic are queued for banks and transit in the same transaction.
    async fn record(&mut self, card: &Card, events: &[CardEvent], meta: &EventMeta) -> StoreResult<()>;
    /// A fee charged for a card (`replacement`, `delivery`, `card` …) and how it was paid.
    async fn record_fee(&mut self, card_id: i64, person_hash: &str, fee: (&str, i64), payment_method: Option<&str>, meta: &EventMeta) -> StoreResult<()>;
    async fn insert_batch(&mut self, region: &str, snapshot_at: DateTime<Utc>, created_at: DateTime<Utc>) -> StoreResult<i64>;
    async fn set_batch_excluded(&mut self, id: i64, excluded: &serde_json::Value) -> StoreResult<()>;

    // The same for many cards at once (city-scale batches), a few statements per
    // thousands of cards.
    /// Locks the persons and returns all their cards, locked.
    async fn lock_persons_cards(&mut self, person_hashes: &[String]) -> StoreResult<Vec<Card>>;
    /// R-APP-4: of these persons, those the province's register shows with a working card
    /// of another city: `(person_hash, city's division code)`.
    async fn province_cards(&mut self, person_hashes: &[String]) -> StoreResult<Vec<(String, String)>>;
    /// Stores new cards with their first events; returns their ids in order.
    async fn insert_cards(&mut self, cards: &[(Card, Vec<CardEvent>)], meta: &EventMeta) -> StoreResult<Vec<i64>>;
    /// [`CardsTx::record`] for many cards, each locked in this transaction first.
    async fn record_many(&mut self, changes: &[(Card, Vec<CardEvent>)], meta: &EventMeta) -> StoreResult<()>;
}

/// Money inside the write transaction: year totals, accounts, settlements, premiums, claims.
#[async_trait]
pub trait SettlementTx: Send {
    /// The person's year totals, locked (created at zero when missing).
    async fn lock_year_totals(&mut self, person_hash: &str, year: i64) -> StoreResult<YearTotals>;
    async fn save_year_totals(&mut self, person_hash: &str, year: i64, totals: &YearTotals) -> StoreResult<()>;
    /// The account balance: the sum of the entries (call after [`RegistryTx::lock_person`]).
    async fn account_balance(&mut self, person_hash: &str) -> StoreResult<i64>;
    /// What a settlement reads of a locked person's account in one statement: the
    /// balance and the holder whose mutual-aid account pays after it (R-PAY-2), if any.
    async fn account_and_holder(&mut self, person_hash: &str) -> StoreResult<(i64, Option<String>)>;
    /// The person's account entries, oldest first, read in this transaction.
    async fn account_entries(&mut self, person_hash: &str) -> StoreResult<Vec<AccountEntry>>;
    async fn append_account_entry(
        &mut self,
        person_hash: &str,
        at: DateTime<Utc>,
        kind: yikatong_core::account::EntryKind,
        amount_fen: i64,
        reference: Option<&str>,
        reason: &str,
    ) -> StoreResult<()>;
    async fn insert_settlement(&mut self, s: &SettlementRecord) -> StoreResult<()>;
    /// Books a settlement: its record, the year totals it leaves, its debits and its lines
    /// marked, in one statement on PostgreSQL (a data-modifying `WITH`) and one by one on
    /// SQLite. Returns how many lines it marked (the caller checks it is all of them).
    async fn book_settlement(&mut self, booking: &Booking<'_>) -> StoreResult<u64>;
    async fn lock_settlement(&mut self, setl_id: &str) -> StoreResult<Option<SettlementRecord>>;
    async fn mark_settlement_reversed(&mut self, setl_id: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// A premium payment in this transaction, once per reference (`false`: recorded
    /// already).
    async fn insert_premium_payment(&mut self, p: &PremiumPayment) -> StoreResult<bool>;
    /// A month's deduction result for a person, in this transaction.
    async fn record_deduction(&mut self, d: &PremiumDeduction, at: DateTime<Utc>) -> StoreResult<()>;
    async fn insert_reimbursement_claim(&mut self, c: &ReimbursementClaim) -> StoreResult<()>;
    /// Puts the oldest approved claims, at most `limit`, into the payment file
    /// `file_id` (`sent`) in this transaction and answers them in their order; a claim
    /// another file took meanwhile is not taken again.
    async fn send_approved_reimbursements(&mut self, file_id: &str, at: DateTime<Utc>, limit: i64) -> StoreResult<Vec<ReimbursementClaim>>;
    /// One claim per settlement: a second is [`StoreError::Duplicate`].
    async fn insert_work_injury_claim(&mut self, c: &WorkInjuryClaim) -> StoreResult<()>;
    /// The live (not reversed) settlement of this kind for the visit, if any.
    async fn live_settlement(&mut self, mdtrt_id: &str, kind: yikatong_core::settlement::SettlementKind) -> StoreResult<Option<String>>;
    /// Every live settlement of the visit, `(kind, setl_id)`, in one read.
    async fn live_settlements(&mut self, mdtrt_id: &str) -> StoreResult<Vec<(yikatong_core::settlement::SettlementKind, String)>>;
    /// Marks these unsettled lines of the visit as settled by `setl_id`; returns how
    /// many it marked (the caller checks it is all of them).
    async fn mark_lines_settled(&mut self, mdtrt_id: &str, setl_id: &str, sns: &[String]) -> StoreResult<u64>;
    /// Frees the lines of a reversed settlement; returns how many.
    async fn free_lines(&mut self, mdtrt_id: &str, setl_id: &str) -> StoreResult<u64>;
}

/// Family mutual-aid bindings (R-PAY-2) inside the write transaction.
#[async_trait]
pub trait FamilyTx: Send {
    /// The holder whose mutual-aid account pays for `member_hash` (R-PAY-2), read in
    /// this transaction.
    async fn family_holder_of(&mut self, member_hash: &str) -> StoreResult<Option<String>>;
    /// Whether `person_hash` pays for family members of their own, in this transaction.
    async fn is_family_holder(&mut self, person_hash: &str) -> StoreResult<bool>;
    /// Binds a member in this transaction (a member bound already is
    /// [`StoreError::Duplicate`]).
    async fn bind_family_member(&mut self, m: &crate::FamilyMember) -> StoreResult<()>;
}

/// Visits, fee lines and what a visit is checked against, inside the write transaction.
#[async_trait]
pub trait VisitTx: Send {
    /// Catalogue items of these codes, read in this transaction (a request holding a
    /// transaction reads through it, never through a second pooled connection).
    async fn catalog_items(&mut self, codes: &[String], region: &str, on: NaiveDate) -> StoreResult<Vec<CatalogItem>>;

    // Visits and fee lines (2201-2205): the visit's row is locked by every change of
    // its lines and by its settlement, so they run one at a time.
    async fn insert_visit(&mut self, v: &VisitRecord) -> StoreResult<()>;
    async fn lock_visit(&mut self, mdtrt_id: &str) -> StoreResult<Option<VisitRecord>>;
    async fn update_visit(&mut self, v: &VisitRecord) -> StoreResult<()>;
    /// The visit's lines, read in this transaction.
    async fn visit_lines(&mut self, mdtrt_id: &str) -> StoreResult<Vec<StoredFeeLine>>;
    /// The visit's lines (in `sn` order) and, for the unsettled ones, the catalogue items
    /// in force in `region` on `on` ([`VisitTx::catalog_items`]), in one read.
    async fn priced_visit_lines(&mut self, mdtrt_id: &str, region: &str, on: NaiveDate) -> StoreResult<(Vec<StoredFeeLine>, Vec<CatalogItem>)>;
    /// Adds fee lines; a line number already in the visit is a duplicate.
    async fn insert_fee_lines(&mut self, mdtrt_id: &str, chrg_bchno: &str, lines: &[StoredFeeLine]) -> StoreResult<()>;
    /// Removes unsettled lines of a batch (`0000`: all unsettled lines); returns how many.
    async fn delete_unsettled_lines(&mut self, mdtrt_id: &str, chrg_bchno: &str) -> StoreResult<u64>;
    /// Marks an electronic voucher used by the visit `mdtrt_id` of `institution`, in this
    /// transaction: `false` when it is used already, expired at `at`, or was read by
    /// another institution (the conditional update only one registration wins).
    async fn use_voucher(&mut self, code_hash: &str, institution: &str, mdtrt_id: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// The designated institutions the person's choice in force on `on` names
    /// (R-SET-12); `None` when no choice is recorded from on or before that date.
    async fn designated_choice_at(&mut self, person_hash: &str, on: NaiveDate) -> StoreResult<Option<Vec<String>>>;
    /// Links the institution's visit card `visit_card_no` to the holder (R-SET-9), in
    /// this transaction; a holder's earlier number at the institution is replaced. A
    /// number linked to someone else is [`StoreError::Duplicate`].
    async fn link_visit_card(&mut self, institution: &str, visit_card_no: &str, person_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records that the visit was registered on a card-collection certificate
    /// (R-CERT-1), in the registration's transaction.
    async fn insert_certificate_visit(&mut self, mdtrt_id: &str, certificate_number: &str, person_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
}

/// Exactly-once requests (`Idempotency-Key`, HIS `msgid`), claimed in the same transaction as the request's work.
#[async_trait]
pub trait RequestTx: Send {
    /// Claims `key` for this transaction: `Fresh` when it was free (an entry created
    /// before `expire_before` counts as free and is replaced), otherwise what is kept.
    /// A concurrent claim of the same key waits for this transaction to end.
    async fn claim_request(&mut self, token_id: i64, key: &str, fingerprint: &str, at: DateTime<Utc>, expire_before: Option<DateTime<Utc>>) -> StoreResult<IdempotencyBegin>;
    /// Keeps the answer of a key claimed in this transaction.
    async fn save_response(&mut self, token_id: i64, key: &str, status: u16, body: &[u8]) -> StoreResult<()>;
}
