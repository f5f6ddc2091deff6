//! Card endpoints (API.md "Cards").

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use yikatong_core::access::Operation;
use yikatong_core::card::Zone;
use yikatong_service::OutboxMessage;
use yikatong_service::{
    ApplicationRequest, BatchView, CardEventView, CardView, CertificateView, DeliveryRequest, DispatchLine, ExchangeRequest, FormalLossRequest, HandOverRequest, ProductionResult,
    ReplacementView, ResultReport,
};

use crate::extract::{Caller, JsonBody, OptionalJsonBody, QueryPassword};
use crate::{ApiError, AppState};
use yikatong_service::QueryTarget;

type Created<T> = (StatusCode, Json<T>);

/// Applies for a first card (clerk, the person's unit, the holder), with how it reaches
/// the holder (R-DIST-1).
#[utoipa::path(post, path = "/v1/persons/{ssn}/cards", tag = "cards", params(("ssn" = String, Path)), request_body = ApplicationRequest,
    responses((status = 201, body = CardView), (status = 409, body = crate::error::Problem)))]
pub async fn apply(State(s): State<AppState>, Caller(who): Caller, Path(ssn): Path<String>, JsonBody(b): JsonBody<ApplicationRequest>) -> Result<Created<CardView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.apply_for_card(&who, &ssn, &b).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    pub region: String,
    /// The snapshot instant (R-APP-2); now if absent.
    #[schema(value_type = Option<String>)]
    pub snapshot_at: Option<DateTime<Utc>>,
    /// At most this many cards (the factory's capacity); all applied cards when absent.
    pub max_cards: Option<usize>,
}

/// Cuts a production batch (operator).
#[utoipa::path(post, path = "/v1/production-batches", tag = "cards", request_body = BatchBody, responses((status = 201, body = BatchView)))]
pub async fn cut_batch(State(s): State<AppState>, Caller(who): Caller, JsonBody(b): JsonBody<BatchBody>) -> Result<Created<BatchView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.cut_batch(&who, &b.region, b.snapshot_at, b.max_cards).await?)))
}

/// The factory's results for a batch (vendor); each line is reported.
#[utoipa::path(post, path = "/v1/production-batches/{id}/results", tag = "cards", params(("id" = i64, Path)), request_body = Vec<ProductionResult>,
    responses((status = 200, body = Vec<ResultReport>)))]
pub async fn results(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<Vec<ProductionResult>>,
) -> Result<Json<Vec<ResultReport>>, ApiError> {
    Ok(Json(s.service.record_production_results(&who, id, &b).await?))
}

