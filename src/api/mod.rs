//! The REST API under `/v2`: app-key authentication, JSON bodies with field-precise errors, and
//! the error shape `{"error": {"code", "message", "field"?}}`.

pub mod bookings;
pub mod deliveries;
pub mod openapi;
pub mod webhooks;

use crate::engine::EngineError;
use crate::state::AppState;
use crate::store::{self, AppRow};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put, MethodRouter};
use axum::{Json, Router};
use base64::Engine as _;
use serde::de::DeserializeOwned;

/// Bodies above this are refused with 413 before they are read in full.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a 503 tells the client to wait before trying again: about as long as a database
/// restart takes.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Every route of the API: the router is built from this table, and the access tests walk it,
/// so a route cannot be added without being checked for who may call it.
fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        (
            "/resources",
            get(bookings::list_resources).post(bookings::create_resource),
        ),
        (
            "/bookings",
            get(bookings::list_bookings).post(bookings::create_booking),
        ),
        (
            "/bookings/{id}",
            get(bookings::get_booking)
                .put(bookings::update_booking)
                .delete(bookings::delete_booking),
        ),
        ("/bookings/{id}/{action}", put(bookings::apply_action)),
        (
            "/webhooks",
            get(webhooks::list_webhooks).post(webhooks::create_webhook),
        ),
        (
            "/webhooks/{id}",
            get(webhooks::get_webhook)
                .put(webhooks::update_webhook)
                .delete(webhooks::delete_webhook),
        ),
        ("/webhooks/{id}/secret", get(webhooks::get_secret)),
        ("/deliveries", get(deliveries::list_deliveries)),
        ("/deliveries/{msg_id}", get(deliveries::get_delivery)),
        ("/openapi.json", get(openapi::openapi_json)),
        (
            "/webhooks/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        ),
    ]
}

/// The paths of every API route (under `/v2`), as axum matches them.
pub fn paths() -> Vec<&'static str> {
    routes().into_iter().map(|(p, _)| p).collect()
}

pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |r, (path, m)| r.route(path, m))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such API endpoint.")
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// A single item, as every `/v2` answer but lists wraps it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Data<T> {
    pub data: T,
}

/// One page of a list.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Items that match, on every page.
    pub total: i64,
    pub per_page: i64,
    pub current_page: i64,
    pub last_page: i64,
}

/// Every refusal: `{"error": {"code", "message", "field"}}`; nothing was changed.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `invalid_field`, `not_found`, `unauthorized`, …
    pub code: String,
    /// For people: what is wrong and what to send instead.
    pub message: String,
    /// The field (or query parameter) at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).field(field)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// 503 `storage_unavailable`, with `Retry-After`: the database cannot be written now (full,
    /// read-only, down or refusing connections). Not logged here: the store logs each episode
    /// once, with its cause.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            format!(
                "The database cannot be written right now (it is full, read-only or unreachable). \
                 Try again in {RETRY_AFTER_SECS} seconds."
            ),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"bookhook\""),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(RETRY_AFTER_SECS),
            );
        }
        res
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid { field, message } => Self::invalid(&field, message),
            EngineError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} was not found."),
            ),
            EngineError::Transition(t) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "action_not_allowed",
                t.to_string(),
            )
            .field("action"),
            EngineError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            EngineError::Unavailable => Self::unavailable(),
            EngineError::Db(e) => e.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if store::is_unavailable(&e) {
            Self::unavailable()
        } else {
            internal(e)
        }
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "API request failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Something went wrong on the server; it has been logged.",
    )
}

/// The app whose API key authenticated the request (HTTP Basic, empty user, key as password).
pub struct AppKey {
    pub app: AppRow,
    pub key_id: i64,
    pub key_label: String,
}

impl FromRequestParts<AppState> for AppKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| {
                unauthorized("Send the app's API key with HTTP Basic auth: an empty user name and the key as the password.")
            })?;
        let encoded = header
            .strip_prefix("Basic ")
            .ok_or_else(|| unauthorized("Use HTTP Basic auth with the API key as the password."))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unauthorized("The Authorization header is not valid Basic auth."))?;
        let key = decoded.split_once(':').map(|(_, p)| p).unwrap_or(&decoded);
        let found = store::app_by_api_key(&st.db, &crate::auth::hash_api_key(key)).await?;
        let (app, key_id, key_label) =
            found.ok_or_else(|| unauthorized("The API key is not valid or has been revoked."))?;
        Ok(Self {
            app,
            key_id,
            key_label,
        })
    }
}

/// A JSON body: 400 when it is not JSON, 422 naming the field when a field has the wrong type.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        format!("The request body is over {MAX_BODY_BYTES} bytes."),
                    )
                } else {
                    ApiError::bad_request(format!("The request body could not be read: {e}"))
                }
            })?;
        parse_json(&bytes).map(JsonBody)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "The body is not UTF-8.",
        )
    })?;
    // Syntax first: a body that is not JSON at all is a 400.
    let value: serde_json::Value =
        serde_json::from_str(if text.trim().is_empty() { "{}" } else { text }).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("The body is not valid JSON: {e}"),
            )
        })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "The body must be a JSON object.",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." { String::new() } else { path };
        let msg = if field.is_empty() {
            format!("The body does not have the expected shape: {inner}")
        } else {
            format!("{field}: {inner}")
        };
        let err = ApiError::invalid(&field, msg);
        if field.is_empty() {
            ApiError { field: None, ..err }
        } else {
            err
        }
    })
}
