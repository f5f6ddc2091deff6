//! Access tokens over HTTP (operator): issue, list, revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use yikatong_core::access::Operation;
use yikatong_service::{IssuedToken, ServiceError, TokenRequest};

use crate::extract::{Caller, JsonBody};
use crate::{ApiError, AppState};

/// Issues a token bound to a role (operator). The token is shown once.
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", request_body = TokenRequest,
    responses((status = 201, body = IssuedToken), (status = 422, body = crate::error::Problem)))]
pub async fn issue(State(s): State<AppState>, Caller(who): Caller, JsonBody(b): JsonBody<TokenRequest>) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    who.allow(Operation::IssueToken).map_err(ServiceError::from)?;
    Ok((StatusCode::CREATED, Json(s.service.issue_token(&b).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenSummary {
    pub id: i64,
    #[schema(value_type = String)]
    pub role: yikatong_core::access::Role,
    pub outlet: Option<String>,
    pub unit: Option<String>,
    pub institution: Option<String>,
    pub label: String,
    #[schema(value_type = String)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every token ever issued, without the secrets (operator).
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<TokenSummary>)))]
pub async fn list(State(s): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<TokenSummary>>, ApiError> {
    who.allow(Operation::ListTokens).map_err(ServiceError::from)?;
    let tokens = s.service.list_tokens().await?;
    Ok(Json(
        tokens
            .into_iter()
            .map(|t| TokenSummary {
                id: t.id,
                role: t.grant.role,
                outlet: t.grant.outlet,
                unit: t.grant.unit,
                institution: t.grant.institution,
                label: t.grant.label,
                created_at: t.created_at,
                revoked_at: t.revoked_at,
            })
            .collect(),
    ))
}

/// Revokes a token at once (operator).
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn revoke(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    who.allow(Operation::RevokeToken).map_err(ServiceError::from)?;
    s.service.revoke_token(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HisCredentialRequest {
    /// The designated institution's code.
    pub institution: String,
}

/// Issues a gateway credential (x-tif-paasid and its secret, shown once) for an
/// institution's HIS (operator).
#[utoipa::path(post, path = "/v1/his-credentials", tag = "tokens", request_body = HisCredentialRequest,
    responses((status = 201, body = yikatong_service::IssuedHisCredential)))]
pub async fn issue_his_credential(
    State(s): State<AppState>,
    Caller(who): Caller,
    JsonBody(b): JsonBody<HisCredentialRequest>,
) -> Result<(StatusCode, Json<yikatong_service::IssuedHisCredential>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.issue_his_credential(&who, &b.institution).await?)))
}

/// Every gateway credential, without the secrets (operator).
#[utoipa::path(get, path = "/v1/his-credentials", tag = "tokens", responses((status = 200, body = Vec<yikatong_service::HisCredentialView>)))]
pub async fn his_credentials(State(s): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<yikatong_service::HisCredentialView>>, ApiError> {
    Ok(Json(s.service.his_credentials(&who).await?))
}

/// Revokes a gateway credential at once (operator).
#[utoipa::path(delete, path = "/v1/his-credentials/{id}", tag = "tokens", params(("id" = i64, Path)), responses((status = 204, description = "revoked")))]
pub async fn revoke_his_credential(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    s.service.revoke_his_credential(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
