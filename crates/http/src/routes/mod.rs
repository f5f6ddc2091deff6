//! The `/v1` endpoints, `/healthz`, `/metrics` and the test clock.

pub mod ops;
pub mod policy;
pub mod registry;
pub mod tokens;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

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
        .route("/v1/policies/{region}", get(policy::policy_at))
        .route("/v1/calendar/working-days", get(policy::add_working_days))
        .route("/v1/calendar/days/{date}", get(policy::calendar_day))
        .route("/v1/calendar/years/{year}", axum::routing::put(policy::load_calendar_year))
        .route("/v1/tokens", post(tokens::issue).get(tokens::list))
        .route("/v1/tokens/{id}", axum::routing::delete(tokens::revoke));
    if state.test_clock.is_some() {
        r = r.route("/v1/test/clock", get(ops::get_clock).put(ops::set_clock));
    }
    r
}
