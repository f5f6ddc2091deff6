//! City-scale batch work (SPEC §3-4, API.md "Files"): files in UTF-8 or GBK, CSV with a
//! header row in English or Chinese, a report of accepted and refused rows (each with
//! its line number as a spreadsheet shows it, the header being line 1).

pub mod applications;
pub mod comparison;
pub mod credits;
pub mod family;
pub mod pdf;
pub mod persons;
pub mod photos;
pub mod premiums;
pub mod production_files;
pub mod province;
pub mod table;

pub use applications::{ApplicationReport, RowRefusal};
pub use comparison::{CompareReport, ComparisonView, SecondCollection};
pub use credits::{CreditFailure, CreditReport};
pub use persons::PersonsImportReport;
pub use photos::PhotoCheck;
pub use premiums::{ArrearView, NewPremium, PremiumView, PremiumsView};
pub use production_files::{FileReport, UnitPerson, UnitPersonsPage};
