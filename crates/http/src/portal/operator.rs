//! `/operator`: the bureau's operator — overdue cards, the audit trail's verification,
//! the policy in force on a date.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::labels::CardRow;
use super::{Chrome, OPERATOR, Session, page, refusal};
use crate::AppState;

type Operator = Session<OPERATOR>;

#[derive(Template)]
#[template(path = "operator_home.html")]
struct Home {
    page: Chrome,
    overdue: Vec<(CardRow, String, String)>,
    audit: Option<(bool, u64, Vec<String>)>,
}

#[derive(Template)]
#[template(path = "operator_policy.html")]
struct Policy {
    page: Chrome,
    region: String,
    /// Each region and whether it is the one shown.
    regions: Vec<(String, bool)>,
    at: String,
    parameters: Vec<(String, String, String, String)>,
}

#[derive(Deserialize)]
struct AuditQuery {
    verify: Option<String>,
}

async fn home(State(s): State<AppState>, me: Operator, Query(q): Query<AuditQuery>) -> Response {
    let overdue = match s.service.overdue_cards(&me.who).await {
        Ok(cards) => cards.iter().map(|c| (CardRow::of(c), c.person_ssn_masked.clone(), c.due_on.map(|d| d.to_string()).unwrap_or_default())).collect(),
        Err(e) => return refusal(me.chrome("经办管理"), e, "/operator"),
    };
    let audit = match q.verify {
        Some(_) => match s.service.store().verify_audit().await {
            Ok(r) => Some((r.problems.is_empty(), r.events, r.problems.into_iter().take(20).collect())),
            Err(e) => return refusal(me.chrome("经办管理"), e.into(), "/operator"),
        },
        None => None,
    };
    page(&Home { page: me.chrome("经办管理 Operations"), overdue, audit })
}

#[derive(Deserialize)]
struct PolicyQuery {
    region: Option<String>,
    at: Option<String>,
}

async fn policy(State(s): State<AppState>, me: Operator, Query(q): Query<PolicyQuery>) -> Response {
    let region = q.region.unwrap_or_else(|| "beijing".into());
    let at = q.at.filter(|a| !a.is_empty()).unwrap_or_else(|| s.service.clock().today().to_string());
    match yikatong_service::parse_date_param("at", &at).and_then(|date| s.service.policy_at(&region, date)) {
        Ok(view) => page(&Policy {
            page: me.chrome("政策参数 Policy in force"),
            regions: s.service.policies().regions().map(|r| (r.code.clone(), r.code == region)).collect(),
            region,
            at,
            parameters: view.parameters.into_iter().map(|(name, p)| (name, format!("{} {}", p.value, p.unit), p.from.to_string(), p.source)).collect(),
        }),
        Err(e) => refusal(me.chrome("政策参数"), e, "/operator/policy"),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/operator", get(home)).route("/operator/policy", get(policy)).merge(super::token_sign_in_routes::<OPERATOR>())
}
