//! What stands in front of the panel: sign-in before its pages, and no cross-site writes.

use crate::panel;
use crate::state::AppState;
use crate::store;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use tower_sessions::Session;

/// Panel pages need a signed-in user: anonymous visitors go to the sign-in form (or to
/// first-run setup while no account exists), signed-in ones skip those forms.
pub async fn pages(
    State(st): State<AppState>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_page = req.method() == Method::GET
        && (path == "/" || path == "/login" || path == "/setup" || path.starts_with("/apps/"));
    if !is_page {
        return next.run(req).await;
    }
    if panel::is_signed_in(&st, &session).await {
        if path.starts_with("/apps/") {
            return next.run(req).await;
        }
        return match panel::landing_path(&st).await {
            Ok(p) => Redirect::to(&p).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
    }
    let target = match store::count_users(&st.db).await {
        Ok(0) => "/setup",
        Ok(_) => "/login",
        Err(e) => {
            tracing::error!(error = %e, "counting users failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if path == target {
        next.run(req).await
    } else {
        Redirect::to(target).into_response()
    }
}

/// Refuses a browser's cross-site write: a state-changing request whose `Origin` names
/// another host than the one it was sent to.
pub async fn same_origin_writes(req: Request, next: Next) -> Response {
    if matches!(
        req.method(),
        &Method::GET | &Method::HEAD | &Method::OPTIONS
    ) {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|h| h.to_str().ok());
    if let (Some(origin), Some(host)) = (origin, host) {
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin_host != host {
            return (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({"error": {
                    "code": "cross_origin",
                    "message": "Cross-origin requests may not change anything here."
                }})),
            )
                .into_response();
        }
    }
    next.run(req).await
}
