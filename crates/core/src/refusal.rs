//! A refusal is a value, not a panic: a stable snake_case code that clients match on,
//! and a message a counter clerk can read aloud to the holder.

use std::fmt;

crate::closed_set! {
    /// Broad kind of a refusal, so that each interface can map it to its own status (and
    /// another region's deployment can tell it on, `settlement/cross_region`).
    pub enum RefusalKind {
        /// The input itself is wrong (HTTP 400/422).
        BadInput = "bad_input",
        /// The caller may not do this (HTTP 403).
        Forbidden = "forbidden",
        /// The thing asked for does not exist (HTTP 404).
        NotFound = "not_found",
        /// The current state does not allow the action (HTTP 409).
        Conflict = "conflict",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn bad_input(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::BadInput, code, message: message.into() }
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::Forbidden, code, message: message.into() }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::NotFound, code, message: message.into() }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::Conflict, code, message: message.into() }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Refusal {}
