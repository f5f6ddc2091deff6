//! The OpenAPI document, generated from the handlers' annotations. The committed copy in
//! `docs/openapi.json` is checked against it by a test, so the contract cannot drift.

use utoipa::OpenApi;

use crate::routes::{cards, messages, ops, policy, registry, settlement, tokens};

#[derive(OpenApi)]
#[openapi(
    info(title = "Yikatong 一卡通", version = "1", description = "The social security card and the medical insurance behind it. Errors are application/problem+json with a stable `code`; money is integer fen; dates YYYY-MM-DD; business time Asia/Shanghai."),
    paths(
        ops::healthz, ops::metrics, ops::openapi, ops::get_clock, ops::set_clock,
        registry::create_unit, registry::get_unit, registry::create_outlet, registry::create_institution,
        registry::create_person, registry::get_person, registry::change_person, registry::person_history,
        registry::person_by_handbook, registry::applications, registry::comparison, registry::second_collection, registry::second_collection_form, registry::photo,
        policy::policy_at, policy::add_working_days, policy::calendar_day, policy::load_calendar_year,
        tokens::issue, tokens::list, tokens::revoke,
        messages::list, messages::sent,
        cards::apply, cards::cut_batch, cards::results, cards::dispatch, cards::overdue, cards::get, cards::events,
        cards::bank_account, cards::hand_over, cards::activation, cards::pre_loss, cards::revoke_pre_loss,
        cards::formal_loss, cards::exchange, cards::replacement_application, cards::password, cards::password_reset,
        cards::return_card, cards::second_application, cards::wrong_data, cards::cancellation, cards::synchronisation, cards::settlement_check,
        cards::certificate, cards::reprint, cards::outbox, cards::audit_verify, cards::verify, cards::personalisation, cards::unit_persons,
        settlement::catalog_items, settlement::account, settlement::credit, settlement::reimbursement, settlement::get, settlement::trace, settlement::start_credits, settlement::job, settlement::pay_premium, settlement::premiums, settlement::arrears,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The document as pretty JSON (what `/v1/openapi.json` serves and `docs/openapi.json` holds).
pub fn document_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
