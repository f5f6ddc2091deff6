//! The card's life (SPEC §4, §6): a state machine of events. Rules take the card, the
//! policy in force and now, and return events or a refusal; `apply` folds events into
//! the card. Nothing here does I/O.

pub mod delivery;
pub mod events;
pub mod model;
pub mod notices;
pub mod parties;
pub mod production;
pub mod rules;

pub use events::{CardEvent, apply};
pub use model::{AccountChoice, Card, CardId, CardState, Certificate, Origin, PreLoss, PrintedData, QueryPassword, Zone};

#[cfg(test)]
mod tests;
