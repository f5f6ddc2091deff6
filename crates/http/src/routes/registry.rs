//! Registry endpoints (API.md "Registry").

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use yikatong_core::access::Operation;
use yikatong_service::views::{OrganisationView, PersonChangeView, PersonView};
use yikatong_service::{NewInstitution, NewOrganisation, NewPerson, PersonChangeRequest};

use crate::extract::{Caller, JsonBody, QueryPassword};
use crate::{ApiError, AppState};
use yikatong_service::QueryTarget;

type Created<T> = (StatusCode, Json<T>);

/// Registers an employer unit (operator).
#[utoipa::path(post, path = "/v1/units", tag = "registry", request_body = NewOrganisation,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses((status = 201, body = OrganisationView), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_unit(State(s): State<AppState>, Caller(who): Caller, JsonBody(b): JsonBody<NewOrganisation>) -> Result<Created<OrganisationView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.create_unit(&who, &b).await?)))
}

/// An employer unit (operator, clerk, the unit itself).
#[utoipa::path(get, path = "/v1/units/{code}", tag = "registry", params(("code" = String, Path)),
    responses((status = 200, body = OrganisationView), (status = 404, body = crate::error::Problem)))]
pub async fn get_unit(State(s): State<AppState>, Caller(who): Caller, Path(code): Path<String>) -> Result<Json<OrganisationView>, ApiError> {
    Ok(Json(s.service.get_unit(&who, &code).await?))
}

/// Registers a service outlet (operator).
#[utoipa::path(post, path = "/v1/outlets", tag = "registry", request_body = NewOrganisation,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses((status = 201, body = OrganisationView), (status = 409, body = crate::error::Problem)))]
pub async fn create_outlet(State(s): State<AppState>, Caller(who): Caller, JsonBody(b): JsonBody<NewOrganisation>) -> Result<Created<OrganisationView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.create_outlet(&who, &b).await?)))
}

/// Registers a designated institution (operator); level `community`, `1`, `2`, `3`, `pharmacy`.
#[utoipa::path(post, path = "/v1/institutions", tag = "registry", request_body = NewInstitution,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses((status = 201, body = OrganisationView), (status = 409, body = crate::error::Problem)))]
pub async fn create_institution(State(s): State<AppState>, Caller(who): Caller, JsonBody(b): JsonBody<NewInstitution>) -> Result<Created<OrganisationView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.create_institution(&who, &b).await?)))
}

/// Registers an insured person (operator); gender and birth date come from the SSN.
#[utoipa::path(post, path = "/v1/persons", tag = "registry", request_body = NewPerson,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retry safe")),
    responses((status = 201, body = PersonView), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_person(State(s): State<AppState>, Caller(who): Caller, JsonBody(b): JsonBody<NewPerson>) -> Result<Created<PersonView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.create_person(&who, &b).await?)))
}

/// A person, as the caller may see them (a unit its own people, a holder only themself;
/// a kiosk or the hotline with the query password of the person's current card).
#[utoipa::path(get, path = "/v1/persons/{ssn}", tag = "registry", params(("ssn" = String, Path), ("X-Query-Password" = Option<String>, Header, description = "kiosk and hotline: the query password of the card asked about, or of the person's current card")),
    responses((status = 200, body = PersonView), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn get_person(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>, QueryPassword(password): QueryPassword) -> Result<Json<PersonView>, ApiError> {
    let who = s.service.with_query_password(&who, Operation::ReadPerson, QueryTarget::Person(&ssn), password.as_deref()).await?;
    Ok(Json(s.service.get_person(&who, &ssn).await?))
}

/// Files an information change (R-INFO-1), kept as dated history (operator, unit).
#[utoipa::path(post, path = "/v1/persons/{ssn}/changes", tag = "registry", params(("ssn" = String, Path)), request_body = PersonChangeRequest,
    responses((status = 201, body = PersonChangeView), (status = 422, body = crate::error::Problem)))]
pub async fn change_person(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(ssn): Path<String>,
    JsonBody(b): JsonBody<PersonChangeRequest>,
) -> Result<Created<PersonChangeView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.change_person(&who, &ssn, &b).await?)))
}

/// A person's information changes, oldest first.
#[utoipa::path(get, path = "/v1/persons/{ssn}/changes", tag = "registry", params(("ssn" = String, Path)),
    responses((status = 200, body = Vec<PersonChangeView>)))]
pub async fn person_history(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>) -> Result<Json<Vec<PersonChangeView>>, ApiError> {
    Ok(Json(s.service.person_history(&who, &ssn).await?))
}

/// R-ID-2: the person a medical handbook number belongs to (operator, clerk, institution).
#[utoipa::path(get, path = "/v1/handbook-numbers/{number}", tag = "registry", params(("number" = String, Path)),
    responses((status = 200, body = PersonView), (status = 404, body = crate::error::Problem)))]
