//! The operator's endpoints: liveness, readiness and the Prometheus metrics.

use crate::state::AppState;
use crate::store;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(st): State<AppState>) -> Response {
    match store::ping(&st.db).await {
        Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({"status": "unavailable", "reason": "database unreachable"}),
                ),
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: this process's counters and the database's gauges of the deliveries.
pub async fn metrics(State(st): State<AppState>) -> Response {
    let now = store::now_ms();
    match store::deliveries::gauges(&st.db, now).await {
        Ok((by_status, due, oldest)) => {
            let age = oldest
                .map(|t| (now - t).max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            (
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                st.metrics.render(&by_status, due, age),
            )
                .into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading metrics failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
