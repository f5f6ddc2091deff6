//! The `/v1` endpoints, `/healthz`, `/metrics` and the test clock.

pub mod cards;
pub mod messages;
pub mod ops;
pub mod policy;
pub mod registry;
pub mod settlement;
pub mod tokens;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// The endpoints that take a file of a city's size (streamed, `upload.rs`).
pub fn uploads() -> Router<AppState> {
    Router::new().route("/v1/units/{code}/applications", post(registry::applications)).route("/v1/persons/import", post(registry::import_persons))
}

pub fn routes(state: &AppState) -> Router<AppState> {
    let mut r = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/v1/openapi.json", get(ops::openapi))
        .route("/v1/units", post(registry::create_unit))
        .route("/v1/units/{code}", get(registry::get_unit))
        .route("/v1/outlets", post(registry::create_outlet))
        .route("/v1/institutions", post(registry::create_institution))
        .route("/v1/persons", post(registry::create_person))
        .route("/v1/persons/{ssn}", get(registry::get_person))
        .route("/v1/persons/{ssn}/changes", post(registry::change_person).get(registry::person_history))
        .route("/v1/handbook-numbers/{number}", get(registry::person_by_handbook))
        .route("/v1/persons/{ssn}/comparison", get(registry::comparison))
        .route("/v1/persons/{ssn}/photo", axum::routing::put(registry::photo))
        .route("/v1/persons/{ssn}/second-collection", post(registry::second_collection))
        .route("/v1/persons/{ssn}/second-collection-form", get(registry::second_collection_form))
        .route("/v1/policies/{region}", get(policy::policy_at))
        .route("/v1/calendar/working-days", get(policy::add_working_days))
        .route("/v1/calendar/days/{date}", get(policy::calendar_day))
        .route("/v1/calendar/years/{year}", axum::routing::put(policy::load_calendar_year))
        .route("/v1/tokens", post(tokens::issue).get(tokens::list))
        .route("/v1/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/v1/his-credentials", post(tokens::issue_his_credential).get(tokens::his_credentials))
        .route("/v1/his-credentials/{id}", axum::routing::delete(tokens::revoke_his_credential))
        .route("/v1/persons/{ssn}/cards", post(cards::apply))
        .route("/v1/production-batches", post(cards::cut_batch))
        .route("/v1/production-batches/{id}/results", post(cards::results))
        .route("/v1/production-batches/{id}/dispatch", post(cards::dispatch))
        .route("/v1/production-batches/{id}/dispatch-list", get(cards::dispatch_list))
        .route("/v1/production-batches/{id}/personalisation", get(cards::personalisation))
        .route("/v1/units/{code}/persons", get(cards::unit_persons))
        .route("/v1/cards/overdue", get(cards::overdue))
        .route("/v1/cards/{id}", get(cards::get))
        .route("/v1/cards/{id}/events", get(cards::events))
        .route("/v1/cards/{id}/bank-account", post(cards::bank_account))
        .route("/v1/cards/{id}/hand-over", post(cards::hand_over))
        .route("/v1/cards/{id}/activation", post(cards::activation))
        .route("/v1/cards/{id}/pre-loss", post(cards::pre_loss).delete(cards::revoke_pre_loss))
        .route("/v1/cards/{id}/formal-loss", post(cards::formal_loss))
        .route("/v1/cards/{id}/exchange", post(cards::exchange))
        .route("/v1/cards/{id}/replacement-application", post(cards::replacement_application))
        .route("/v1/cards/{id}/password", axum::routing::put(cards::password))
        .route("/v1/cards/{id}/password-reset", post(cards::password_reset))
        .route("/v1/cards/{id}/return", post(cards::return_card))
        .route("/v1/cards/{id}/second-application", post(cards::second_application))
        .route("/v1/cards/{id}/wrong-data", post(cards::wrong_data))
        .route("/v1/cards/{id}/cancellation", post(cards::cancellation))
        .route("/v1/cards/{id}/synchronisation", post(cards::synchronisation))
        .route("/v1/cards/{id}/settlement-check", post(cards::settlement_check))
        .route("/v1/certificates/{number}", get(cards::certificate))
        .route("/v1/certificates/{number}/reprint", post(cards::reprint))
        .route("/v1/certificates/{number}/visits", get(settlement::certificate_visits))
        .route("/v1/outbox", get(cards::outbox))
        .route("/v1/messages", get(messages::list))
        .route("/v1/messages/{id}/sent", post(messages::sent))
        .route("/v1/audit/verify", get(cards::audit_verify))
        .route("/v1/verify", get(cards::verify))
        .route("/v1/catalog/items", post(settlement::catalog_items))
        .route("/v1/persons/{ssn}/account", get(settlement::account))
        .route("/v1/persons/{ssn}/account/credits", post(settlement::credit))
        .route("/v1/persons/{ssn}/vouchers", post(settlement::voucher))
        .route("/v1/persons/{ssn}/designated-institutions", get(settlement::designated).put(settlement::set_designated))
        .route("/v1/reports/designated-choices", get(settlement::designated_counts))
        .route("/v1/reimbursements", post(settlement::reimbursement))
        .route("/v1/reimbursements/{id}/approval", post(settlement::approve_reimbursement))
        .route("/v1/reimbursements/payment-files", post(settlement::reimbursement_payment_file))
        .route("/v1/reimbursements/payment-files/{file_id}", get(settlement::reimbursement_payment_file_again))
        .route("/v1/reimbursements/payment-results", post(settlement::reimbursement_results))
        .route("/v1/persons/{ssn}/reimbursements", get(settlement::reimbursements))
        .route("/v1/settlements/{setl_id}", get(settlement::get))
        .route("/v1/settlements/{setl_id}/trace", get(settlement::trace))
        .route("/v1/settlements/{setl_id}/work-injury", post(settlement::work_injury))
        .route("/v1/work-injury-claims/{claim_id}", get(settlement::work_injury_claim))
        .route("/v1/jobs/credit-accounts", post(settlement::start_credits))
        .route("/v1/jobs/{id}", get(settlement::job))
        .route("/v1/persons/{ssn}/premiums", post(settlement::pay_premium).get(settlement::premiums))
        .route("/v1/premiums/arrears", get(settlement::arrears))
        .route("/v1/persons/{ssn}/family", get(settlement::family).post(settlement::bind_family))
        .route("/v1/premiums/family-deductions", post(settlement::family_deductions));
    r = r.route("/fsi/api/rsfComIfsService/callService", post(crate::his::call_service));
    r = r.route("/fsi/api/rsfComIfsService/callService/{infno}", post(crate::his::call_service_for));
    r = r.merge(crate::portal::routes(state));
    if state.test_clock.is_some() {
        r = r.route("/v1/test/clock", get(ops::get_clock).put(ops::set_clock));
    }
    r
}
