//! The SMS gateway's side of the message outbox (operator): read the messages waiting,
//! report each one sent. A message is kept until reported, so a gateway that stops
//! loses none; reporting twice changes nothing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use yikatong_service::MessageView;

use crate::extract::Caller;
use crate::{ApiError, AppState};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Only messages with a larger id (default 0).
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// Only messages not yet reported sent (default true).
    pub unsent: Option<bool>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u16>,
}

/// Messages to people's phones waiting for the SMS gateway, oldest first (operator).
#[utoipa::path(get, path = "/v1/messages", tag = "messages", params(MessagesQuery),
    responses((status = 200, description = "the messages", body = Vec<MessageView>), (status = 403, description = "not an operator", body = crate::error::Problem)))]
pub async fn list(State(s): State<AppState>, Caller(who): Caller, Query(q): Query<MessagesQuery>) -> Result<Json<Vec<MessageView>>, ApiError> {
    let after = i64::try_from(q.after.unwrap_or(0)).unwrap_or(i64::MAX);
    Ok(Json(s.service.messages(&who, after, q.unsent.unwrap_or(true), i64::from(q.limit.unwrap_or(100))).await?))
}

/// The gateway reports a message sent (operator).
#[utoipa::path(post, path = "/v1/messages/{id}/sent", tag = "messages", params(("id" = i64, Path)),
    responses((status = 204, description = "recorded"), (status = 404, description = "no such message", body = crate::error::Problem)))]
pub async fn sent(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    s.service.message_sent(&who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
