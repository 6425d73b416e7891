//! `/v2/resources` and `/v2/bookings`: create, list, read, apply actions, update meta, delete.

use super::{ApiError, AppKey, Data, ErrorBody, JsonBody, Page};
use crate::domain::booking::{BookingOut, ResourceOut};
use crate::domain::booking::{Includes, Search};
use crate::domain::graph::Action;
use crate::domain::payload::{render, PayloadFormat};
use crate::engine::check::{bounded, required, time_zone, MAX_SHORT};
pub use crate::engine::check::{
    check_booking, AutoCompleteIn, BookingIn, CustomerIn, RelatedIn, SettingsIn,
};
use crate::engine::{self, Actor};
use crate::state::AppState;
use crate::store::bookings as sb;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------
// Wire types

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct ResourceIn {
    pub name: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct MetaIn {
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Map<String, Value>>,
}

fn data(v: impl serde::Serialize) -> Json<Value> {
    Json(json!({ "data": v }))
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// Creates a resource, with its calendar.
#[utoipa::path(post, path = "/v2/resources", tag = "resources", request_body = ResourceIn,
    responses(
        (status = 201, description = "Created", body = Data<ResourceOut>),
        (status = 422, description = "A field is missing or wrong", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn create_resource(
    AxState(st): AxState<AppState>,
    key: AppKey,
    JsonBody(body): JsonBody<ResourceIn>,
) -> Result<Response, ApiError> {
    let name = bounded(Some(required(&body.name, "name")?), "name", MAX_SHORT)?;
    let email = bounded(body.email.as_deref(), "email", 254)?;
    let timezone = time_zone(body.timezone.as_deref(), "timezone")?;
    let mut tx = sb::begin_write(&st.db).await?;
    let out = sb::insert_resource(
        &mut tx,
        key.app.id,
        &name,
        Some(email.as_str()).filter(|e| !e.is_empty()),
        &timezone,
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, data(out)).into_response())
}

/// The app's resources, oldest first.
#[utoipa::path(get, path = "/v2/resources", tag = "resources",
    responses(
        (status = 200, description = "Every resource of the app", body = Data<Vec<ResourceOut>>),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn list_resources(
    AxState(st): AxState<AppState>,
    key: AppKey,
) -> Result<Json<Value>, ApiError> {
    Ok(data(sb::list_resources(&st.db, key.app.id).await?))
}

/// Creates a booking in its graph's first state (or the one `action` leads to). A seat
/// (group_customer, group_customer_payment) names only its class and customer.
#[utoipa::path(post, path = "/v2/bookings", tag = "bookings", request_body = BookingIn,
    responses(
        (status = 201, description = "Created; its webhooks are written in the same transaction", body = Data<BookingOut>),
        (status = 409, description = "The class has no free seat", body = ErrorBody),
        (status = 422, description = "A field is missing or wrong", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn create_booking(
    AxState(st): AxState<AppState>,
    key: AppKey,
    JsonBody(body): JsonBody<BookingIn>,
) -> Result<Response, ApiError> {
    let nb = check_booking(body)?;
    let actor = Actor::api_key(key.key_id, &key.key_label);
    let out = st.engine.create_booking(&key.app, nb, &actor).await?;
    Ok((StatusCode::CREATED, data(out)).into_response())
}

fn page_param(
    q: &HashMap<String, String>,
    name: &str,
    default: i64,
    max: i64,
) -> Result<i64, ApiError> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("{name} must be a whole number from 1 to {max}."),
            )
            .field(name)),
        },
    }
}

/// The app's bookings, newest first, a page at a time.
#[utoipa::path(get, path = "/v2/bookings", tag = "bookings",
    params(
        ("search" = Option<String>, Query, description = "`key:value` pairs joined by `;`, each optional: \
`graph:<graph>`, `state:<state>`, `id:<booking id>`, `message:<msg_… id>` (the booking a message was sent about), \
`customer:<text>` (with an `@`: the customer's whole email; else part of the name or email; case ignored), \
`resource:<resource id>`, `from:<YYYY-MM-DD>` and `to:<YYYY-MM-DD>` (the UTC days the booking starts within, both included). \
An unknown key or a malformed value is a 400 naming `search`.",
            example = "graph:confirm_decline;state:confirmed;customer:ada@example.com;from:2030-01-01;to:2030-01-31"),
        ("include" = Option<String>, Query, description = "Comma-separated: customers, event, calendar, available_actions, logs"),
        ("page" = Option<i64>, Query, description = "From 1"),
        ("per_page" = Option<i64>, Query, description = "1 to 500, 50 by default"),
    ),
    responses(
        (status = 200, description = "One page", body = Page<BookingOut>),
        (status = 400, description = "A query parameter is wrong", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn list_bookings(
    AxState(st): AxState<AppState>,
    key: AppKey,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let search = Search::parse(q.get("search").map(String::as_str).unwrap_or(""))
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", m).field("search"))?;
    let includes = includes_param(&q)?;
    let page = page_param(&q, "page", 1, 1_000_000)?;
    let per_page = page_param(&q, "per_page", 50, 500)?;
    let total = sb::count_bookings(&st.db, key.app.id, &search).await?;
    let rows = sb::find_bookings(
        &st.db,
        key.app.id,
        &search,
        sb::Window::Page { page, per_page },
    )
    .await?;
    let mut conn = st.db.acquire().await?;
    let mut out = Vec::with_capacity(rows.len());
    for b in &rows {
        out.push(engine::booking_out(&mut conn, b, includes).await?);
    }
    Ok(Json(json!({
        "data": out,
        "total": total,
        "per_page": per_page,
        "current_page": page,
        "last_page": ((total + per_page - 1) / per_page).max(1),
    })))
}

fn includes_param(q: &HashMap<String, String>) -> Result<Includes, ApiError> {
    Includes::parse(q.get("include").map(String::as_str).unwrap_or(""))
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", m).field("include"))
}

/// One booking, in bookhook's format or Timekit's.
#[utoipa::path(get, path = "/v2/bookings/{id}", tag = "bookings",
    params(
        ("id" = String, Path, description = "The booking's id"),
        ("include" = Option<String>, Query, description = "Comma-separated: customers, event, calendar, available_actions, logs"),
        ("payload_format" = Option<PayloadFormat>, Query, description = "`timekit` answers as Timekit did (see TimekitBooking)"),
        ("Bookhook-Payload-Format" = Option<PayloadFormat>, Header, description = "The same as payload_format, for clients that cannot add a parameter"),
    ),
    responses(
        (status = 200, description = "The booking", body = Data<BookingOut>),
        (status = 404, description = "No such booking in this app", body = ErrorBody),
        (status = 422, description = "An unknown payload format", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn get_booking(
    AxState(st): AxState<AppState>,
    key: AppKey,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let includes = includes_param(&q)?;
    let format = format_param(&q, &headers)?;
    let mut conn = st.db.acquire().await?;
    let b = sb::booking(&mut conn, key.app.id, &id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "The booking was not found.",
            )
        })?;
    let out = engine::booking_out(&mut conn, &b, includes).await?;
    if format == PayloadFormat::Bookhook {
        return Ok(data(out).into_response());
    }
    let zone = sb::resource_timezone(&mut conn, &b.resource_id).await?;
    let body = render(format, &out, &zone).map_err(super::internal)?;
    // Written as it is, so that Timekit's keys keep Timekit's order.
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"data\":{body}}}"),
    )
        .into_response())
}