/// Sends a batch's produced cards to their units and outlets (operator).
#[utoipa::path(post, path = "/v1/production-batches/{id}/dispatch", tag = "cards", params(("id" = i64, Path)), responses((status = 200, body = Vec<ResultReport>)))]
pub async fn dispatch(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>) -> Result<Json<Vec<ResultReport>>, ApiError> {
    Ok(Json(s.service.dispatch_batch(&who, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankAccountBody {
    pub opened: bool,
    pub reason: Option<String>,
}

/// The bank's answer on a financial card's account (bank).
#[utoipa::path(post, path = "/v1/cards/{id}/bank-account", tag = "cards", params(("id" = i64, Path)), request_body = BankAccountBody, responses((status = 200, body = CardView)))]
pub async fn bank_account(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, JsonBody(b): JsonBody<BankAccountBody>) -> Result<Json<CardView>, ApiError> {
    Ok(Json(s.service.record_bank_account(&who, id, b.opened, b.reason).await?))
}

/// Hands a card to its holder (unit, clerk); a replacement needs its certificate and ID.
#[utoipa::path(post, path = "/v1/cards/{id}/hand-over", tag = "cards", params(("id" = i64, Path)), request_body = HandOverRequest, responses((status = 200, body = CardView)))]
pub async fn hand_over(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, JsonBody(b): JsonBody<HandOverRequest>) -> Result<Json<CardView>, ApiError> {
    Ok(Json(s.service.hand_over(&who, id, &b).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneBody {
    /// `social` or `financial`.
    #[schema(value_type = String)]
    pub zone: Zone,
    /// R-ACT-2: when a new card's social zone starts, what becomes of the bank account of
    /// the card it supersedes: `keep` (the default) or `close`; sent to the bank with the
    /// old card's `card.replaced` event.
    #[schema(value_type = Option<String>)]
    pub old_card_account: Option<yikatong_core::card::AccountChoice>,
}

/// Starts a zone (institution, bank, clerk).
#[utoipa::path(post, path = "/v1/cards/{id}/activation", tag = "cards", params(("id" = i64, Path)), request_body = ZoneBody, responses((status = 200, body = CardView)))]
pub async fn activation(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, JsonBody(b): JsonBody<ZoneBody>) -> Result<Json<CardView>, ApiError> {
    Ok(Json(s.service.activate(&who, id, b.zone, b.old_card_account).await?))
}

/// A card, as in force now. At a kiosk or on the hotline the card's query password is
/// needed, in the `X-Query-Password` header (R-PWD-1).
#[utoipa::path(get, path = "/v1/cards/{id}", tag = "cards",
    params(("id" = i64, Path), ("X-Query-Password" = Option<String>, Header, description = "kiosk and hotline only")),
    responses((status = 200, body = CardView), (status = 404, body = crate::error::Problem)))]
pub async fn get(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, headers: axum::http::HeaderMap) -> Result<Json<CardView>, ApiError> {
    let password = headers.get("x-query-password").and_then(|v| v.to_str().ok());
    Ok(Json(s.service.query_card_with_password(&who, id, password).await?))
}

/// The card's history, oldest first: every event with actor, channel, place and time.
#[utoipa::path(get, path = "/v1/cards/{id}/events", tag = "cards", params(("id" = i64, Path), ("X-Query-Password" = Option<String>, Header, description = "kiosk and hotline: the query password of the card asked about, or of the person's current card")),
    responses((status = 200, body = Vec<CardEventView>), (status = 403, body = crate::error::Problem)))]
pub async fn events(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, QueryPassword(password): QueryPassword) -> Result<Json<Vec<CardEventView>>, ApiError> {
    let who = s.service.with_query_password(&who, Operation::ReadCardEvents, QueryTarget::Card(id), password.as_deref()).await?;
    Ok(Json(s.service.card_history(&who, id).await?))
}

/// The settlement-time card check (institution): refused with the reason when the card
/// may not settle (R-SET-10); recorded in the card's history when it may.
#[utoipa::path(post, path = "/v1/cards/{id}/settlement-check", tag = "cards", params(("id" = i64, Path)),
    responses((status = 200, body = CardView), (status = 409, body = crate::error::Problem)))]
pub async fn settlement_check(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>) -> Result<Json<CardView>, ApiError> {
    Ok(Json(s.service.check_card_for_settlement(&who, id).await?))
}

/// Cards past their production promise (operator).
#[utoipa::path(get, path = "/v1/cards/overdue", tag = "cards", responses((status = 200, body = Vec<CardView>)))]
pub async fn overdue(State(s): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<CardView>>, ApiError> {
    Ok(Json(s.service.overdue_cards(&who).await?))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreLossBody {
    /// Only where zones are reported separately (Jinan): `social` or `financial`.
    #[schema(value_type = Option<String>)]
    pub zone: Option<Zone>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PreLossAnswer {
    #[schema(value_type = String)]
    pub until: DateTime<Utc>,
    pub card: CardView,
}

/// Pre-loss (clerk, hotline, kiosk, holder): in force at once, lifts by itself.
#[utoipa::path(post, path = "/v1/cards/{id}/pre-loss", tag = "cards", params(("id" = i64, Path)), request_body = PreLossBody,
    responses((status = 201, body = PreLossAnswer), (status = 409, body = crate::error::Problem)))]
pub async fn pre_loss(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, JsonBody(b): JsonBody<PreLossBody>) -> Result<Created<PreLossAnswer>, ApiError> {
    let card = s.service.report_pre_loss(&who, id, b.zone).await?;
    let until = card.pre_loss.as_ref().map(|p| p.until).ok_or_else(|| ApiError::new(500, "internal_error", "pre-loss not recorded"))?;
    Ok((StatusCode::CREATED, Json(PreLossAnswer { until, card })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ZoneQuery {
    /// Only where zones are reported separately.
    pub zone: Option<String>,
}

fn zone_param(z: Option<String>) -> Result<Option<Zone>, ApiError> {
    match z.as_deref() {
        None => Ok(None),
        Some("social") => Ok(Some(Zone::Social)),
        Some("financial") => Ok(Some(Zone::Financial)),
        Some(other) => Err(ApiError::new(422, "invalid_zone", format!("zone must be social or financial, not {other:?}"))),
    }
}

/// Revokes a pre-loss (clerk, at an outlet).
#[utoipa::path(delete, path = "/v1/cards/{id}/pre-loss", tag = "cards", params(("id" = i64, Path), ZoneQuery), responses((status = 200, body = CardView)))]
pub async fn revoke_pre_loss(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, Query(q): Query<ZoneQuery>) -> Result<Json<CardView>, ApiError> {
    Ok(Json(s.service.revoke_pre_loss(&who, id, zone_param(q.zone)?).await?))
}

/// Formal loss with the replacement application (clerk, at an outlet).
#[utoipa::path(post, path = "/v1/cards/{id}/formal-loss", tag = "cards", params(("id" = i64, Path)), request_body = FormalLossRequest, responses((status = 201, body = ReplacementView)))]
pub async fn formal_loss(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<FormalLossRequest>,
) -> Result<Created<ReplacementView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.formal_loss(&who, id, &b).await?)))
}

/// Exchange of a damaged card (clerk).
#[utoipa::path(post, path = "/v1/cards/{id}/exchange", tag = "cards", params(("id" = i64, Path)), request_body = ExchangeRequest, responses((status = 201, body = ReplacementView)))]
pub async fn exchange(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, JsonBody(b): JsonBody<ExchangeRequest>) -> Result<Created<ReplacementView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.exchange(&who, id, &b).await?)))
}

