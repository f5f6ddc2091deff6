//! The seam between the store's one source and its two databases. The shared source
//! (`backend.rs` and the `backend_*.rs` parts it expands) is written once; what differs
//! between SQLite and PostgreSQL is a [`Dialect`], implemented once per backend
//! (`sqlite.rs`, `postgres.rs`) and passed to `store_impl!`, which names its items for the
//! shared source (`Db`, `BACKEND`, `FOR_UPDATE`, `begin_write`, …). Nothing else of a
//! backend reaches the shared source.

use std::future::Future;

use yikatong_core::card::Card;

use crate::{Booking, StoreError, StoreResult};

/// What one database does its own way.
pub(crate) trait Dialect {
    /// The sqlx database.
    type Db: sqlx::Database;
    /// `sqlite` or `postgres`.
    const BACKEND: &'static str;
    /// Appended to a read that a write follows: row locks on PostgreSQL; nothing on
    /// SQLite, whose write transaction already holds the database's one write lock.
    const FOR_UPDATE: &'static str;
    /// Whether the table of the hand-kept migration list (before `sqlx::migrate!`)
    /// exists: a count, 0 or 1.
    const HAND_KEPT_MIGRATIONS: &'static str;

    /// Every file of the backend's `migrations/` folder, checksummed.
    fn migrator() -> &'static sqlx::migrate::Migrator;

    /// A write transaction: `BEGIN IMMEDIATE` on SQLite, so writers queue instead of
    /// failing to upgrade a lock.
    fn begin_write(pool: &sqlx::Pool<Self::Db>) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;

    /// Ids for `n` new cards, taken before their rows are written (an event's hash covers
    /// its card's id, so it is computed before the insert).
    fn reserve_card_ids(tx: &mut sqlx::Transaction<'static, Self::Db>, n: usize) -> impl Future<Output = Result<Vec<i64>, sqlx::Error>> + Send;

    /// A settlement booked in one statement where the database can write several tables
    /// in one (PostgreSQL's data-modifying `WITH`): how many lines it marked, or `None`
    /// where it cannot, and the shared source writes the parts one by one.
    fn book_in_one_statement(tx: &mut sqlx::Transaction<'static, Self::Db>, booking: &Booking<'_>) -> impl Future<Output = StoreResult<Option<u64>>> + Send;

    /// One card's change of one event ([`CardChange`]) in one statement, where the
    /// database can (PostgreSQL's data-modifying `WITH`): `false` where it cannot, and
    /// the shared source writes its rows one by one.
    fn record_in_one_statement(tx: &mut sqlx::Transaction<'static, Self::Db>, change: &CardChange<'_>) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Many cards' new projections and chain heads, the fastest way the database has.
    fn update_cards(tx: &mut sqlx::Transaction<'static, Self::Db>, rows: &[CardUpdate<'_>]) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A settlement's record (its columns bound by the shared source's `bind_settlement`).
pub(crate) const INSERT_SETTLEMENT: &str = "INSERT INTO settlements (setl_id, mdtrt_id, institution, person_hash, kind, state, visit_date, year, receipt, created_at, care_admdvs, insured_admdvs, xreg_side) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
/// One event appended to a card's chain.
pub(crate) const INSERT_EVENT: &str =
    "INSERT INTO card_events (card_id, seq, kind, payload, actor, channel, place, at, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
/// Withdraws the card's undelivered lifting notices of a zone (`$1` the time, `$2` the
/// card, `$3` the zone) that a later event made pointless.
pub(crate) const WITHDRAW_LIFTING: &str = "UPDATE outbox SET withdrawn_at = $1 WHERE card_id = $2 AND lifts = $3 AND delivered_at IS NULL AND withdrawn_at IS NULL AND due > $1";
/// One notice for the parties (R-EVT-1).
pub(crate) const INSERT_NOTICE: &str = "INSERT INTO outbox (topic, card_id, payload, at, due, lifts) VALUES ($1, $2, $3, $4, $5, $6)";
/// A card's new row with its chain head.
pub(crate) const SAVE_CARD: &str = "UPDATE cards SET state = $1, card_number = $2, certificate_number = $3, batch_id = $4, due_on = $5, version = version + 1, head_hash = $6, last_seq = $7, data = $8, ready_awaited_year = $9 WHERE id = $10";

/// What one event of one card writes, computed before it is written: the event with its
/// chained hash, the lifting notices it withdraws, the notices it sends (R-EVT-1, in
/// their order) and the card's new row (`data` its encrypted projection).
pub(crate) struct CardChange<'a> {
    pub card: &'a Card,
    pub data: String,
    pub seq: i64,
    pub kind: &'static str,
    pub payload: String,
    pub meta: &'a crate::EventMeta,
    pub prev_hash: String,
    pub hash: String,
    pub withdraws: &'static [&'static str],
    pub notices: Vec<NoticeRow>,
}

/// A notice's row in the outbox.
pub(crate) struct NoticeRow {
    pub topic: &'static str,
    pub payload: String,
    pub due: String,
    pub lifts: Option<&'static str>,
}

/// A card's new projection and chain head, for [`Dialect::update_cards`].
pub(crate) struct CardUpdate<'a> {
    pub data: String,
    pub card: &'a Card,
    pub head: String,
    pub seq: i64,
}

/// Rows per multi-row statement for a table of `columns` columns: under SQLite's 32,766
/// bound parameters and PostgreSQL's 65,535.
pub(crate) fn rows_per_statement(columns: usize) -> usize {
    (30_000 / columns.max(1)).max(1)
}

/// Maps a unique-key violation to [`StoreError::Duplicate`].
pub(crate) fn unique(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
    let what = what.into();
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate(what),
        _ => StoreError::Database(e),
    }
}

/// For writes of a card row: the index of one card that settles per person (R-ACT-2) is
/// a conflict, any other unique key the certificate number.
pub(crate) fn card_write(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() && (d.constraint() == Some("cards_one_that_settles") || d.message().contains("cards.person_hash")) => {
            StoreError::Conflict("the person's one card that settles".into())
        }
        _ => unique("certificate number")(e),
    }
}
