//! Policy in force on a date and the working-day calendar.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use yikatong_service::{PolicyView, WorkingDayAnswer, parse_date_param};

use crate::extract::Caller;
use crate::{ApiError, AppState};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// The date (`YYYY-MM-DD`); today in Asia/Shanghai if absent.
    pub at: Option<String>,
}

/// The region's parameters in force on `at`, each with its date and source (public).
#[utoipa::path(get, path = "/v1/policies/{region}", tag = "policy", params(("region" = String, Path), AtQuery),
    responses((status = 200, body = PolicyView), (status = 404, body = crate::error::Problem)))]
pub async fn policy_at(State(s): State<AppState>, Path(region): Path<String>, Query(q): Query<AtQuery>) -> Result<Json<PolicyView>, ApiError> {
    let at = match q.at {
        Some(a) => parse_date_param("at", &a)?,
        None => s.service.clock().today(),
    };
    Ok(Json(s.service.policy_at(&region, at)?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkingDaysQuery {
    pub from: String,
    pub days: u32,
}

/// R-CAL-1: the date `days` working days after `from` (public).
#[utoipa::path(get, path = "/v1/calendar/working-days", tag = "policy", params(WorkingDaysQuery),
    responses((status = 200, body = WorkingDayAnswer), (status = 409, body = crate::error::Problem)))]
pub async fn add_working_days(State(s): State<AppState>, Query(q): Query<WorkingDaysQuery>) -> Result<Json<WorkingDayAnswer>, ApiError> {
    let from = parse_date_param("from", &q.from)?;
    Ok(Json(s.service.add_working_days(from, q.days)?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarDay {
    #[schema(value_type = String)]
    pub date: chrono::NaiveDate,
    pub working_day: bool,
}

/// Whether a date is a working day (R-CAL-2: a year not loaded is an error).
#[utoipa::path(get, path = "/v1/calendar/days/{date}", tag = "policy", params(("date" = String, Path)),
    responses((status = 200, body = CalendarDay), (status = 409, body = crate::error::Problem)))]
pub async fn calendar_day(State(s): State<AppState>, Path(date): Path<String>) -> Result<Json<CalendarDay>, ApiError> {
    let date = parse_date_param("date", &date)?;
    Ok(Json(CalendarDay { date, working_day: s.service.is_working_day(date)? }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoadedYear {
    pub year: i32,
    pub source: String,
    pub holidays: usize,
    pub workdays: usize,
}

/// Loads one year of the official calendar (operator); the body is the year file (TOML).
#[utoipa::path(put, path = "/v1/calendar/years/{year}", tag = "policy", params(("year" = i32, Path)),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 200, body = LoadedYear), (status = 422, body = crate::error::Problem)))]
pub async fn load_calendar_year(State(s): State<AppState>, Caller(who): Caller, Path(year): Path<i32>, body: String) -> Result<Json<LoadedYear>, ApiError> {
    let y = s.service.load_calendar_year(Some(&who), &format!("request body for {year}"), &body).await?;
    if y.year != year {
        return Err(ApiError::new(422, "invalid_calendar", format!("the file is for {}, the path says {year}", y.year)));
    }
    Ok(Json(LoadedYear { year: y.year, source: y.source, holidays: y.holidays.len(), workdays: y.workdays.len() }))
}
