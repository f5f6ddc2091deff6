//! The store's methods for benchmark baselines (a part of [`crate::Store`]).

#![allow(clippy::wildcard_imports)]

use async_trait::async_trait;

use crate::*;

/// The benchmarks' baselines: the same work as raw statements on the same database, beside which `ykt bench` prints the service's figures.
#[async_trait]
pub trait BaselineStore: Send + Sync {
    /// The card-life benchmark's baseline: `ops` raw transactions (lock a card row,
    /// insert an event, update its state) over `cards` scratch cards of `card_json`'s
    /// size on `concurrency` connections, in scratch tables dropped afterwards.
    async fn baseline_card_transactions(&self, cards: usize, ops: usize, concurrency: usize, card_json: &str) -> StoreResult<std::time::Duration>;

    /// The benchmark baseline: each person written by a single-row INSERT transaction
    /// (`BEGIN; INSERT; COMMIT`) straight into the persons table, spread over
    /// `concurrency` connections; the rows are removed afterwards. Returns the time the
    /// inserts took.
    async fn baseline_single_row_inserts(&self, persons: &[Person], concurrency: usize) -> StoreResult<std::time::Duration>;

    /// The city benchmark's baseline: the rows `select` reads from `table` loaded again,
    /// the database's fastest way, into an empty copy of `table` (PostgreSQL: `COPY …
    /// FROM STDIN` of the rows as `COPY … TO STDOUT` gave them; SQLite: one
    /// `INSERT … SELECT` in one transaction). Returns the rows and the loading time; the
    /// copy is dropped.
    async fn bulk_load_baseline(&self, table: &str, select: &str) -> StoreResult<(u64, std::time::Duration)>;
}
