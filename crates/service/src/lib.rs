//! Yikatong's use cases. Each one authorises the caller, loads what it needs from the
//! store, lets `yikatong-core` decide, and hands the result to the store in one
//! transaction. Nothing here speaks HTTP; the CLI and the HTTP layer both call it.

mod audit;
mod auth;
pub mod batch;
mod cards;
pub mod demo;
mod error;
mod exactly_once;
mod gateway;
pub mod notify;
mod policy;
mod portal_session;
pub mod properties;
mod registry;
pub mod secrets;
mod settlement;
mod sign_in;
mod verify;
pub mod views;

pub use policy::{ParameterView, PolicyView, WorkingDayAnswer, parse_date_param, policy_view};

use std::sync::{Arc, RwLock};

use yikatong_core::calendar::{CalendarError, CalendarYear, WorkingCalendar};
use yikatong_core::clock::Clock;
use yikatong_core::policy::PolicySet;
use yikatong_store::Store;

pub use audit::{AuditView, default_checkpoints};
pub use auth::{IssuedToken, TokenRequest};
pub use cards::*;
pub use error::ServiceError;
pub use exactly_once::{EarlierRequest, KeptAnswer, RequestClaim, RequestKey};
pub use gateway::{DEFAULT_GATEWAY_WINDOW_SECONDS, GatewaySignature, HisCredentialView, IssuedHisCredential, gateway_signature};
pub use notify::{MessageView, Notifier, OutboxNotifier};
pub use portal_session::{ActiveSession, OpenedSession, SessionRules};
pub use registry::{NewInstitution, NewOrganisation, NewPerson, PersonChangeRequest};
pub use settlement::*;
pub use sign_in::{CodeRequested, SIGN_IN_TOKEN_LABEL};
pub use verify::{InvariantCheck, VerifyReport};
/// Records the interfaces show as they are.
pub use yikatong_store::{JobRecord, JobState, OutboxMessage};

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Everything a use case needs: storage, time, policy and the working-day calendar.
pub struct Service {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    policies: Arc<PolicySet>,
    /// Replaced whole when a year is loaded, so a use case can hold a snapshot.
    calendar: RwLock<Arc<WorkingCalendar>>,
    /// How long an `Idempotency-Key`'s answer is kept (see [`exactly_once`]).
    idempotency_retention: chrono::Duration,
    /// One query-password check at a time per card (see `cards/password.rs`).
    password_gates: cards::PasswordGates,
    /// Where the audit chain's checkpoints are kept (see [`audit`]).
    checkpoints: Option<std::path::PathBuf>,
    /// How long portal sessions and sign-in codes last (see [`portal_session`]).
    session_rules: SessionRules,
    /// Where messages to people's phones go (see [`notify`]).
    notifier: Arc<dyn Notifier>,
    /// How far a gateway-signed request's timestamp may be from the clock (see [`gateway`]).
    gateway_window: chrono::Duration,
    /// The event broker the outbox is delivered to, when there is one (R-EVT-2).
    broker: Option<Arc<dyn cards::Broker>>,
    /// The one region this deployment serves (`ykt serve --region`); every region when
    /// `None` (see `settlement/routing.rs`).
    region: Option<String>,
    /// The link to the other regions' deployments (`ykt serve --region … --nats …`),
    /// over which the visits of holders they insure are settled (R-XREG-2).
    region_link: Option<Arc<dyn settlement::RegionLink>>,
    /// Institutions read once (see [`Service::require_institution`]).
    institutions: registry::KnownInstitutions,
}

/// The default of [`Service::idempotency_retention`]: 24 hours, as API.md documents.
pub const DEFAULT_IDEMPOTENCY_RETENTION_HOURS: i64 = 24;

impl Service {
    /// Builds the service; the calendar is the shipped years plus those an operator
    /// loaded into this database (which win over shipped ones for the same year).
    pub async fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, policies: PolicySet) -> ServiceResult<Service> {
        let mut calendar = WorkingCalendar::shipped().map_err(ServiceError::from)?;
        for (year, text) in store.calendar_years().await? {
            let y = CalendarYear::parse(&format!("database year {year}"), &text).map_err(ServiceError::from)?;
            calendar.insert(y);
        }
        Ok(Service {
            policies: Arc::new(policies),
            calendar: RwLock::new(Arc::new(calendar)),
            idempotency_retention: chrono::Duration::hours(DEFAULT_IDEMPOTENCY_RETENTION_HOURS),
            password_gates: Default::default(),
            checkpoints: None,
            session_rules: SessionRules::default(),
            gateway_window: chrono::Duration::seconds(gateway::DEFAULT_GATEWAY_WINDOW_SECONDS),
            notifier: Arc::new(OutboxNotifier { store: store.clone(), clock: clock.clone() }),
            broker: None,
            region: None,
            region_link: None,
            institutions: registry::KnownInstitutions::default(),
            store,
            clock,
        })
    }

    /// The service with its audit checkpoints kept in `dir`.
    pub fn with_checkpoints(mut self, dir: std::path::PathBuf) -> Service {
        self.checkpoints = Some(dir);
        self
    }

    /// Where the audit checkpoints are kept, if anywhere.
    pub fn checkpoints(&self) -> Option<&std::path::Path> {
        self.checkpoints.as_deref()
    }

    /// The service with other session and sign-in code lifetimes.
    pub fn with_session_rules(mut self, rules: SessionRules) -> Service {
        self.session_rules = rules;
        self
    }

    /// The service sending messages through `notifier` instead of the outbox table.
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Service {
        self.notifier = notifier;
        self
    }

    /// The deployment of one region, named by its file's code (`beijing`) or a division
    /// code it covers (`110000`); refused when no region file has it.
    pub fn with_region(mut self, region: &str) -> ServiceResult<Service> {
        self.region = Some(self.policies.find_region(region).map_err(ServiceError::from)?.code.clone());
        Ok(self)
    }

    /// The service that settles other regions' holders over `link` (R-XREG-2).
    pub fn with_region_link(mut self, link: Arc<dyn settlement::RegionLink>) -> Service {
        self.region_link = Some(link);
        self
    }

    /// The service whose outbox is delivered to `broker` (`ykt serve --nats`).
    pub fn with_broker(mut self, broker: Arc<dyn cards::Broker>) -> Service {
        self.broker = Some(broker);
        self
    }

    /// The service with another retention of `Idempotency-Key` answers.
    pub fn with_idempotency_retention(mut self, retention: chrono::Duration) -> Service {
        self.idempotency_retention = retention;
        self
    }

    /// Asks the database for an answer; names the backend (`sqlite`, `postgres`) when it
    /// gives one (`GET /healthz`).
    pub async fn check_database(&self) -> ServiceResult<&'static str> {
        self.store.ping().await?;
        Ok(self.store.backend())
    }

    /// How many persons are registered (`GET /metrics`).
    pub async fn person_count(&self) -> ServiceResult<i64> {
        Ok(self.store.count_persons().await?)
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn policies(&self) -> &PolicySet {
        &self.policies
    }

    /// The calendar as it is now.
    fn calendar(&self) -> ServiceResult<Arc<WorkingCalendar>> {
        self.calendar.read().map(|c| c.clone()).map_err(|_| ServiceError::Internal("calendar lock poisoned".into()))
    }

    fn with_calendar<T>(&self, f: impl FnOnce(&WorkingCalendar) -> Result<T, CalendarError>) -> ServiceResult<T> {
        let calendar = self.calendar()?;
        f(&calendar).map_err(ServiceError::from)
    }
}
