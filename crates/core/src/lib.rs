//! Yikatong's pure domain: the rules of SPEC.md as plain functions and values.
//!
//! Nothing here does I/O, async work or database access. The service layer loads state,
//! asks this crate to decide, and hands the result to the store.

pub mod access;
pub mod account;
pub mod calendar;
pub mod card;
pub mod clock;
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
