//! Bearer tokens (API.md `ykt admin token`): random, shown once, stored only as their
//! SM3 hash, bound to a role and what the role acts for, revocable.

use yikatong_core::Refusal;
use yikatong_core::access::{Principal, Role};
use yikatong_core::identity::Ssn;
use yikatong_store::TokenGrant;
use yikatong_store::crypto::{random_bytes, token_hash};

use crate::{Service, ServiceError, ServiceResult};

/// What a new token is for.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub role: String,
    pub outlet: Option<String>,
    pub unit: Option<String>,
    pub institution: Option<String>,
    /// For a holder token: the holder's SSN.
    pub person: Option<String>,
    /// For a bank token: the bank (a partner bank's code, R-APP-3), kept as the token's
    /// outlet; optional.
    pub bank: Option<String>,
    pub label: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    pub id: i64,
    pub role: String,
    /// The bearer token; shown once, never stored.
    pub token: String,
}

/// The caller a token stands for.
pub(crate) fn principal_of(record: yikatong_store::TokenRecord) -> Principal {
    Principal {
        token_id: record.id,
        role: record.grant.role,
        outlet: record.grant.outlet,
        unit: record.grant.unit,
        institution: record.grant.institution,
        person_hash: record.grant.person_hash,
        unlocked: None,
    }
}

impl Service {
    /// Issues a token after checking that what it is bound to exists.
    pub async fn issue_token(&self, req: &TokenRequest) -> ServiceResult<IssuedToken> {
        let role = Role::parse(&req.role)?;
        let needs = |what: &str, v: &Option<String>| -> ServiceResult<String> {
            v.clone().filter(|s| !s.is_empty()).ok_or_else(|| ServiceError::from(Refusal::bad_input("missing_binding", format!("a {} token needs --{what}", role.as_str()))))
        };
        let mut grant = TokenGrant { role, outlet: None, unit: None, institution: None, person_hash: None, label: req.label.clone().unwrap_or_default() };
        match role {
            Role::Clerk => {
                let code = needs("outlet", &req.outlet)?;
                self.require_outlet(&code).await?;
                grant.outlet = Some(code);
            }
            Role::Unit => {
                let code = needs("unit", &req.unit)?;
                self.require_unit(&code).await?;
                grant.unit = Some(code);
            }
            Role::Institution => {
                let code = needs("institution", &req.institution)?;
                self.require_institution(&code).await?;
                grant.institution = Some(code);
            }
            Role::Holder => {
                let ssn = Ssn::parse(&needs("person", &req.person)?)?;
                grant.person_hash = Some(self.require_person(&ssn).await?.key);
            }
            Role::Bank => {
                if let Some(code) = req.bank.clone().filter(|b| !b.is_empty()) {
                    yikatong_core::registry::check_code("bank", &code)?;
                    grant.outlet = Some(code);
                }
            }
            Role::Operator | Role::Hotline | Role::Kiosk | Role::Vendor => {}
        }
        let token = format!("ykt_{}", hex::encode(random_bytes::<32>()));
        let id = self.store.insert_token(&token_hash(&token), &grant, self.clock.now()).await?;
        tracing::info!(token_id = id, role = role.as_str(), "token issued");
        Ok(IssuedToken { id, role: grant.role.as_str().into(), token })
    }

    /// Resolves a bearer token to the caller, or refuses.
    pub async fn authenticate(&self, bearer: &str) -> ServiceResult<Principal> {
        let record = self.store.find_token(&token_hash(bearer.trim())).await?.ok_or_else(|| ServiceError::Unauthenticated("the bearer token is not known".into()))?;
        if record.revoked_at.is_some() {
            return Err(ServiceError::Unauthenticated("the bearer token has been revoked".into()));
        }
        Ok(principal_of(record))
    }

    pub async fn revoke_token(&self, id: i64) -> ServiceResult<()> {
        if self.store.revoke_token(id, self.clock.now()).await? {
            tracing::info!(token_id = id, "token revoked");
            Ok(())
        } else {
            Err(Refusal::not_found("token_not_found", format!("there is no active token with id {id}")).into())
        }
    }

    pub async fn list_tokens(&self) -> ServiceResult<Vec<yikatong_store::TokenRecord>> {
        Ok(self.store.list_tokens().await?)
    }
}
