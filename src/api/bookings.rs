//! `/v2/resources` and `/v2/bookings`: create, list, read, apply actions, update meta, delete.

use super::{ApiError, AppKey, JsonBody};
use crate::domain::booking::{parse_time, Includes, Search};
use crate::domain::graph::{Action, Graph, State};
use crate::engine::{self, Actor, NewBooking, NewCustomer};
use crate::state::AppState;
use crate::store::bookings as sb;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const MAX_TEXT: usize = 10_000;
const MAX_SHORT: usize = 500;

// ---------------------------------------------------------------------------------------------
// Wire types

#[derive(Deserialize, Default)]
pub struct ResourceIn {
    pub name: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct BookingIn {
    pub resource_id: Option<String>,
    pub graph: Option<String>,
    pub action: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub what: Option<String>,
    #[serde(rename = "where")]
    pub where_: Option<String>,
    pub description: Option<String>,
    pub customer: Option<CustomerIn>,
    pub meta: Option<Map<String, Value>>,
    pub settings: Option<SettingsIn>,
    pub related: Option<RelatedIn>,
    pub auto_complete_one_hour_after_booking_ends: Option<AutoCompleteIn>,
}

#[derive(Deserialize, Default)]
pub struct CustomerIn {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub voip: Option<String>,
    pub timezone: Option<String>,
    pub meta: Option<Map<String, Value>>,
}

#[derive(Deserialize, Default)]
pub struct SettingsIn {
    pub max_seats: Option<i64>,
}

#[derive(Deserialize, Default)]
pub struct RelatedIn {
    pub owner_booking_id: Option<String>,
}

#[derive(Deserialize)]
pub struct AutoCompleteIn {
    pub enabled: bool,
}

#[derive(Deserialize, Default)]
pub struct MetaIn {
    pub meta: Option<Map<String, Value>>,
}

fn data(v: impl serde::Serialize) -> Json<Value> {
    Json(json!({ "data": v }))
}

// ---------------------------------------------------------------------------------------------
// Checking input: each rule names the field it is about.

fn required<'a>(v: &'a Option<String>, field: &str) -> Result<&'a str, ApiError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::invalid(field, format!("{field} is required."))),
    }
}

fn bounded(v: Option<&str>, field: &str, max: usize) -> Result<String, ApiError> {
    let s = v.unwrap_or("").trim();
    if s.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("{field} is longer than {max} characters."),
        ));
    }
    Ok(s.to_string())
}

fn time(v: &Option<String>, field: &str) -> Result<i64, ApiError> {
    let s = required(v, field)?;
    parse_time(s).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("{field} must be an RFC 3339 time such as 2026-12-01T10:00:00+01:00."),
        )
    })
}

/// Turns a create request into a `NewBooking`, or names the first wrong field.
pub fn check_booking(b: BookingIn) -> Result<NewBooking, ApiError> {
    let resource_id = required(&b.resource_id, "resource_id")?.to_string();
    let graph = Graph::parse(required(&b.graph, "graph")?)
        .map_err(|e| ApiError::invalid("graph", e.to_string()))?;
    let action = match b.action.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(a) => Action::parse(a).map_err(|e| ApiError::invalid("action", e.to_string()))?,
        None => graph.initial_action(),
    };
    let start_at = time(&b.start, "start")?;
    let end_at = time(&b.end, "end")?;
    if end_at <= start_at {
        return Err(ApiError::invalid("end", "end must be after start."));
    }
    let what = required(&b.what, "what")?;
    let what = bounded(Some(what), "what", MAX_SHORT)?;
    let where_ = bounded(b.where_.as_deref(), "where", MAX_SHORT)?;
    let description = bounded(b.description.as_deref(), "description", MAX_TEXT)?;
    let customer = match b.customer {
        Some(c) => {
            let name = bounded(
                Some(required(&c.name, "customer.name")?),
                "customer.name",
                MAX_SHORT,
            )?;
            let email = required(&c.email, "customer.email")?;
            if !email.contains('@') || email.chars().count() > 254 {
                return Err(ApiError::invalid(
                    "customer.email",
                    "customer.email must be an email address.",
                ));
            }
            Some(NewCustomer {
                name,
                email: email.to_string(),
                phone: Some(bounded(c.phone.as_deref(), "customer.phone", 100)?)
                    .filter(|s| !s.is_empty()),
                voip: Some(bounded(c.voip.as_deref(), "customer.voip", 200)?)
                    .filter(|s| !s.is_empty()),
                timezone: Some(bounded(c.timezone.as_deref(), "customer.timezone", 100)?)
                    .filter(|s| !s.is_empty()),
                meta: c.meta.unwrap_or_default(),
            })
        }
        None if graph == Graph::GroupOwner => None,
        None => {
            return Err(ApiError::invalid(
                "customer",
                "customer is required: {\"name\", \"email\"} of the person booking.",
            ))
        }
    };
    let max_seats = b.settings.and_then(|s| s.max_seats);
    let max_seats = match (graph, max_seats) {
        (Graph::GroupOwner, Some(n)) if (1..=100_000).contains(&n) => Some(n),
        (Graph::GroupOwner, Some(_)) => {
            return Err(ApiError::invalid(
                "settings.max_seats",
                "settings.max_seats must be between 1 and 100000.",
            ))
        }
        (Graph::GroupOwner, None) => {
            return Err(ApiError::invalid(
                "settings.max_seats",
                "A group_owner booking needs settings.max_seats.",
            ))
        }
        (_, Some(_)) => {
            return Err(ApiError::invalid(
                "settings.max_seats",
                "Only group_owner bookings have seats.",
            ))
        }
        (_, None) => None,
    };
    let owner_booking_id = b
        .related
        .and_then(|r| r.owner_booking_id)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if owner_booking_id.is_some()
        && !matches!(graph, Graph::GroupCustomer | Graph::GroupCustomerPayment)
    {
        return Err(ApiError::invalid(
            "related.owner_booking_id",
            "Only seat bookings (group_customer, group_customer_payment) have an owner booking.",
        ));
    }
    let meta = b.meta.unwrap_or_default();
    if Value::Object(meta.clone()).to_string().len() > 64 * 1024 {
        return Err(ApiError::invalid("meta", "meta is larger than 64 KB."));
    }
    Ok(NewBooking {
        resource_id,
        graph,
        action,
        start_at,
        end_at,
        what,
        where_,
        description,
        customer,
        meta,
        max_seats,
        owner_booking_id,
        auto_complete: b
            .auto_complete_one_hour_after_booking_ends
            .map(|a| a.enabled)
            .unwrap_or(true),
    })
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
    let timezone = bounded(body.timezone.as_deref(), "timezone", 100)?;
    let timezone = if timezone.is_empty() {
        "UTC".to_string()
    } else {
        timezone
    };
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
    let out = st.bookings.create_booking(&key.app, nb, &actor).await?;
    st.committed(key.app.id);
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
) -> Result<Json<Value>, ApiError> {
    let includes = includes_param(&q)?;
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
    Ok(data(engine::booking_out(&mut conn, &b, includes).await?))
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
    let out = engine::apply_action(&st.db, key.app.id, &id, action, details, &actor).await?;
    st.committed(key.app.id);
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
    Ok(data(
        engine::update_meta(&st.db, key.app.id, &id, meta).await?,
    ))
}

pub async fn delete_booking(
    AxState(st): AxState<AppState>,
    key: AppKey,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    engine::delete_booking(&st.db, key.app.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