/// The holder's online replacement application (R-ONLINE-1), with its delivery (R-LOSS-5).
#[utoipa::path(post, path = "/v1/cards/{id}/replacement-application", tag = "cards", params(("id" = i64, Path)), request_body = DeliveryRequest, responses((status = 201, body = ReplacementView)))]
pub async fn replacement_application(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<DeliveryRequest>,
) -> Result<Created<ReplacementView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.online_replacement(&who, id, &b).await?)))
}

/// A certificate and whether it is valid today (institution, clerk, holder).
#[utoipa::path(get, path = "/v1/certificates/{number}", tag = "cards", params(("number" = String, Path)), responses((status = 200, body = CertificateView)))]
pub async fn certificate(State(s): State<AppState>, Caller(who): Caller, Path(number): Path<String>) -> Result<Json<CertificateView>, ApiError> {
    Ok(Json(s.service.certificate(&who, &number).await?))
}

/// Reprints a lost certificate (clerk).
#[utoipa::path(post, path = "/v1/certificates/{number}/reprint", tag = "cards", params(("number" = String, Path)), responses((status = 200, body = CertificateView)))]
pub async fn reprint(State(s): State<AppState>, Caller(who): Caller, Path(number): Path<String>) -> Result<Json<CertificateView>, ApiError> {
    Ok(Json(s.service.reprint_certificate(&who, &number).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub old: String,
    pub new: String,
}

/// Changes the query password (holder, clerk, hotline, kiosk).
#[utoipa::path(put, path = "/v1/cards/{id}/password", tag = "cards", params(("id" = i64, Path)), request_body = PasswordBody, responses((status = 204)))]
pub async fn password(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, JsonBody(b): JsonBody<PasswordBody>) -> Result<StatusCode, ApiError> {
    s.service.change_password(&who, id, &b.old, &b.new).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    pub new: String,
}

/// Resets a forgotten query password (clerk, at an outlet).
#[utoipa::path(post, path = "/v1/cards/{id}/password-reset", tag = "cards", params(("id" = i64, Path)), request_body = ResetBody, responses((status = 204)))]
pub async fn password_reset(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, JsonBody(b): JsonBody<ResetBody>) -> Result<StatusCode, ApiError> {
    s.service.reset_password(&who, id, &b.new).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The unit returns a card nobody collected (R-SECOND-1).
#[utoipa::path(post, path = "/v1/cards/{id}/return", tag = "cards", params(("id" = i64, Path)), responses((status = 200, body = CardView)))]
pub async fn return_card(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>) -> Result<Json<CardView>, ApiError> {
    Ok(Json(s.service.return_card(&who, id).await?))
}

/// The holder claims a returned card (R-SECOND-1; clerk or holder online); the body,
/// optional, says how it reaches them (outlet when absent).
#[utoipa::path(post, path = "/v1/cards/{id}/second-application", tag = "cards", params(("id" = i64, Path)), request_body(content = Option<DeliveryRequest>), responses((status = 200, body = CardView)))]
pub async fn second_application(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<i64>,
    OptionalJsonBody(b): OptionalJsonBody<DeliveryRequest>,
) -> Result<Json<CardView>, ApiError> {
    Ok(Json(s.service.second_application(&who, id, &b).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DispatchQuery {
    /// `unit`, `outlet`, `mail` or `bank`; every way when absent.
    pub way: Option<String>,
}

/// A batch's dispatch list, per delivery way (operator, R-DIST-1).
#[utoipa::path(get, path = "/v1/production-batches/{id}/dispatch-list", tag = "cards", params(("id" = i64, Path), DispatchQuery), responses((status = 200, body = Vec<DispatchLine>)))]
pub async fn dispatch_list(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, Query(q): Query<DispatchQuery>) -> Result<Json<Vec<DispatchLine>>, ApiError> {
    Ok(Json(s.service.dispatch_list(&who, id, q.way.as_deref()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

/// A card with wrong printed data goes back and is made again (R-WRONG-1); answers the new card.
#[utoipa::path(post, path = "/v1/cards/{id}/wrong-data", tag = "cards", params(("id" = i64, Path)), request_body = ReasonBody, responses((status = 201, body = CardView)))]
pub async fn wrong_data(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, JsonBody(b): JsonBody<ReasonBody>) -> Result<Created<CardView>, ApiError> {
    Ok((StatusCode::CREATED, Json(s.service.report_wrong_data(&who, id, &b.reason).await?)))
}

/// Cancels a card for use on death or moving out (R-DEATH-1; reason `death` or `moved_out`).
#[utoipa::path(post, path = "/v1/cards/{id}/cancellation", tag = "cards", params(("id" = i64, Path)), request_body = ReasonBody, responses((status = 200, body = CardView)))]
pub async fn cancellation(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>, JsonBody(b): JsonBody<ReasonBody>) -> Result<Json<CardView>, ApiError> {
    Ok(Json(s.service.cancel_card(&who, id, &b.reason).await?))
}

/// Writes the record's current data to a card out of step (R-INFO-1; clerk).
#[utoipa::path(post, path = "/v1/cards/{id}/synchronisation", tag = "cards", params(("id" = i64, Path)), responses((status = 200, body = CardView)))]
pub async fn synchronisation(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>) -> Result<Json<CardView>, ApiError> {
    Ok(Json(s.service.synchronise_card(&who, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Messages after this id.
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxItem {
    pub id: i64,
    pub topic: String,
    pub card_id: i64,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    #[schema(value_type = String)]
    pub at: DateTime<Utc>,
    /// When it may be delivered: `at`, or a pre-loss's end for the notice that it lifted.
    #[schema(value_type = String)]
    pub due: DateTime<Utc>,
    /// When the broker acknowledged it (`ykt serve --nats`); absent while it waits.
    #[schema(value_type = Option<String>)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// When a later change withdrew it before it was due (a revoked pre-loss's lifting).
    #[schema(value_type = Option<String>)]
    pub withdrawn_at: Option<DateTime<Utc>>,
}

impl From<OutboxMessage> for OutboxItem {
    fn from(m: OutboxMessage) -> Self {
        OutboxItem { id: m.id, topic: m.topic, card_id: m.card_id, payload: m.payload, at: m.at, due: m.due, delivered_at: m.delivered_at, withdrawn_at: m.withdrawn_at }
    }
}

/// R-EVT-2: the parties that take card notices (bank, transit, park pass), each by name
/// with its backlog (operator, bank).
#[utoipa::path(get, path = "/v1/consumers", tag = "cards", responses((status = 200, body = Vec<yikatong_service::PartyView>)))]
pub async fn consumers(State(s): State<AppState>, Caller(who): Caller) -> Result<Json<Vec<yikatong_service::PartyView>>, ApiError> {
    Ok(Json(s.service.consumers(&who).await?))
}

/// Blocking, unblocking, replacement and cancellation messages for banks and transit
/// (operator, bank).
#[utoipa::path(get, path = "/v1/outbox", tag = "cards", params(OutboxQuery), responses((status = 200, body = Vec<OutboxItem>)))]
pub async fn outbox(State(s): State<AppState>, Caller(who): Caller, Query(q): Query<OutboxQuery>) -> Result<Json<Vec<OutboxItem>>, ApiError> {
    let msgs = s.service.outbox(&who, q.after.unwrap_or(0), q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    Ok(Json(msgs.into_iter().map(OutboxItem::from).collect()))
}

/// Verifies every card's keyed chain, each card's state as its events' projection, and
/// the newest checkpoint of the chains' heads (operator).
#[utoipa::path(get, path = "/v1/audit/verify", tag = "cards", responses((status = 200, body = yikatong_service::AuditView)))]
pub async fn audit_verify(State(s): State<AppState>, Caller(who): Caller) -> Result<Json<yikatong_service::AuditView>, ApiError> {
    Ok(Json(s.service.audit(&who, s.service.checkpoints()).await?))
}

/// Every invariant of the whole database with its count of violations (operator); the
/// same report as `ykt verify`.
#[utoipa::path(get, path = "/v1/verify", tag = "operations", responses((status = 200, body = yikatong_service::VerifyReport)))]
pub async fn verify(State(s): State<AppState>, Caller(who): Caller) -> Result<Json<yikatong_service::VerifyReport>, ApiError> {
    Ok(Json(s.service.verify(&who).await?))
}

/// The batch's personalisation file for the card factory (operator, vendor), CSV.
#[utoipa::path(get, path = "/v1/production-batches/{id}/personalisation", tag = "cards", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv", body = String)))]
pub async fn personalisation(State(s): State<AppState>, Caller(who): Caller, Path(id): Path<i64>) -> Result<impl axum::response::IntoResponse, ApiError> {
    let file = s.service.personalisation_file(&who, id).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")], file))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub after: Option<String>,
    pub limit: Option<i64>,
}

/// A unit's people: who has a card, who does not, and why (unit, clerk, operator).
#[utoipa::path(get, path = "/v1/units/{code}/persons", tag = "cards", params(("code" = String, Path), PageQuery),
    responses((status = 200, body = yikatong_service::batch::UnitPersonsPage)))]
pub async fn unit_persons(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(code): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<yikatong_service::batch::UnitPersonsPage>, ApiError> {
    Ok(Json(s.service.unit_persons(&who, &code, q.after.as_deref(), q.limit.unwrap_or(100)).await?))
}
