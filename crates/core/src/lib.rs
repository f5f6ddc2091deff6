//! Yikatong's pure domain: the rules of SPEC.md as plain functions and values.
//!
//! Nothing here does I/O, async work or database access. The service layer loads state,
//! asks this crate to decide, and hands the result to the store.
//!
//! Stricter than the workspace: no indexing that could panic, and no cast that could
//! truncate, wrap or lose a sign (money and policy numbers go through `try_from`).

#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_sign_loss)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_sign_loss))]

pub mod access;
pub mod account;
pub mod calendar;
pub mod card;
pub mod clock;
pub mod closed_set;
pub mod comparison;
pub mod identity;
pub mod message;
pub mod money;
pub mod policy;
pub mod properties;
pub mod refusal;
pub mod registry;
pub mod settlement;

pub use refusal::Refusal;

#[cfg(test)]
mod rules_doc;
