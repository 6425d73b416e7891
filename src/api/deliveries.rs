//! `/v2/deliveries`: the delivery log read through the API, a message and its attempts.

use super::{ApiError, AppKey, Data, ErrorBody};
use crate::domain::log::{AttemptOut, LogFilter, MessageOut, STATUSES};
use crate::state::AppState;
use crate::store::log as sl;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The filters of a list; all optional.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only the messages about this booking.
    pub booking_id: Option<String>,
    /// A customer's whole email (case ignored), a booking id or a message id (`msg_…`): the
    /// messages about that customer's bookings, that booking, or that one message.
    pub q: Option<String>,
    /// Only the messages to this webhook.
    pub webhook_id: Option<String>,
    /// pending, delivering, retrying, delivered, failed or held.
    pub status: Option<String>,
    /// The `next_before` of the previous page.
    pub before: Option<i64>,
    /// 1 to 250, 50 by default.
    pub limit: Option<i64>,
}

/// One page of messages, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    pub data: Vec<MessageOut>,
    /// Pass as `before` for the next (older) page; absent on the last.
    pub next_before: Option<i64>,
}

/// A message with the payload it sends and every attempt so far.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    pub message: MessageOut,
    /// The body sent, as JSON (in the webhook's payload format).
    #[schema(value_type = Object)]
    pub payload: Value,
    pub attempts: Vec<AttemptOut>,
}

/// The app's messages (one per webhook and booking transition), newest first. Times are Unix
/// milliseconds, as in the panel's log.
#[utoipa::path(get, path = "/v2/deliveries", tag = "deliveries", params(DeliveriesQuery),
    responses(
        (status = 200, description = "One page of messages", body = DeliveryPage),
        (status = 400, description = "A query parameter is wrong", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn list_deliveries(
    State(st): State<AppState>,
    key: AppKey,
    Query(q): Query<DeliveriesQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let bad = |field: &str, message: &str| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message).field(field)
    };
    let status = q.status.unwrap_or_default();
    if !status.is_empty() && !STATUSES.contains(&status.as_str()) {
        return Err(bad(
            "status",
            "status must be one of pending, delivering, retrying, delivered, failed, held.",
        ));
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=250).contains(&limit) {
        return Err(bad("limit", "limit must be a whole number from 1 to 250."));
    }
    let filter = LogFilter {
        webhook: q.webhook_id.unwrap_or_default(),
        booking: q.booking_id.unwrap_or_default(),
        status,
        text: q.q.unwrap_or_default(),
        ..LogFilter::default()
    };
    filter.lookup().map_err(|m| bad("q", &m))?;
    let mut data = sl::messages(&st.db, key.app.id, &filter, q.before, limit + 1).await?;
    let next_before = if data.len() as i64 > limit {
        data.truncate(limit as usize);
        data.last().map(|m| m.id)
    } else {
        None
    };
    Ok(Json(DeliveryPage { data, next_before }))
}

/// One message by its `msg_…` id (the `webhook-id` header of its deliveries).
#[utoipa::path(get, path = "/v2/deliveries/{msg_id}", tag = "deliveries",
    params(("msg_id" = String, Path, description = "The message id, msg_…")),
    responses(
        (status = 200, description = "The message, its payload and its attempts", body = Data<DeliveryDetail>),
        (status = 404, description = "No such message in this app", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn get_delivery(
    State(st): State<AppState>,
    key: AppKey,
    Path(msg_id): Path<String>,
) -> Result<Json<Data<DeliveryDetail>>, ApiError> {
    let (message, payload, attempts) = sl::message_detail(&st.db, key.app.id, &msg_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "The message was not found.",
            )
        })?;
    let payload = serde_json::from_str(&payload).unwrap_or(Value::String(payload));
    Ok(Json(Data {
        data: DeliveryDetail {
            message,
            payload,
            attempts,
        },
    }))
}
