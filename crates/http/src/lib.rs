#![recursion_limit = "256"]
//! Yikatong's HTTP interfaces on one listener: REST `/v1` (JSON, problem+json errors,
//! OpenAPI at `/v1/openapi.json`), `/healthz` and `/metrics`. This file only wires
//! things together; each part lives in its own module.

mod error;
mod extract;
mod his;
mod idempotency;
mod observe;
pub mod openapi;
pub mod portal;
pub mod properties;
mod routes;

pub use routes::document_json;
mod upload;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use yikatong_core::clock::TestClock;
use yikatong_service::Service;

pub use error::ApiError;
pub use his::{Envelope, fee_lines_of};
pub use observe::Metrics;

/// Shared state of every request.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    /// Present only with `ykt serve --test-clock`: then `PUT /v1/test/clock` exists.
    pub test_clock: Option<TestClock>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(service: Arc<Service>, test_clock: Option<TestClock>) -> Self {
        AppState { service, test_clock, metrics: Arc::new(Metrics::default()) }
    }
}

/// Largest request body accepted (JSON calls; file uploads get their own limit).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    // File uploads stream to disk under their own limit (`upload.rs`); everything else
    // is held to BODY_LIMIT.
    let uploads = routes::uploads().split_for_parts().0.merge(portal::upload_routes(&state)).layer(axum::extract::DefaultBodyLimit::disable());
    routes::routes(&state)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(uploads)
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::idempotency))
        .layer(middleware::from_fn(error::plain_rejections_as_problems))
        .route_layer(middleware::from_fn_with_state(state.clone(), observe::record_metrics))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(observe::trace_layer())
        .layer(observe::request_id_layers())
        .with_state(state)
}

/// Serves until Ctrl-C (or the future `shutdown` completes).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
