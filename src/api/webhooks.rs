//! `/v2/webhooks`: webhooks managed as code, with the app key and the Bookings API's errors.

use super::{ApiError, AppKey, Data, ErrorBody, JsonBody};
use crate::domain::payload::PayloadFormat;
use crate::domain::subscription::EventRef;
use crate::domain::subscription::{SecretOut, WebhookOut};
use crate::engine::webhooks::{self as ew, WebhookInput};
use crate::state::AppState;
use crate::store::now_ms;
use crate::store::webhooks as sw;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

/// `{"name", "url", "enabled", "description", "events": [{"graph", "state"}], "payload_format"}`,
/// or Timekit's own `{"url", "graph", "state", "method": "post"}`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct WebhookIn {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub enabled: Option<bool>,
    pub events: Option<Vec<EventRef>>,
    pub graph: Option<String>,
    pub state: Option<String>,
    pub method: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub rate_limit_per_second: Option<Option<i64>>,
    pub ordered: Option<bool>,
    #[schema(value_type = Option<PayloadFormat>)]
    pub payload_format: Option<String>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

impl WebhookIn {
    /// Timekit's own form (`graph` and `state`, no `events`): what a Timekit integration sends,
    /// so a webhook created with it is sent Timekit's payload unless it asks otherwise.
    fn is_timekit_form(&self) -> bool {
        self.events.is_none() && self.graph.is_some()
    }

    pub(crate) fn into_input(self) -> Result<WebhookInput, ApiError> {
        let payload_format = self
            .payload_format
            .as_deref()
            .map(PayloadFormat::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("payload_format", e.to_string()))?;
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case("post") {
                return Err(ApiError::invalid(
                    "method",
                    "method must be \"post\": deliveries are POST requests.",
                ));
            }
        }
        let events = match (self.events, self.graph, self.state) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ApiError::invalid(
                    "events",
                    "Send either events or graph and state, not both.",
                ))
            }
            (Some(e), None, None) => Some(e),
            (None, Some(graph), Some(state)) => Some(vec![EventRef { graph, state }]),
            (None, Some(_), None) => {
                return Err(ApiError::invalid("state", "state is required with graph."))
            }
            (None, None, Some(_)) => {
                return Err(ApiError::invalid("graph", "graph is required with state."))
            }
            (None, None, None) => None,
        };
        Ok(WebhookInput {
            name: self.name,
            description: self.description,
            url: self.url,
            enabled: self.enabled,
            events,
            rate_limit_per_second: self.rate_limit_per_second,
            ordered: self.ordered,
            payload_format,
        })
    }
}

fn data(v: impl serde::Serialize) -> Json<Value> {
    Json(json!({ "data": v }))
}

/// The app's webhooks, without their secrets.
#[utoipa::path(get, path = "/v2/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "Every webhook of the app", body = Data<Vec<WebhookOut>>),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn list_webhooks(
    State(st): State<AppState>,
    key: AppKey,
) -> Result<Json<Value>, ApiError> {
    let hooks = sw::list(&st.db, key.app.id).await?;
    Ok(data(
        hooks
            .into_iter()
            .map(|(h, last)| h.out(last))
            .collect::<Vec<_>>(),
    ))
}

/// Creates a webhook, from bookhook's fields or Timekit's own form.
#[utoipa::path(post, path = "/v2/webhooks", tag = "webhooks", request_body = WebhookIn,
    responses(
        (status = 201, description = "Created", body = Data<WebhookOut>),
        (status = 422, description = "A field is missing or wrong", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn create_webhook(
    State(st): State<AppState>,
    key: AppKey,
    JsonBody(body): JsonBody<WebhookIn>,
) -> Result<Response, ApiError> {
    let timekit_form = body.is_timekit_form();
    let mut input = body.into_input()?;
    if timekit_form && input.payload_format.is_none() {
        input.payload_format = Some(PayloadFormat::Timekit);
    }
    if input.url.is_none() {
        return Err(ApiError::invalid(
            "url",
            "url is required: where to POST the bookings.",
        ));
    }
    let h = st.engine.create_webhook(key.app.id, input).await?;
    Ok((StatusCode::CREATED, data(h.out(None))).into_response())
}

/// One webhook, with its last delivery.
#[utoipa::path(get, path = "/v2/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook", body = Data<WebhookOut>),
        (status = 404, description = "No such webhook in this app", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn get_webhook(
    State(st): State<AppState>,
    key: AppKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let h = ew::get(&st.db, key.app.id, &id).await?;
    let mut conn = st.db.acquire().await?;
    let last = sw::last_delivery(&mut conn, &h.id).await?;
    Ok(data(h.out(last)))
}

/// Changes the fields sent; the others keep their values.
#[utoipa::path(put, path = "/v2/webhooks/{id}", tag = "webhooks", request_body = WebhookIn, params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook as saved", body = Data<WebhookOut>),
        (status = 404, description = "No such webhook in this app", body = ErrorBody),
        (status = 422, description = "A field is wrong", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn update_webhook(
    State(st): State<AppState>,
    key: AppKey,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WebhookIn>,
) -> Result<Json<Value>, ApiError> {
    let input = body.into_input()?;
    let h = st.engine.update_webhook(key.app.id, &id, input).await?;
    Ok(data(h.out(None)))
}

/// Deletes a webhook and its delivery log.
#[utoipa::path(delete, path = "/v2/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such webhook in this app", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn delete_webhook(
    State(st): State<AppState>,
    key: AppKey,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.engine.delete_webhook(key.app.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signing secret, and the previous one while a rotation's overlap lasts.
#[utoipa::path(get, path = "/v2/webhooks/{id}/secret", tag = "webhooks", params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The secrets that sign deliveries now", body = Data<SecretOut>),
        (status = 404, description = "No such webhook in this app", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn get_secret(
    State(st): State<AppState>,
    key: AppKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let h = ew::get(&st.db, key.app.id, &id).await?;
    Ok(data(ew::secret_out(&h, now_ms())))
}

/// A new secret; the old one keeps signing beside it for 24 hours.
#[utoipa::path(post, path = "/v2/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The new secret and the previous one", body = Data<SecretOut>),
        (status = 404, description = "No such webhook in this app", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn rotate_secret(
    State(st): State<AppState>,
    key: AppKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(data(st.engine.rotate_secret(key.app.id, &id).await?))
}
