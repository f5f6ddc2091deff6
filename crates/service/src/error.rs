//! One error type for every use case, with the stable code each interface shows.

use yikatong_core::Refusal;
use yikatong_core::calendar::CalendarError;
use yikatong_core::identity::SsnError;
use yikatong_core::policy::PolicyError;
use yikatong_core::refusal::RefusalKind;
use yikatong_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A business refusal with its stable code.
    #[error("{0}")]
    Refused(Refusal),
    /// No valid credential.
    #[error("{0}")]
    Unauthenticated(String),
    /// Something broke that the caller cannot fix; logged, shown without detail.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Refused(r) => r.code,
            ServiceError::Unauthenticated(_) => "unauthenticated",
            ServiceError::Internal(_) => "internal_error",
        }
    }

    /// HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::Refused(r) => match r.kind {
                RefusalKind::BadInput => 422,
                RefusalKind::Forbidden => 403,
                RefusalKind::NotFound => 404,
                RefusalKind::Conflict => 409,
            },
            ServiceError::Unauthenticated(_) => 401,
            ServiceError::Internal(_) => 500,
        }
    }

    /// The message shown to the caller (internal details stay in the log).
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Refused(r) => r.message.clone(),
            ServiceError::Unauthenticated(m) => m.clone(),
            ServiceError::Internal(_) => "the service could not complete the request; it has been logged".into(),
        }
    }
}

impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        ServiceError::Refused(r)
    }
}

impl From<SsnError> for ServiceError {
    fn from(e: SsnError) -> Self {
        ServiceError::Refused(Refusal::bad_input("invalid_ssn", e.to_string()))
    }
}

impl From<PolicyError> for ServiceError {
    fn from(e: PolicyError) -> Self {
        let r = match &e {
            PolicyError::UnknownRegion(..) => Refusal::not_found(e.code(), e.to_string()),
            PolicyError::BadFile { .. } => Refusal::bad_input(e.code(), e.to_string()),
            _ => Refusal::conflict(e.code(), e.to_string()),
        };
        ServiceError::Refused(r)
    }
}

impl From<CalendarError> for ServiceError {
    fn from(e: CalendarError) -> Self {
        let r = match &e {
            CalendarError::YearMissing(_) => Refusal::conflict(e.code(), e.to_string()),
            CalendarError::BadFile { .. } => Refusal::bad_input(e.code(), e.to_string()),
        };
        ServiceError::Refused(r)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(what) => ServiceError::Refused(Refusal::conflict("already_exists", format!("{what} already exists"))),
            StoreError::UnknownUnit(code) => ServiceError::Refused(Refusal::not_found("unit_not_found", format!("there is no unit {code}"))),
            StoreError::Conflict(what) => {
                ServiceError::Refused(Refusal::conflict("concurrent_change", format!("{what} was changed by someone else at the same time; reload and try again")))
            }
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
