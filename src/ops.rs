//! The operator's endpoints: liveness, readiness and the Prometheus metrics.

use crate::state::AppState;
use crate::store;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// `GET /healthz`: the process answers (liveness; it says nothing of the database).
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// `GET /readyz`: the database can be written now. A committed write, not a ping: a full disk
/// or a read-only file system still answers reads. 503 while it cannot (a load balancer sends
/// the traffic elsewhere); the store logs each episode once.
pub async fn readyz(State(st): State<AppState>) -> Response {
    // The probe's success ends an episode only once writes have stopped failing (see
    // `store::outage`): a full disk that takes one small write is not ready.
    let probe = store::probe_write(&st.db, store::now_ms()).await;
    match probe {
        Ok(()) if !st.db.outage().status().unavailable => {
            Json(serde_json::json!({"status": "ready"})).into_response()
        }
        other => {
            match other {
                Err(e) if !store::is_unavailable(&e) => {
                    tracing::warn!(error = %e, "readiness check failed")
                }
                _ => {}
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(
                    header::RETRY_AFTER,
                    crate::api::RETRY_AFTER_SECS.to_string(),
                )],
                Json(serde_json::json!({
                    "status": "unavailable",
                    "reason": "the database cannot be written (full, read-only or unreachable)",
                })),
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: this process's counters, the store's episodes of unavailability and the
/// database's gauges of the deliveries (left out while the database cannot be read, so the
/// rest is still scraped during an outage).
pub async fn metrics(State(st): State<AppState>) -> Response {
    let now = store::now_ms();
    let gauges = match store::deliveries::gauges(&st.db, now).await {
        Ok((by_status, due, oldest)) => {
            let age = oldest
                .map(|t| (now - t).max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            Some(crate::metrics::DeliveryGauges {
                by_status,
                due,
                oldest_pending_age_secs: age,
            })
        }
        Err(e) => {
            if !store::is_unavailable(&e) {
                tracing::warn!(error = %e, "reading metrics failed");
            }
            None
        }
    };
    let o = st.db.outage().status();
    let storage = crate::metrics::Storage {
        unavailable: o.unavailable,
        episodes: o.episodes,
        errors: o.errors,
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(gauges.as_ref(), storage),
    )
        .into_response()
}
