//! Real-time outpatient settlement (SPEC §5).

pub mod catalog;
pub mod engine;
pub mod funds;

pub use catalog::{CatalogItem, FeeLine, ItemClass, ItemKind};
pub use funds::{Fund, FundPart, FundTotals};
pub use engine::{LineSplit, Receipt, SettlementInput, TraceStep, YearTotals, settle, split_line};

#[cfg(test)]
mod tests;
