//! Randomness and comparisons for secrets, for the interfaces' own serial numbers and
//! tokens (the same ones the store's keys and the service's tokens use).

pub use yikatong_store::crypto::{constant_time_eq, random_bytes};
