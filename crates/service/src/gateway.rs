//! The national platform's gateway authentication (HIS-INTERFACE.md "Transport"): an
//! institution's HIS signs each request with its access id (`x-tif-paasid`), a Unix
//! timestamp, a random nonce and `x-tif-signature` = lower-case hex SHA-256 of timestamp +
//! secret + nonce + timestamp. A request is that institution when the signature is right,
//! the timestamp within [`DEFAULT_GATEWAY_WINDOW_SECONDS`] of the service clock, and the
//! nonce not seen before in that window (the database's primary key decides, so two
//! copies of one request racing are one request). Credentials are issued by the bureau,
//! shown once, stored encrypted, revocable.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use yikatong_core::Refusal;
use yikatong_core::access::{Operation, Principal, Role};
use yikatong_store::crypto::{constant_time_eq, random_bytes};

use crate::{Service, ServiceResult};

/// How far a signed request's timestamp may be from the service clock, either way.
pub const DEFAULT_GATEWAY_WINDOW_SECONDS: i64 = 300;

/// A credential just issued: the secret is shown this once.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedHisCredential {
    pub id: i64,
    pub institution: String,
    pub paasid: String,
    pub secret: String,
}

/// A credential as operators list it (never its secret).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HisCredentialView {
    pub id: i64,
    pub institution: String,
    pub paasid: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The `x-tif-*` headers of a request.
#[derive(Debug, Clone, Copy)]
pub struct GatewaySignature<'a> {
    pub paasid: &'a str,
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub signature: &'a str,
}

/// The signature the gateway expects for `secret` (lower-case hex SHA-256).
pub fn gateway_signature(timestamp: &str, secret: &str, nonce: &str) -> String {
    let mut h = Sha256::new();
    h.update(timestamp.as_bytes());
    h.update(secret.as_bytes());
    h.update(nonce.as_bytes());
    h.update(timestamp.as_bytes());
    hex::encode(h.finalize())
}

fn refused(code: &'static str, message: impl Into<String>) -> crate::ServiceError {
    Refusal::forbidden(code, message).into()
}

impl Service {
    /// How far a signed request's timestamp may be from the clock.
    pub fn with_gateway_window(mut self, window: Duration) -> Service {
        self.gateway_window = window;
        self
    }

    /// Issues a gateway credential for a registered institution (operator).
    pub async fn issue_his_credential(&self, who: &Principal, institution: &str) -> ServiceResult<IssuedHisCredential> {
        who.allow(Operation::IssueHisCredential)?;
        self.require_institution(institution).await?;
        let paasid = format!("ykt{}", hex::encode(random_bytes::<8>()));
        let secret = hex::encode(random_bytes::<32>());
        let id = self.store.insert_his_credential(&paasid, institution, &secret, self.clock.now()).await?;
        tracing::info!(credential = id, institution, "gateway credential issued");
        Ok(IssuedHisCredential { id, institution: institution.into(), paasid, secret })
    }

    pub async fn his_credentials(&self, who: &Principal) -> ServiceResult<Vec<HisCredentialView>> {
        who.allow(Operation::ListHisCredentials)?;
        Ok(self
            .store
            .list_his_credentials()
            .await?
            .into_iter()
            .map(|c| HisCredentialView { id: c.id, institution: c.institution, paasid: c.paasid, created_at: c.created_at, revoked_at: c.revoked_at })
            .collect())
    }

    /// Revokes a credential: its signatures stop working at once.
    pub async fn revoke_his_credential(&self, who: &Principal, id: i64) -> ServiceResult<()> {
        who.allow(Operation::RevokeHisCredential)?;
        if self.store.revoke_his_credential(id, self.clock.now()).await? {
            tracing::info!(credential = id, "gateway credential revoked");
            Ok(())
        } else {
            Err(Refusal::not_found("credential_not_found", format!("there is no gateway credential {id} in force")).into())
        }
    }

    /// The institution a signed request comes from, or the refusal saying what is wrong:
    /// `unknown_paasid`, `credential_revoked`, `invalid_timestamp`,
    /// `timestamp_out_of_window`, `bad_signature`, `nonce_replayed`. The caller's
    /// `token_id` is the credential's id, negated (audit actors read `institution:CODE#-N`).
    pub async fn authenticate_gateway(&self, s: GatewaySignature<'_>) -> ServiceResult<Principal> {
        let credential = self.store.his_credential(s.paasid.trim()).await?.ok_or_else(|| refused("unknown_paasid", "x-tif-paasid is not an access id issued here"))?;
        if credential.revoked_at.is_some() {
            return Err(refused("credential_revoked", "this access id has been revoked"));
        }
        let seconds: i64 = s.timestamp.trim().parse().map_err(|_| refused("invalid_timestamp", "x-tif-timestamp must be Unix seconds"))?;
        let now = self.clock.now();
        let sent = DateTime::<Utc>::from_timestamp(seconds, 0).ok_or_else(|| refused("invalid_timestamp", "x-tif-timestamp is not a time"))?;
        let window = self.gateway_window;
        if (now - sent).abs() > window {
            return Err(refused(
                "timestamp_out_of_window",
                format!("x-tif-timestamp is {} seconds from the service's clock; at most {} are taken", (now - sent).num_seconds().abs(), window.num_seconds()),
            ));
        }
        if s.nonce.trim().is_empty() || s.nonce.len() > 128 {
            return Err(refused("invalid_nonce", "x-tif-nonce must be 1 to 128 characters"));
        }
        let expected = gateway_signature(s.timestamp.trim(), &credential.secret, s.nonce);
        if !constant_time_eq(expected.as_bytes(), s.signature.trim().to_ascii_lowercase().as_bytes()) {
            return Err(refused("bad_signature", "x-tif-signature is not the SHA-256 of timestamp + secret + nonce + timestamp for this access id"));
        }
        if !self.store.record_nonce(&credential.paasid, s.nonce, now, now - window - window).await? {
            return Err(refused("nonce_replayed", "this x-tif-nonce was used already; every request needs a new one"));
        }
        Ok(Principal { token_id: -credential.id, role: Role::Institution, outlet: None, unit: None, institution: Some(credential.institution), person_hash: None, unlocked: None })
    }
}
