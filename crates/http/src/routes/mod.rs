//! The `/v1` endpoints, `/healthz`, `/metrics` and the test clock. Each documented
//! route is registered with its handler's OpenAPI annotation (`utoipa_axum::routes!`),
//! so the document lists exactly what is routed: a route cannot be served undocumented
//! or documented unserved.

pub mod cards;
pub mod messages;
pub mod ops;
pub mod policy;
pub mod registry;
pub mod settlement;
pub mod tokens;

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The endpoints that take a file of a city's size (streamed, `upload.rs`).
pub fn uploads() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(registry::applications)).routes(routes!(registry::import_persons))
}

/// The test clock's endpoints (served only with `ykt serve --test-clock`).
pub fn test_clock() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ops::get_clock, ops::set_clock))
}

/// Every documented endpoint but the uploads and the test clock.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::metrics))
        .routes(routes!(openapi))
        .routes(routes!(registry::create_unit))
        .routes(routes!(registry::get_unit))
        .routes(routes!(registry::create_outlet))
        .routes(routes!(registry::create_institution))
        .routes(routes!(registry::create_person))
        .routes(routes!(registry::get_person))
        .routes(routes!(registry::change_person, registry::person_history))
        .routes(routes!(registry::person_by_handbook))
        .routes(routes!(registry::comparison))
        .routes(routes!(registry::photo))
        .routes(routes!(registry::second_collection))
        .routes(routes!(registry::second_collection_form))
        .routes(routes!(policy::policy_at))
        .routes(routes!(policy::add_working_days))
        .routes(routes!(policy::calendar_day))
        .routes(routes!(policy::load_calendar_year))
        .routes(routes!(tokens::issue, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(tokens::issue_his_credential, tokens::his_credentials))
        .routes(routes!(tokens::revoke_his_credential))
        .routes(routes!(cards::apply))
        .routes(routes!(cards::cut_batch))
        .routes(routes!(cards::results))
        .routes(routes!(cards::dispatch))
        .routes(routes!(cards::dispatch_list))
        .routes(routes!(cards::personalisation))
        .routes(routes!(cards::unit_persons))
        .routes(routes!(cards::overdue))
        .routes(routes!(cards::get))
        .routes(routes!(cards::events))
        .routes(routes!(cards::bank_account))
        .routes(routes!(cards::hand_over))
        .routes(routes!(cards::activation))
        .routes(routes!(cards::pre_loss, cards::revoke_pre_loss))
        .routes(routes!(cards::formal_loss))
        .routes(routes!(cards::exchange))
        .routes(routes!(cards::replacement_application))
        .routes(routes!(cards::password))
        .routes(routes!(cards::password_reset))
        .routes(routes!(cards::return_card))
        .routes(routes!(cards::second_application))
        .routes(routes!(cards::wrong_data))
        .routes(routes!(cards::cancellation))
        .routes(routes!(cards::synchronisation))
        .routes(routes!(cards::settlement_check))
        .routes(routes!(cards::certificate))
        .routes(routes!(cards::reprint))
        .routes(routes!(settlement::certificate_visits))
        .routes(routes!(cards::outbox))
        .routes(routes!(cards::consumers))
        .routes(routes!(messages::list))
        .routes(routes!(messages::sent))
        .routes(routes!(cards::audit_verify))
        .routes(routes!(cards::verify))
        .routes(routes!(settlement::catalog_items))
        .routes(routes!(settlement::account))
        .routes(routes!(settlement::credit))
        .routes(routes!(settlement::voucher))
        .routes(routes!(settlement::designated, settlement::set_designated))
        .routes(routes!(settlement::designated_counts))
        .routes(routes!(settlement::filings, settlement::record_filing))
        .routes(routes!(settlement::reimbursement))
        .routes(routes!(settlement::approve_reimbursement))
        .routes(routes!(settlement::reimbursement_payment_file))
        .routes(routes!(settlement::reimbursement_payment_file_again))
        .routes(routes!(settlement::reimbursement_results))
        .routes(routes!(settlement::reimbursements))
        .routes(routes!(settlement::get))
        .routes(routes!(settlement::trace))
        .routes(routes!(settlement::work_injury))
        .routes(routes!(settlement::work_injury_claim))
        .routes(routes!(settlement::start_credits))
        .routes(routes!(settlement::job))
        .routes(routes!(settlement::pay_premium, settlement::premiums))
        .routes(routes!(settlement::arrears))
        .routes(routes!(settlement::family, settlement::bind_family))
        .routes(routes!(settlement::family_deductions))
}

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations", responses((status = 200, body = Object)))]
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document_json())
}

/// The OpenAPI document of every documented route, as pretty JSON (what
/// `/v1/openapi.json` serves and `docs/openapi.json` holds).
pub fn document_json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, paths) = api().merge(uploads()).merge(test_clock()).split_for_parts();
        crate::openapi::document(paths).to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// The routes of the service: the API, the national interface and the portal.
pub fn routes(state: &AppState) -> Router<AppState> {
    let (mut r, _) = api().split_for_parts();
    r = r.route("/fsi/api/rsfComIfsService/callService", post(crate::his::call_service));
    r = r.route("/fsi/api/rsfComIfsService/callService/{infno}", post(crate::his::call_service_for));
    r = r.merge(crate::portal::routes(state));
    if state.test_clock.is_some() {
        r = r.merge(test_clock().split_for_parts().0);
    }
    r
}
