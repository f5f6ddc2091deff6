//! Health, metrics, the OpenAPI document and the test clock.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use yikatong_core::clock::Clock;

use crate::extract::JsonBody;
use crate::{ApiError, AppState};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: String,
    pub database: String,
    /// What an operator should act on (a calendar year to load, R-CAL-2); the service
    /// is healthy all the same.
    pub warnings: Vec<String>,
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = crate::error::Problem)))]
pub async fn healthz(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    let backend = s.service.check_database().await.map_err(|e| ApiError::new(503, "database_unavailable", format!("the database does not answer: {e}")))?;
    Ok(Json(Health { status: "ok".into(), database: backend.into(), warnings: s.service.operator_warnings() }))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let persons = s.service.person_count().await.ok();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render(persons))
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClockBody {
    /// RFC 3339 instant with offset, e.g. `2026-03-02T10:00:00+08:00`.
    #[schema(value_type = String)]
    pub now: DateTime<FixedOffset>,
}

fn test_clock(s: &AppState) -> Result<&yikatong_core::clock::TestClock, ApiError> {
    s.test_clock.as_ref().ok_or_else(|| ApiError::new(404, "not_found", "the test clock exists only with `ykt serve --test-clock`"))
}

/// The service's "now" (only with `--test-clock`).
#[utoipa::path(get, path = "/v1/test/clock", tag = "test clock", responses((status = 200, body = ClockBody)))]
pub async fn get_clock(State(s): State<AppState>) -> Result<Json<ClockBody>, ApiError> {
    let c = test_clock(&s)?;
    Ok(Json(ClockBody { now: c.now_local() }))
}

/// Sets the service's "now" from then on (only with `--test-clock`).
#[utoipa::path(put, path = "/v1/test/clock", tag = "test clock", request_body = ClockBody, responses((status = 200, body = ClockBody)))]
pub async fn set_clock(State(s): State<AppState>, JsonBody(body): JsonBody<ClockBody>) -> Result<Json<ClockBody>, ApiError> {
    let c = test_clock(&s)?;
    c.set(body.now.to_utc());
    tracing::info!(now = %body.now, "test clock set");
    Ok(Json(ClockBody { now: c.now_local() }))
}