pub async fn person_by_handbook(State(s): State<AppState>, Caller(who): Caller, Path(number): Path<String>) -> Result<Json<PersonView>, ApiError> {
    Ok(Json(s.service.person_by_handbook(&who, &number).await?))
}

/// R-APP-3: a unit's batch application file (CSV or XLSX, UTF-8 or GBK), as a multipart
/// upload (field `file`) or as the body itself, up to 64 MiB (a million rows), streamed
/// to disk and read line by line. Answers the row-level report.
#[utoipa::path(post, path = "/v1/units/{code}/applications", tag = "registry", params(("code" = String, Path)),
    request_body(content = String, content_type = "multipart/form-data"),
    responses((status = 200, body = yikatong_service::batch::ApplicationReport), (status = 413, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn applications(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(code): Path<String>,
    req: axum::extract::Request,
) -> Result<Json<yikatong_service::batch::ApplicationReport>, ApiError> {
    let file = crate::upload::receive(req).await?;
    Ok(Json(s.service.import_applications(&who, &code, file.reader()?).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionQuery {
    /// The region the persons are insured in (`beijing`, `jinan` …).
    pub region: String,
}

/// The insured population from the insurance system's extract (CSV or XLSX, UTF-8 or
/// GBK), as a multipart upload (field `file`) or the body itself, streamed like a unit's
/// application file; every bad row reported by line, nothing created twice (operator).
#[utoipa::path(post, path = "/v1/persons/import", tag = "registry", params(RegionQuery),
    request_body(content = String, content_type = "multipart/form-data"),
    responses((status = 200, body = yikatong_service::batch::PersonsImportReport), (status = 413, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn import_persons(
    State(s): State<AppState>,
    Caller(who): Caller,
    axum::extract::Query(q): axum::extract::Query<RegionQuery>,
    req: axum::extract::Request,
) -> Result<Json<yikatong_service::batch::PersonsImportReport>, ApiError> {
    let file = crate::upload::receive(req).await?;
    Ok(Json(s.service.import_persons(&who, &q.region, file.reader()?, &|_| {}).await?))
}

/// A person's comparison with the population registry: each item `√`, `×` or `无`.
#[utoipa::path(get, path = "/v1/persons/{ssn}/comparison", tag = "registry", params(("ssn" = String, Path)),
    responses((status = 200, body = yikatong_service::batch::ComparisonView), (status = 404, body = crate::error::Problem)))]
pub async fn comparison(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>) -> Result<Json<yikatong_service::batch::ComparisonView>, ApiError> {
    Ok(Json(s.service.comparison(&who, &ssn).await?))
}

/// R-CMP-3: corrected items from the unit or the holder, compared again at once.
#[utoipa::path(post, path = "/v1/persons/{ssn}/second-collection", tag = "registry", params(("ssn" = String, Path)),
    request_body = yikatong_service::batch::SecondCollection, responses((status = 200, body = yikatong_service::batch::ComparisonView)))]
pub async fn second_collection(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(ssn): Path<String>,
    JsonBody(b): JsonBody<yikatong_service::batch::SecondCollection>,
) -> Result<Json<yikatong_service::batch::ComparisonView>, ApiError> {
    Ok(Json(s.service.second_collection(&who, &ssn, &b).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormQuery {
    /// `html` (default) or `pdf`.
    pub format: Option<String>,
}

/// The printable second-collection form in Chinese, as HTML or PDF (`?format=pdf`).
#[utoipa::path(get, path = "/v1/persons/{ssn}/second-collection-form", tag = "registry", params(("ssn" = String, Path), FormQuery),
    responses((status = 200, content_type = "text/html", body = String)))]
pub async fn second_collection_form(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(ssn): Path<String>,
    axum::extract::Query(q): axum::extract::Query<FormQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    if q.format.as_deref() == Some("pdf") {
        let pdf = s.service.second_collection_pdf(&who, &ssn).await?;
        return Ok(([(axum::http::header::CONTENT_TYPE, "application/pdf")], pdf).into_response());
    }
    let page = s.service.second_collection_form(&who, &ssn).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// R-CMP-5: uploads a photo (JPEG or PNG as the body); the machine checks' result, and
/// when it passes the photo becomes the person's (unit, holder, clerk).
#[utoipa::path(put, path = "/v1/persons/{ssn}/photo", tag = "registry", params(("ssn" = String, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg"), responses((status = 200, body = yikatong_service::batch::PhotoCheck)))]
pub async fn photo(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(ssn): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<yikatong_service::batch::PhotoCheck>, ApiError> {
    Ok(Json(s.service.upload_photo(&who, &ssn, &body).await?))
}
