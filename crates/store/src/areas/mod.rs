//! The [`crate::Store`] by area, and its write transaction [`CardTx`] by area: each trait
//! one part of the whole, small enough to read.

mod batches;
mod cards;
mod jobs;
mod registry;
mod requests;
mod settlement;
mod transaction;
mod verify_reads;

pub use batches::BatchStore;
pub use cards::CardStore;
pub use jobs::JobStore;
pub use registry::RegistryStore;
pub use requests::RequestStore;
pub use settlement::SettlementStore;
pub use transaction::{CardTx, CardsTx, FamilyTx, RegistryTx, RequestTx, SettlementTx, VisitTx};
pub use verify_reads::VerifyStore;
