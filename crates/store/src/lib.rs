//! Yikatong's storage. One [`Store`] trait of whole business operations, implemented on
//! SQLite (the embedded default) and on PostgreSQL. Both implementations are the same
//! source (`backend.rs`) compiled against each database's types, with their own
//! migrations and the few statements that differ; the two-backend tests cover every query.
//!
//! The store encrypts personal data on the way in and decrypts it on the way out, so no
//! layer above sees ciphertext and no table holds a readable ID number, name or phone.
//! The store never decides business rules.

mod backend;
mod backend_bulk;
mod backend_cards;
mod backend_designated;
mod backend_family;
mod backend_gateway;
mod backend_his;
mod backend_settlement;
mod backend_sign_in;
mod backend_verify;
pub mod crypto;
pub mod designated;
pub mod family;
pub mod gateway;
pub mod his;
mod postgres;
mod records;
pub mod sign_in;
mod sqlite;
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

pub use crypto::{DataKey, KeyError};
pub use designated::{ChoiceCounts, DesignatedChoice, DesignatedStore};
pub use family::{FamilyMember, FamilyStore};
pub use gateway::{GatewayStore, HisCredential};
pub use his::{HisFile, HisStore, Voucher};
pub use records::*;
pub use sign_in::{PortalSession, QueuedMessage, SignInCode, SignInStore};
use yikatong_core::card::{Card, CardEvent};
use yikatong_core::settlement::{CatalogEntry, CatalogItem, YearTotals};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (a code, an SSN, an idempotency key).
    #[error("{0} already exists")]
    Duplicate(String),
    /// A person names a unit that is not registered.
    #[error("there is no unit {0}")]
    UnknownUnit(String),
    /// Someone else changed the row first; reload and try again.
    #[error("{0} was changed by someone else at the same time; try again")]
    Conflict(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("cannot open the database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the database's migrations failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whole business operations; each is one transaction.
#[async_trait]
pub trait Store: SignInStore + GatewayStore + HisStore + DesignatedStore + FamilyStore + Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    fn data_key(&self) -> &DataKey;

    async fn ping(&self) -> StoreResult<()>;

    // What `ykt verify` reads: aggregates, and whole tables a page at a time in key
    // order (`after` is the last key of the page before).
    /// Visits with more than one live settlement of a kind: `("visit (kind)", count)`.
    async fn duplicate_live_settlements(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Persons with more than one card that settles: `(person_hash, count)`.
    async fn persons_with_cards_that_settle(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Accounts whose entries add up below zero: `(person_hash, balance)`.
    async fn negative_balances(&self) -> StoreResult<Vec<(String, i64)>>;
    async fn settlements_page(&self, after: &str, limit: i64) -> StoreResult<Vec<SettlementRecord>>;
    /// Reimbursement claims in id order after `after`, at most `limit`.
    async fn reimbursement_claims_page(&self, after: &str, limit: i64) -> StoreResult<Vec<ReimbursementClaim>>;
    async fn ledger_page(&self, after_id: i64, limit: i64) -> StoreResult<Vec<(String, AccountEntry)>>;
    async fn year_totals_page(&self, after: &(String, i64), limit: i64) -> StoreResult<Vec<(String, i64, YearTotals)>>;
    /// Fee lines marked settled: `(mdtrt_id, sn, setl_id)`.
    async fn settled_lines_page(&self, after: &(String, String), limit: i64) -> StoreResult<Vec<(String, String, String)>>;
    /// Cards after `after_id` with their `state` column and their events, oldest first
    /// (or why a card's events cannot be read).
    async fn cards_with_events_page(&self, after_id: i64, limit: i64) -> StoreResult<Vec<(Card, String, Result<Vec<CardEvent>, String>)>>;
    /// Every card's chain head after `after_id`: `(card_id, last_seq, head_hash)`.
    async fn chain_heads_page(&self, after_id: i64, limit: i64) -> StoreResult<Vec<(i64, i64, String)>>;
    /// The hashes of the events of cards `first..=last`: `(card_id, seq, hash)`.
    async fn event_hashes_of(&self, first: i64, last: i64) -> StoreResult<Vec<(i64, i64, String)>>;
    /// Outbox messages per card: `(card_id, count)`.
    async fn outbox_counts(&self) -> StoreResult<Vec<(i64, i64)>>;
    /// The versions of the migrations applied to this database, in order.
    async fn applied_migrations(&self) -> StoreResult<Vec<i64>>;

    // Registry (SPEC §1-2).
    async fn insert_unit(&self, unit: &Organisation) -> StoreResult<()>;
    async fn get_unit(&self, code: &str) -> StoreResult<Option<Organisation>>;
    async fn insert_outlet(&self, outlet: &Organisation) -> StoreResult<()>;
    async fn get_outlet(&self, code: &str) -> StoreResult<Option<Organisation>>;
    async fn insert_institution(&self, inst: &Institution) -> StoreResult<()>;
    async fn get_institution(&self, code: &str) -> StoreResult<Option<Institution>>;

    async fn insert_person(&self, person: &Person) -> StoreResult<()>;
    /// Inserts many persons in one transaction (demo data, bulk loads); persons already
    /// present are skipped. Returns how many were inserted.
    async fn insert_persons(&self, persons: &[Person]) -> StoreResult<u64>;
    async fn get_person(&self, ssn: &str) -> StoreResult<Option<Person>>;
    async fn find_person_by_handbook(&self, handbook_no: &str) -> StoreResult<Option<Person>>;
    async fn count_persons(&self) -> StoreResult<i64>;
    /// R-INFO-1: replaces the person's current record with `after` if its version is
    /// still `expected_version`, and appends `change` to the dated history, together.
    async fn change_person(&self, expected_version: i64, after: &Person, change: &PersonChange) -> StoreResult<()>;
    async fn person_history(&self, ssn: &str) -> StoreResult<Vec<PersonChange>>;
    /// Many persons' flags changed at once (each at its expected version), each change
    /// kept in the history, in one transaction; a conflict on any changes none.
    async fn change_flags(&self, changes: &[(i64, Person, PersonChange)]) -> StoreResult<()>;

    // Access tokens.
    async fn insert_token(&self, token_hash: &str, grant: &TokenGrant, at: DateTime<Utc>) -> StoreResult<i64>;
    async fn find_token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>>;
    async fn revoke_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>>;

    // Idempotency of creating requests.
    /// What is kept for a key, read without claiming it: `None` when nothing (or only
    /// an entry created before `expire_before`) is kept. The claim itself is
    /// [`CardTx::claim_request`], inside the transaction of the work.
    async fn idempotency_peek(&self, token_id: i64, key: &str, fingerprint: &str, expire_before: Option<DateTime<Utc>>) -> StoreResult<Option<IdempotencyBegin>>;
    async fn idempotency_finish(&self, token_id: i64, key: &str, status: u16, body: &[u8]) -> StoreResult<()>;
    async fn idempotency_abandon(&self, token_id: i64, key: &str) -> StoreResult<()>;
    /// Removes claims without an answer (left by a multi-transaction request when the
    /// service stopped); returns how many.
    async fn release_unanswered_claims(&self) -> StoreResult<u64>;
    /// Marks jobs still `running` as `interrupted` (at start-up); returns how many.
    async fn interrupt_running_jobs(&self, at: DateTime<Utc>) -> StoreResult<u64>;

    // Working-day calendar years loaded by an operator (R-CAL-2).
    async fn put_calendar_year(&self, year: i32, toml: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn calendar_years(&self) -> StoreResult<Vec<(i32, String)>>;

    // Cards (SPEC §4).
    async fn begin_cards(&self) -> StoreResult<Box<dyn CardTx>>;
    async fn get_card(&self, id: i64) -> StoreResult<Option<Card>>;
    async fn cards_of_person(&self, person_hash: &str) -> StoreResult<Vec<Card>>;
    async fn card_by_certificate(&self, number: &str) -> StoreResult<Option<Card>>;
    /// Cards carrying this printed number (a replacement may reuse none, but an old
    /// card keeps its number after it is replaced).
    async fn cards_by_number(&self, card_number: &str) -> StoreResult<Vec<Card>>;
    /// The person whose lookup hash starts with `prefix` (the national `psn_no`).
    async fn person_by_hash_prefix(&self, prefix: &str) -> StoreResult<Option<Person>>;
    async fn card_events(&self, id: i64) -> StoreResult<Vec<StoredEvent>>;
    /// A card's fees as charged: (kind, fen, payment method), oldest first.
    async fn card_fees(&self, card_id: i64) -> StoreResult<Vec<(String, i64, Option<String>)>>;
    /// Cards whose certificate's collection date waits for calendar `year` (R-CAL-2).
    async fn cards_awaiting_year(&self, year: i32) -> StoreResult<Vec<i64>>;
    /// Cards past their promise: not produced by their production date (R-APP-3), or not
    /// handed out by their unit's day (R-DIST-1).
    async fn overdue_cards(&self, today: chrono::NaiveDate) -> StoreResult<Vec<Card>>;
    async fn cards_in_batch(&self, batch_id: i64) -> StoreResult<Vec<Card>>;
    async fn get_batch(&self, id: i64) -> StoreResult<Option<BatchRecord>>;
    /// The snapshot instant of the region's latest production batch, if any.
    async fn latest_batch_snapshot(&self, region: &str) -> StoreResult<Option<DateTime<Utc>>>;
    async fn get_person_by_hash(&self, person_hash: &str) -> StoreResult<Option<Person>>;
    async fn outbox(&self, after_id: i64, limit: i64) -> StoreResult<Vec<OutboxMessage>>;
    /// Recomputes every card's event chain and compares it with the card's head.
    async fn verify_audit(&self) -> StoreResult<AuditReport>;

    // Catalogue, visits, fee lines, settlements and accounts (SPEC §5, §7).
    /// Inserts or replaces catalogue entries (by code, region and date) in one
    /// transaction; returns how many.
    async fn upsert_catalog_entries(&self, entries: &[CatalogEntry], at: DateTime<Utc>) -> StoreResult<u64>;
    /// Inserts or replaces region-independent entries in force always.
    async fn upsert_catalog_items(&self, items: &[CatalogItem], at: DateTime<Utc>) -> StoreResult<u64> {
        self.upsert_catalog_entries(&items.iter().cloned().map(CatalogEntry::everywhere).collect::<Vec<_>>(), at).await
    }
    /// The region-independent entry in force always.
    async fn catalog_item(&self, code: &str) -> StoreResult<Option<CatalogItem>>;
    /// The items of these codes in force in `region` on `on`, in one query (codes
    /// without an entry in force are absent; see [`yikatong_core::settlement::entry_in_force`]).
    async fn catalog_items(&self, codes: &[String], region: &str, on: NaiveDate) -> StoreResult<Vec<CatalogItem>>;
    async fn get_visit(&self, mdtrt_id: &str) -> StoreResult<Option<VisitRecord>>;
    async fn fee_lines(&self, mdtrt_id: &str) -> StoreResult<Vec<StoredFeeLine>>;
    /// The visits registered on a card-collection certificate (R-CERT-1), oldest first.
    async fn certificate_visits(&self, certificate_number: &str) -> StoreResult<Vec<String>>;
    async fn get_settlement(&self, setl_id: &str) -> StoreResult<Option<SettlementRecord>>;
    async fn work_injury_claim(&self, claim_id: &str) -> StoreResult<Option<WorkInjuryClaim>>;
    async fn reimbursement_claim(&self, id: &str) -> StoreResult<Option<ReimbursementClaim>>;
    /// A person's reimbursement claims, oldest first.
    async fn reimbursement_claims_of(&self, person_hash: &str) -> StoreResult<Vec<ReimbursementClaim>>;
    /// Approves a submitted claim; `false` when it is not submitted (approved already).
    async fn approve_reimbursement(&self, id: &str, by: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Moves a claim from `from` to `to` (`paid`, `failed` with its reason); `false`
    /// when it is not in `from`.
    async fn move_reimbursement(&self, id: &str, from: &str, to: &str, reason: Option<&str>, at: DateTime<Utc>) -> StoreResult<bool>;
    /// The claims of a payment file, in its order.
    async fn reimbursements_in_file(&self, file_id: &str) -> StoreResult<Vec<ReimbursementClaim>>;
    async fn settlements_of_person(&self, person_hash: &str) -> StoreResult<Vec<SettlementRecord>>;
    async fn account_entries(&self, person_hash: &str) -> StoreResult<Vec<AccountEntry>>;
    async fn year_totals(&self, person_hash: &str, year: i64) -> StoreResult<YearTotals>;

    // Batch work (issue: city scale).
    /// Persons in lookup-hash order after `after` (keyset paging, so a run can resume).
    async fn persons_page(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, Person)>>;
    /// The persons with these lookup hashes (those that exist), in one statement per
    /// few thousand.
    /// R-EXCH-1: the key of the person whose ID number is now the one hashed to
    /// `number_hash`.
    async fn person_key_of_number(&self, number_hash: &str) -> StoreResult<Option<String>>;
    /// Persons by the keyed hash of their ID number as it is now (files name people by
    /// their number), each with that hash.
    async fn persons_by_numbers(&self, number_hashes: &[String]) -> StoreResult<Vec<(String, Person)>>;
    async fn persons_by_hashes(&self, hashes: &[String]) -> StoreResult<Vec<(String, Person)>>;
    /// A unit's persons in lookup-hash order after `after`.
    async fn unit_persons_page(&self, unit: &str, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, Person)>>;
    /// Writes monthly credits in one transaction, each at most once per person and
    /// reference; says for each whether this call wrote it.
    async fn credit_once(&self, credits: &[MonthlyCredit], at: DateTime<Utc>) -> StoreResult<Vec<bool>>;
    async fn create_job(&self, kind: &str, params: &serde_json::Value, total: i64, at: DateTime<Utc>) -> StoreResult<i64>;
    async fn update_job(&self, id: i64, state: &str, done: i64, report: Option<&serde_json::Value>, at: DateTime<Utc>) -> StoreResult<()>;
    async fn get_job(&self, id: i64) -> StoreResult<Option<JobRecord>>;

    // Comparison with the population registry (R-CMP-1..4).
    /// Inserts or replaces registry rows in one transaction; returns how many.
    async fn upsert_registry_rows(&self, rows: &[RegistryRow], at: DateTime<Utc>) -> StoreResult<u64>;
    async fn registry_row(&self, ssn: &str) -> StoreResult<Option<RegistryRow>>;
    /// R-APP-4: the province's card register: `(ssn, city's division code, card works)`
    /// rows; a working card's row is kept (the last row of a person wins), another's
    /// removed. Returns how many rows were applied.
    async fn load_province_cards(&self, rows: &[(String, String, bool)], at: DateTime<Utc>) -> StoreResult<u64>;
    async fn save_comparison(&self, ssn: &str, marks: &serde_json::Value, at: DateTime<Utc>) -> StoreResult<()>;
    /// Persons in lookup-hash order after `after`, each with their registry row if the
    /// extract has one (one statement per page).
    async fn compare_page(&self, after: Option<&str>, limit: i64) -> StoreResult<Vec<(String, Person, Option<RegistryRow>)>>;
    /// Keeps many persons' marks (lookup hash, marks) in one transaction.
    async fn save_comparisons(&self, marks: &[(String, serde_json::Value)], at: DateTime<Utc>) -> StoreResult<()>;
    async fn comparison(&self, ssn: &str) -> StoreResult<Option<(serde_json::Value, DateTime<Utc>)>>;

    // Resident premiums (R-PAY-1, R-PAY-2).
    /// Records a payment once per reference; false when the reference was recorded before.
    async fn insert_premium_payment(&self, p: &PremiumPayment) -> StoreResult<bool>;
    async fn record_deduction(&self, d: &PremiumDeduction, at: DateTime<Utc>) -> StoreResult<()>;
    async fn premium_payments(&self, person_hash: &str) -> StoreResult<Vec<PremiumPayment>>;
    async fn failed_deductions(&self, person_hash: Option<&str>, period: Option<&str>) -> StoreResult<Vec<PremiumDeduction>>;

    /// The card-life benchmark's baseline: `ops` raw transactions (lock a card row,
    /// insert an event, update its state) over `cards` scratch cards of `card_json`'s
    /// size on `concurrency` connections, in scratch tables dropped afterwards.
    async fn baseline_card_transactions(&self, cards: usize, ops: usize, concurrency: usize, card_json: &str) -> StoreResult<std::time::Duration>;

    /// The benchmark baseline: each person written by a single-row INSERT transaction
    /// (`BEGIN; INSERT; COMMIT`) straight into the persons table, spread over
    /// `concurrency` connections; the rows are removed afterwards. Returns the time the
    /// inserts took.
    async fn baseline_single_row_inserts(&self, persons: &[Person], concurrency: usize) -> StoreResult<std::time::Duration>;

    /// Refreshes the query planner's statistics of `tables` (`ANALYZE`), after a bulk
    /// load has changed them by more than the database would notice in time.
    async fn refresh_statistics(&self, tables: &[&str]) -> StoreResult<()>;

    /// The city benchmark's baseline: the rows `select` reads from `table` loaded again,
    /// the database's fastest way, into an empty copy of `table` (PostgreSQL: `COPY …
    /// FROM STDIN` of the rows as `COPY … TO STDOUT` gave them; SQLite: one
    /// `INSERT … SELECT` in one transaction). Returns the rows and the loading time; the
    /// copy is dropped.
    async fn bulk_load_baseline(&self, table: &str, select: &str) -> StoreResult<(u64, std::time::Duration)>;
}

/// One transaction over cards: lock, read, write, then commit (or drop to roll back).
#[async_trait]
pub trait CardTx: Send {
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

    /// [`CardTx::lock_person`] that also reads the person, in this transaction.
    async fn lock_person_record(&mut self, person_hash: &str) -> StoreResult<Option<Person>>;
    /// The persons with these lookup hashes (those that exist), read in this transaction.
    async fn persons_by_hashes(&mut self, hashes: &[String]) -> StoreResult<Vec<(String, Person)>>;
    /// The person, read (not locked) in this transaction.
    async fn person(&mut self, person_hash: &str) -> StoreResult<Option<Person>>;
    /// Catalogue items of these codes, read in this transaction (a request holding a
    /// transaction reads through it, never through a second pooled connection).
    async fn catalog_items(&mut self, codes: &[String], region: &str, on: NaiveDate) -> StoreResult<Vec<CatalogItem>>;
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
    /// [`CardTx::record`] for many cards, each locked in this transaction first.
    async fn record_many(&mut self, changes: &[(Card, Vec<CardEvent>)], meta: &EventMeta) -> StoreResult<()>;

    // Settlement and the personal account, in the same unit of work as the card check.
    /// The person's year totals, locked (created at zero when missing).
    async fn lock_year_totals(&mut self, person_hash: &str, year: i64) -> StoreResult<YearTotals>;
    async fn save_year_totals(&mut self, person_hash: &str, year: i64, totals: &YearTotals) -> StoreResult<()>;
    /// The account balance: the sum of the entries (call after `lock_person`).
    async fn account_balance(&mut self, person_hash: &str) -> StoreResult<i64>;
    /// The person's account entries, oldest first, read in this transaction.
    async fn account_entries(&mut self, person_hash: &str) -> StoreResult<Vec<AccountEntry>>;
    async fn append_account_entry(&mut self, person_hash: &str, at: DateTime<Utc>, kind: &str, amount_fen: i64, reference: Option<&str>, reason: &str) -> StoreResult<()>;
    async fn insert_settlement(&mut self, s: &SettlementRecord) -> StoreResult<()>;
    async fn lock_settlement(&mut self, setl_id: &str) -> StoreResult<Option<SettlementRecord>>;
    async fn mark_settlement_reversed(&mut self, setl_id: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// A premium payment in this transaction, once per reference (`false`: recorded
    /// already).
    async fn insert_premium_payment(&mut self, p: &PremiumPayment) -> StoreResult<bool>;
    /// The holder whose mutual-aid account pays for `member_hash` (R-PAY-2), read in
    /// this transaction.
    async fn family_holder_of(&mut self, member_hash: &str) -> StoreResult<Option<String>>;
    /// Whether `person_hash` pays for family members of their own, in this transaction.
    async fn is_family_holder(&mut self, person_hash: &str) -> StoreResult<bool>;
    /// Binds a member in this transaction (a member bound already is
    /// [`StoreError::Duplicate`]).
    async fn bind_family_member(&mut self, m: &crate::FamilyMember) -> StoreResult<()>;
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
    async fn live_settlement(&mut self, mdtrt_id: &str, kind: &str) -> StoreResult<Option<String>>;
    /// Marks these unsettled lines of the visit as settled by `setl_id`; returns how
    /// many it marked (the caller checks it is all of them).
    async fn mark_lines_settled(&mut self, mdtrt_id: &str, setl_id: &str, sns: &[String]) -> StoreResult<u64>;
    /// Frees the lines of a reversed settlement; returns how many.
    async fn free_lines(&mut self, mdtrt_id: &str, setl_id: &str) -> StoreResult<u64>;

    // Visits and fee lines (2201-2205): the visit's row is locked by every change of
    // its lines and by its settlement, so they run one at a time.
    async fn insert_visit(&mut self, v: &VisitRecord) -> StoreResult<()>;
    async fn lock_visit(&mut self, mdtrt_id: &str) -> StoreResult<Option<VisitRecord>>;
    async fn update_visit(&mut self, v: &VisitRecord) -> StoreResult<()>;
    /// The visit's lines, read in this transaction.
    async fn visit_lines(&mut self, mdtrt_id: &str) -> StoreResult<Vec<StoredFeeLine>>;
    /// Adds fee lines; a line number already in the visit is a duplicate.
    async fn insert_fee_lines(&mut self, mdtrt_id: &str, chrg_bchno: &str, lines: &[StoredFeeLine]) -> StoreResult<()>;
    /// Removes unsettled lines of a batch (`0000`: all unsettled lines); returns how many.
    async fn delete_unsettled_lines(&mut self, mdtrt_id: &str, chrg_bchno: &str) -> StoreResult<u64>;
    /// Marks an electronic voucher used by the visit `mdtrt_id` of `institution`, in this
    /// transaction: `false` when it is used already, expired at `at`, or was read by
    /// another institution (the conditional update only one registration wins).
    async fn use_voucher(&mut self, code_hash: &str, institution: &str, mdtrt_id: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Links the institution's visit card `visit_card_no` to the holder (R-SET-9), in
    /// this transaction; a holder's earlier number at the institution is replaced. A
    /// number linked to someone else is [`StoreError::Duplicate`].
    /// The designated institutions the person's choice in force on `on` names
    /// (R-SET-12); `None` when no choice is recorded from on or before that date.
    async fn designated_choice_at(&mut self, person_hash: &str, on: NaiveDate) -> StoreResult<Option<Vec<String>>>;
    async fn link_visit_card(&mut self, institution: &str, visit_card_no: &str, person_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records that the visit was registered on a card-collection certificate
    /// (R-CERT-1), in the registration's transaction.
    async fn insert_certificate_visit(&mut self, mdtrt_id: &str, certificate_number: &str, person_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;

    // Exactly-once requests: the claim of a request's key and its kept answer, in the
    // transaction of the request's work.
    /// Claims `key` for this transaction: `Fresh` when it was free (an entry created
    /// before `expire_before` counts as free and is replaced), otherwise what is kept.
    /// A concurrent claim of the same key waits for this transaction to end.
    async fn claim_request(&mut self, token_id: i64, key: &str, fingerprint: &str, at: DateTime<Utc>, expire_before: Option<DateTime<Utc>>) -> StoreResult<IdempotencyBegin>;
    /// Keeps the answer of a key claimed in this transaction.
    async fn save_response(&mut self, token_id: i64, key: &str, status: u16, body: &[u8]) -> StoreResult<()>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// How many pooled connections a store keeps and how long a request waits for one (and,
/// on SQLite, for the write lock) before it is answered with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// `None`: 16 on PostgreSQL, 8 on SQLite.
    pub max_connections: Option<u32>,
    pub wait: std::time::Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { max_connections: None, wait: std::time::Duration::from_secs(10) }
    }
}

/// Opens (creating and migrating as needed) the database named by `url`: a
/// `postgres://` or `postgresql://` URL, otherwise a SQLite file path (or `sqlite:` URL).
pub async fn open(url: &str, key: DataKey) -> StoreResult<Arc<dyn Store>> {
    open_with(url, key, PoolOptions::default()).await
}

/// [`open`] with the pool's size and wait.
pub async fn open_with(url: &str, key: DataKey, pool: PoolOptions) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url, key, pool).await?))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::open(url, key, pool).await?))
    }
}

/// Hides a password in a database URL before it is shown.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
