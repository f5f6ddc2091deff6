//! Request ids, structured request logs (with ID numbers masked in paths) and
//! Prometheus metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, with_local_recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
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

/// Upper bounds (seconds) of the latency histograms' buckets: from a millisecond, where
/// a card check answers, to ten seconds, past any request's patience.
const LATENCY_BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

const REQUESTS: &str = "ykt_http_requests_total";
const REQUEST_SECONDS: &str = "ykt_http_request_duration_seconds";
const BOOKING_SECONDS: &str = "ykt_settlement_booking_seconds";
const PERSONS: &str = "ykt_registry_persons";

/// The service's Prometheus metrics (`metrics` with its Prometheus exporter): requests
/// by method, route template and status, each request's latency and each 2207 booking's
/// as histograms. Each server keeps its own recorder, so that servers in one process
/// (tests, benchmarks) count apart.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new().set_buckets(&LATENCY_BUCKETS).map_or_else(|_| PrometheusBuilder::new().build_recorder(), PrometheusBuilder::build_recorder);
        let handle = recorder.handle();
        with_local_recorder(&recorder, || {
            describe_counter!(REQUESTS, "HTTP requests answered, by method, route and status.");
            describe_histogram!(REQUEST_SECONDS, Unit::Seconds, "Time spent answering, by method, route and status.");
            describe_histogram!(BOOKING_SECONDS, Unit::Seconds, "Time a 2207 settlement took to book, from its claim to its answer, by outcome.");
            describe_gauge!(PERSONS, "Insured persons in the registry.");
        });
        Metrics { recorder, handle }
    }
}

impl Metrics {
    /// One request answered.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
        with_local_recorder(&self.recorder, || {
            counter!(REQUESTS, &labels).increment(1);
            histogram!(REQUEST_SECONDS, &labels).record(seconds);
        });
    }

    /// One 2207 booked (`booked`) or refused.
    pub fn observe_booking(&self, booked: bool, seconds: f64) {
        let outcome = if booked { "booked" } else { "refused" };
        with_local_recorder(&self.recorder, || histogram!(BOOKING_SECONDS, "outcome" => outcome).record(seconds));
    }

    /// Prometheus text exposition, with the registry's size when it is known.
    pub fn render(&self, persons: Option<i64>) -> String {
        if let Some(n) = persons {
            #[allow(clippy::cast_precision_loss)] // a count of persons is far below 2^52
            with_local_recorder(&self.recorder, || gauge!(PERSONS).set(n as f64));
        }
        self.handle.render()
    }
}

pub async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".into(), |m| m.as_str().to_string());
    let res = next.run(req).await;
    state.metrics.observe(&method, &route, res.status().as_u16(), started.elapsed().as_secs_f64());
    res
}
