//! The OpenAPI document, generated from the handlers' annotations. The committed copy in
//! `docs/openapi.json` is checked against it by a test, so the contract cannot drift.

use utoipa::OpenApi;

/// What the document says besides its paths: its title, the bearer scheme, the
/// problem schema. The paths come from the routes (`crate::routes::api`).
#[derive(OpenApi)]
#[openapi(
    info(title = "Yikatong 一卡通", version = "1", description = "The social security card and the medical insurance behind it. Errors are application/problem+json with a stable `code`; money is integer fen; dates YYYY-MM-DD; business time Asia/Shanghai."),
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

/// What makes the document true to the service (schemathesis checks it): every response
/// has a description; every operation lists the problem+json answers it can give (a bad
/// body or parameter 400, no or a wrong token 401, a role the access matrix refuses 403,
/// nothing there 404, a state that forbids it 409, a body over its limit 413, a refused
/// input 422); public reads say they need no token.
struct TrueContract;

/// Reads anyone may make without a token (policy and the calendar are public).
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/metrics" | "/v1/openapi.json")
        || path.starts_with("/v1/policies/")
        || path.starts_with("/v1/calendar/") && !path.starts_with("/v1/calendar/years/")
}

fn reason(status: &str) -> &'static str {
    match status {
        "200" => "the answer",
        "201" => "created",
        "202" => "accepted; follow the job",
        "204" => "done; no body",
        "303" => "see the resource",
        "400" => "the body or a parameter is malformed (invalid_body, invalid_parameter)",
        "401" => "no token, or a token unknown or revoked (unauthenticated)",
        "403" => "the caller's role may not do this on its channel (not_allowed_on_channel), or a kiosk or hotline read lacks the query password",
        "404" => "nothing with this key is visible to the caller",
        "409" => "the current state does not allow it, or someone changed it at the same moment",
        "413" => "the body is larger than the limit it names",
        "422" => "the input is refused, with the reason (a stable code)",
        _ => "an answer",
    }
}

impl utoipa::Modify for TrueContract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, security::SecurityRequirement};
        let problem = |status: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(reason(status))
                    .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
                    .build(),
            )
        };
        // Operation ids are the handlers' names; two modules' handlers of one name get
        // their path added, so that every id is unique.
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for item in openapi.paths.paths.values() {
            for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch].into_iter().flatten() {
                *seen.entry(op.operation_id.clone().unwrap_or_default()).or_default() += 1;
            }
        }
        for (path, item) in &mut openapi.paths.paths {
            for op in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
                let id = op.operation_id.clone().unwrap_or_default();
                if seen.get(&id).is_some_and(|n| *n > 1) {
                    let slug: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
                    op.operation_id = Some(format!("{id}{}", slug.trim_end_matches('_')));
                }
            }
        }
        for (path, item) in &mut openapi.paths.paths {
            let public = is_public(path);
            for (method, op) in [("get", &mut item.get), ("put", &mut item.put), ("post", &mut item.post), ("delete", &mut item.delete), ("patch", &mut item.patch)] {
                let Some(op) = op.as_mut() else { continue };
                for (status, response) in &mut op.responses.responses {
                    let RefOr::T(r) = response else { continue };
                    if r.description.is_empty() {
                        r.description = reason(status).to_string();
                    }
                    // Refusals are problem+json, whatever the handler's annotation says.
                    if (status.starts_with('4') || status.starts_with('5'))
                        && let Some(body) = r.content.shift_remove("application/json")
                    {
                        r.content.insert("application/problem+json".to_string(), body);
                    }
                }
                let mut statuses = vec!["400", "404", "422"];
                if !public {
                    statuses.extend(["401", "403"]);
                }
                if method != "get" {
                    statuses.extend(["409", "413"]);
                } else if !public {
                    statuses.push("409");
                }
                for status in statuses {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| problem(status));
                }
                if public {
                    op.security = Some(vec![SecurityRequirement::default()]);
                }
            }
        }
    }
}

/// The document of `paths` (the routes' own annotations): [`ApiDoc`] with the paths, and
/// every operation made true to the service ([`TrueContract`]).
pub fn document(paths: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    TrueContract.modify(&mut doc);
    doc
}
