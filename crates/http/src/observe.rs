//! Request ids, structured request logs (with ID numbers masked in paths) and
//! Prometheus metrics.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use tower::ServiceBuilder;
use tower::layer::util::Stack;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::Level;
use yikatong_core::identity::mask_ssns_in;

use crate::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn request_id_layers() -> ServiceBuilder<Stack<PropagateRequestIdLayer, Stack<SetRequestIdLayer<MakeRequestUuid>, tower::layer::util::Identity>>> {
    ServiceBuilder::new().layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid)).layer(PropagateRequestIdLayer::new(REQUEST_ID))
}

/// One span per request, naming the request id and the path with ID numbers masked.
#[derive(Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &axum::http::Request<B>) -> tracing::Span {
        let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info_span!("request", method = %req.method(), path = %mask_ssns_in(req.uri().path()), request_id = %id)
    }
}

pub fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), DefaultOnResponse> {
    TraceLayer::new_for_http().make_span_with(RequestSpan).on_request(()).on_response(DefaultOnResponse::new().level(Level::INFO))
}

/// (method, route template, status).
type RouteKey = (String, String, u16);

/// Request counts and durations by method, route template and status.
#[derive(Default)]
pub struct Metrics {
    /// Count and total seconds.
    by_route: Mutex<BTreeMap<RouteKey, (u64, f64)>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.by_route.lock() {
            let e = m.entry((method.into(), route.into(), status)).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += seconds;
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self, persons: Option<i64>) -> String {
        let mut out = String::new();
        out.push_str("# HELP ykt_http_requests_total HTTP requests answered, by method, route and status.\n");
        out.push_str("# TYPE ykt_http_requests_total counter\n");
        let snapshot = self.by_route.lock().map(|m| m.clone()).unwrap_or_default();
        for ((method, route, status), (count, _)) in &snapshot {
            out.push_str(&format!("ykt_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}\n"));
        }
        out.push_str("# HELP ykt_http_request_duration_seconds Time spent answering, by method, route and status.\n");
        out.push_str("# TYPE ykt_http_request_duration_seconds summary\n");
        for ((method, route, status), (count, sum)) in &snapshot {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            out.push_str(&format!("ykt_http_request_duration_seconds_sum{{{labels}}} {sum:.6}\n"));
            out.push_str(&format!("ykt_http_request_duration_seconds_count{{{labels}}} {count}\n"));
        }
        if let Some(n) = persons {
            out.push_str("# HELP ykt_registry_persons Insured persons in the registry.\n# TYPE ykt_registry_persons gauge\n");
            out.push_str(&format!("ykt_registry_persons {n}\n"));
        }
        out
    }
}

pub async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    state.metrics.observe(&method, &route, res.status().as_u16(), started.elapsed().as_secs_f64());
    res
}
