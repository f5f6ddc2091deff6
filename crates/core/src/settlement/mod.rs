//! Real-time outpatient settlement (SPEC §5).

pub mod booked;
pub mod catalog;
pub mod clearing;
pub mod cross_region;
pub mod engine;
pub mod funds;
pub mod manual;

pub use booked::{SettlementKind, SettlementState, VisitState};
pub use catalog::{CatalogEntry, CatalogItem, FeeLine, ItemClass, ItemKind, entry_in_force};
pub use cross_region::{CrossRegion, Side};
pub use engine::{LineSplit, Receipt, SettlementInput, TraceStep, YearTotals, settle, split_line};
pub use funds::{Fund, FundPart, FundTotals};
pub use manual::{ClaimState, MANUAL_REASONS, check_manual_reason};

#[cfg(test)]
mod tests;
