//! Prometheus metrics: request counts and latency by route and status.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

use crate::AppState;

/// The metrics of one server.
pub(crate) struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    /// Creates and registers the collectors.
    pub(crate) fn new() -> Arc<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by method, route and status"),
            &["method", "route", "status"],
        )
        .expect("static metric definition");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by method, route and status")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["method", "route", "status"],
        )
        .expect("static metric definition");
        registry.register(Box::new(requests.clone())).expect("unique metric");
        registry.register(Box::new(latency.clone())).expect("unique metric");
        Arc::new(Metrics { registry, requests, latency })
    }
}

/// Middleware recording every request.
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().as_str().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    state.metrics.requests.with_label_values(&[&method, &route, &status]).inc();
    state.metrics.latency.with_label_values(&[&method, &route, &status]).observe(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the Prometheus text format.
pub(crate) async fn render(State(state): State<AppState>) -> Response {
    let mut buffer = Vec::new();
    let encoder = TextEncoder::new();
    let mut families = state.metrics.registry.gather();
    families.extend(state.plugins.metrics().registry().gather());
    families.extend(state.registries.iter().flat_map(|r| r.gather()));
    if let Err(err) = encoder.encode(&families, &mut buffer) {
        tracing::error!(error = %err, "could not encode metrics");
    }
    ([(header::CONTENT_TYPE, encoder.format_type().to_string())], buffer).into_response()
}