/// The header that asks for a format, for clients that cannot add a query parameter.
pub const FORMAT_HEADER: &str = "bookhook-payload-format";

/// `?payload_format=timekit` or the `Bookhook-Payload-Format: timekit` header (the parameter wins
/// when both are sent); bookhook's own format otherwise.
fn format_param(
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<PayloadFormat, ApiError> {
    let (value, field) = match (q.get("payload_format"), headers.get(FORMAT_HEADER)) {
        (Some(v), _) => (v.as_str(), "payload_format"),
        (None, Some(h)) => (
            h.to_str().map_err(|_| {
                ApiError::invalid(
                    FORMAT_HEADER,
                    "Bookhook-Payload-Format must be \"bookhook\" or \"timekit\".",
                )
            })?,
            FORMAT_HEADER,
        ),
        (None, None) => return Ok(PayloadFormat::Bookhook),
    };
    PayloadFormat::parse(value.trim()).map_err(|e| ApiError::invalid(field, e.to_string()))
}

/// `PUT /v2/bookings/:id/:action` with the body keyed by the action (`{"decline": {"message": …}}`).
#[utoipa::path(put, path = "/v2/bookings/{id}/{action}", tag = "bookings",
    params(
        ("id" = String, Path, description = "The booking's id"),
        ("action" = String, Path, description = "confirm, decline, cancel, cancel_by_customer, reschedule_by_customer, complete, pay, cancel_by_owner"),
    ),
    request_body(content = Object, description = "Optional, keyed by the action: `{\"decline\": {\"message\": \"Fully booked\"}}`, `{\"pay\": {\"payment_id\": \"pi_1\"}}`"),
    responses(
        (status = 200, description = "The booking in its new state", body = Data<BookingOut>),
        (status = 404, description = "No such booking in this app", body = ErrorBody),
        (status = 422, description = "An action the booking's state does not allow (the allowed ones are listed)", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn apply_action(
    AxState(st): AxState<AppState>,
    key: AppKey,
    Path((id, action)): Path<(String, String)>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let action = Action::parse(&action).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_action",
            e.to_string(),
        )
        .field("action")
    })?;
    let details = match body.get(action.as_str()) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(ApiError::invalid(
                action.as_str(),
                format!(
                    "{} must be an object, e.g. {{\"{}\": {{…}}}}.",
                    action.as_str(),
                    action.as_str()
                ),
            ))
        }
    };
    for (k, v) in &details {
        if !v.is_string() && !v.is_null() {
            return Err(ApiError::invalid(
                &format!("{}.{k}", action.as_str()),
                format!("{}.{k} must be a string.", action.as_str()),
            ));
        }
    }
    let actor = Actor::api_key(key.key_id, &key.key_label);
    let out = st
        .engine
        .apply_action(key.app.id, &id, action, details, &actor)
        .await?;
    Ok(data(out))
}

