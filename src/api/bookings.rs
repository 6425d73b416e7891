//! `/v2/resources` and `/v2/bookings`: create, list, read, apply actions, update meta, delete.

use super::{ApiError, AppKey, JsonBody};
use crate::domain::booking::{Includes, Search};
use crate::domain::graph::{Action, Graph, State};
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

#[derive(Deserialize, Default)]
pub struct ResourceIn {
    pub name: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct MetaIn {
    pub meta: Option<Map<String, Value>>,
}

fn data(v: impl serde::Serialize) -> Json<Value> {
    Json(json!({ "data": v }))
}

// ---------------------------------------------------------------------------------------------
// Handlers

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

pub async fn list_resources(
    AxState(st): AxState<AppState>,
    key: AppKey,
) -> Result<Json<Value>, ApiError> {
    Ok(data(sb::list_resources(&st.db, key.app.id).await?))
}

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

pub async fn list_bookings(
    AxState(st): AxState<AppState>,
    key: AppKey,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let search = Search::parse(q.get("search").map(String::as_str).unwrap_or(""))
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", m).field("search"))?;
    if let Some(g) = &search.graph {
        Graph::parse(g).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string()).field("search")
        })?;
    }
    if let Some(s) = &search.state {
        State::parse(s).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string()).field("search")
        })?;
    }
    let includes = includes_param(&q)?;
    let page = page_param(&q, "page", 1, 1_000_000)?;
    let per_page = page_param(&q, "per_page", 50, 500)?;
    let (rows, total) = sb::list_bookings(
        &st.db,
        key.app.id,
        search.graph.as_deref(),
        search.state.as_deref(),
        page,
        per_page,
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

pub async fn delete_booking(
    AxState(st): AxState<AppState>,
    key: AppKey,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.engine.delete_booking(key.app.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
