//! Portal sessions (SPEC §8 "web sessions expire"): the cookie holds a random id, the
//! database its keyed hash and what it stands for. A session ends at sign-out, after
//! [`SessionRules::idle`] without a request and after [`SessionRules::lifetime`] in all,
//! both measured on the service clock. A session opened by a holder's sign-in acts with a
//! token made for it, revoked when the session ends; one opened with a bearer token the
//! caller brought acts with that token, which stays theirs.

use chrono::{DateTime, Duration, Utc};
use yikatong_core::access::Principal;
use yikatong_store::PortalSession;
use yikatong_store::crypto::random_bytes;

use crate::sign_in::SIGN_IN_TOKEN_LABEL;
use crate::{Service, ServiceError, ServiceResult};

/// How long sessions and sign-in codes last. Security settings of the deployment, not
/// regional policy: `ykt serve` takes them as options, with these defaults.
#[derive(Debug, Clone)]
pub struct SessionRules {
    /// A session ends after this long without a request (default 15 minutes).
    pub idle: Duration,
    /// A session ends this long after it began, however busy (default 8 hours).
    pub lifetime: Duration,
    /// A page warns this long before the session would end idle (default 2 minutes).
    pub warn_before: Duration,
    /// A sign-in code is valid this long (default 5 minutes).
    pub code_valid: Duration,
    /// A new code may be asked for this long after the last (default 60 seconds).
    pub code_resend_after: Duration,
}

impl Default for SessionRules {
    fn default() -> Self {
        SessionRules {
            idle: Duration::minutes(15),
            lifetime: Duration::hours(8),
            warn_before: Duration::minutes(2),
            code_valid: Duration::minutes(5),
            code_resend_after: Duration::seconds(60),
        }
    }
}

/// A session just opened: the cookie's value and the forms' token.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    pub id: String,
    pub csrf: String,
}

/// A session in force, as a request finds it.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub who: Principal,
    pub csrf: String,
    /// When it ends if nothing more is asked, and at the latest.
    pub idle_until: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl ActiveSession {
    /// Seconds until the session ends unless the holder does something (at `now`).
    pub fn seconds_left(&self, now: DateTime<Utc>) -> i64 {
        (self.idle_until.min(self.ends_at) - now).num_seconds().max(0)
    }
}

fn random_text() -> String {
    hex::encode(random_bytes::<32>())
}

impl Service {
    pub fn session_rules(&self) -> &SessionRules {
        &self.session_rules
    }

    fn session_hash(&self, id: &str) -> String {
        self.store.data_key().lookup_hash(&format!("portal session {id}"))
    }

    /// Opens a session of portal `part` acting with token `token_id`.
    pub async fn open_portal_session(&self, part: &str, token_id: i64) -> ServiceResult<OpenedSession> {
        let now = self.clock.now();
        let opened = OpenedSession { id: random_text(), csrf: random_text() };
        let session = PortalSession { part: part.into(), token_id, csrf: opened.csrf.clone(), created_at: now, last_seen_at: now, ended_at: None };
        self.store.insert_portal_session(&self.session_hash(&opened.id), &session).await?;
        Ok(opened)
    }

    /// The session the cookie `id` of portal `part` stands for, if it is in force; the
    /// request counts as activity. An expired session is ended (and its sign-in token
    /// revoked) when it is found.
    pub async fn portal_session(&self, part: &str, id: &str) -> ServiceResult<ActiveSession> {
        self.find_portal_session(part, id, true).await
    }

    /// The session as [`Service::portal_session`] finds it, without counting as activity
    /// (a page asking how long its session has left).
    pub async fn peek_portal_session(&self, part: &str, id: &str) -> ServiceResult<ActiveSession> {
        self.find_portal_session(part, id, false).await
    }

    async fn find_portal_session(&self, part: &str, id: &str, activity: bool) -> ServiceResult<ActiveSession> {
        let gone = |why: &str| ServiceError::Unauthenticated(format!("the session {why}; sign in again"));
        let hash = self.session_hash(id.trim());
        let session = self.store.portal_session(&hash).await?.filter(|s| s.part == part).ok_or_else(|| gone("is not known"))?;
        if session.ended_at.is_some() {
            return Err(gone("has ended"));
        }
        let now = self.clock.now();
        let rules = &self.session_rules;
        let ends_at = session.created_at + rules.lifetime;
        if now >= session.last_seen_at + rules.idle || now >= ends_at {
            self.end_session(&hash, &session).await;
            return Err(gone(if now >= ends_at { "has lasted its longest" } else { "ended after a while without use" }));
        }
        let token = self.store.find_token_by_id(session.token_id).await?.ok_or_else(|| gone("has no token"))?;
        if token.revoked_at.is_some() {
            return Err(gone("acts with a revoked token"));
        }
        let last_seen = if activity {
            self.store.touch_portal_session(&hash, now).await?;
            now
        } else {
            session.last_seen_at
        };
        Ok(ActiveSession { who: crate::auth::principal_of(token), csrf: session.csrf, idle_until: last_seen + rules.idle, ends_at })
    }

    /// Ends the session (sign-out). Never fails the sign-out: a problem is logged.
    pub async fn close_portal_session(&self, id: &str) {
        let hash = self.session_hash(id.trim());
        match self.store.portal_session(&hash).await {
            Ok(Some(session)) => self.end_session(&hash, &session).await,
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "a portal session could not be read to end it"),
        }
    }

    async fn end_session(&self, hash: &str, session: &PortalSession) {
        let now = self.clock.now();
        if let Err(e) = self.store.end_portal_session(hash, now).await {
            tracing::warn!(error = %e, "a portal session could not be ended");
        }
        match self.store.find_token_by_id(session.token_id).await {
            Ok(Some(t)) if t.grant.label == SIGN_IN_TOKEN_LABEL && t.revoked_at.is_none() => {
                if let Err(e) = self.store.revoke_token(t.id, now).await {
                    tracing::warn!(token_id = t.id, error = %e, "a sign-in token could not be revoked");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a session's token could not be read"),
        }
    }
}