/// `PUT /v2/bookings/:id` replaces the booking's meta.
#[utoipa::path(put, path = "/v2/bookings/{id}", tag = "bookings", request_body = MetaIn,
    params(("id" = String, Path, description = "The booking's id")),
    responses(
        (status = 200, description = "The booking with its new meta", body = Data<BookingOut>),
        (status = 404, description = "No such booking in this app", body = ErrorBody),
        (status = 422, description = "meta is missing or too large", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn update_booking(
    AxState(st): AxState<AppState>,
    key: AppKey,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MetaIn>,
) -> Result<Json<Value>, ApiError> {
    let meta = body
        .meta
        .ok_or_else(|| ApiError::invalid("meta", "meta is required: the object to store."))?;
    if Value::Object(meta.clone()).to_string().len() > 64 * 1024 {
        return Err(ApiError::invalid("meta", "meta is larger than 64 KB."));
    }
    Ok(data(st.engine.update_meta(key.app.id, &id, meta).await?))
}

/// Deletes a booking in a final state.
#[utoipa::path(delete, path = "/v2/bookings/{id}", tag = "bookings",
    params(("id" = String, Path, description = "The booking's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such booking in this app", body = ErrorBody),
        (status = 409, description = "The booking is not in a final state", body = ErrorBody),
        (status = 401, description = "No key, or a revoked one", body = ErrorBody),
    ))]
pub async fn delete_booking(
    AxState(st): AxState<AppState>,
    key: AppKey,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.engine.delete_booking(key.app.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
