//! Checking a new booking as it arrives (from the API's JSON or the panel's form): its shape
//! and bounds, each rule naming the field it is about. What the data allows (the resource, the
//! seats left) is checked when it is created.

use super::bookings::{NewBooking, NewCustomer};
use super::error::EngineError;
use crate::domain::booking::parse_time;
use crate::domain::graph::{Action, Graph};
use serde::Deserialize;
use serde_json::{Map, Value};

pub const MAX_TEXT: usize = 10_000;
pub const MAX_SHORT: usize = 500;

#[derive(Deserialize, Default, utoipa::ToSchema)]
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
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Map<String, Value>>,
    pub settings: Option<SettingsIn>,
    pub related: Option<RelatedIn>,
    pub auto_complete_one_hour_after_booking_ends: Option<AutoCompleteIn>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct CustomerIn {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub voip: Option<String>,
    pub timezone: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Map<String, Value>>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct SettingsIn {
    pub max_seats: Option<i64>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct RelatedIn {
    pub owner_booking_id: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AutoCompleteIn {
    pub enabled: bool,
}

pub fn required<'a>(v: &'a Option<String>, field: &str) -> Result<&'a str, EngineError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(EngineError::invalid(field, format!("{field} is required."))),
    }
}

pub fn bounded(v: Option<&str>, field: &str, max: usize) -> Result<String, EngineError> {
    let s = v.unwrap_or("").trim();
    if s.chars().count() > max {
        return Err(EngineError::invalid(
            field,
            format!("{field} is longer than {max} characters."),
        ));
    }
    Ok(s.to_string())
}

/// A resource's time zone: an IANA name such as `Europe/Copenhagen`; empty means UTC.
pub fn time_zone(v: Option<&str>, field: &str) -> Result<String, EngineError> {
    let s = bounded(v, field, 100)?;
    if s.is_empty() {
        return Ok("UTC".into());
    }
    match s.parse::<chrono_tz::Tz>() {
        Ok(tz) => Ok(tz.name().to_string()),
        Err(_) => Err(EngineError::invalid(
            field,
            format!(
                "{field} must be an IANA time zone such as Europe/Copenhagen or America/New_York."
            ),
        )),
    }
}

fn time(v: &Option<String>, field: &str) -> Result<i64, EngineError> {
    let s = required(v, field)?;
    parse_time(s).ok_or_else(|| {
        EngineError::invalid(
            field,
            format!("{field} must be an RFC 3339 time such as 2026-12-01T10:00:00+01:00."),
        )
    })
}

/// Turns a create request into a `NewBooking`, or names the first wrong field.
pub fn check_booking(b: BookingIn) -> Result<NewBooking, EngineError> {
    // A seat is a place in its class: it takes the class's resource, times, what and where, so
    // it may leave them out (given, they must be the class's: see `bookings::seat_place`).
    let seat = matches!(
        b.graph.as_deref().map(str::trim),
        Some("group_customer" | "group_customer_payment")
    );
    let left_out = |v: &Option<String>| seat && v.as_deref().is_none_or(|s| s.trim().is_empty());
    let resource_id = match left_out(&b.resource_id) {
        true => None,
        false => Some(required(&b.resource_id, "resource_id")?.to_string()),
    };
    let graph = Graph::parse(required(&b.graph, "graph")?)
        .map_err(|e| EngineError::invalid("graph", e.to_string()))?;
    let action = match b.action.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(a) => Action::parse(a).map_err(|e| EngineError::invalid("action", e.to_string()))?,
        None => graph.initial_action(),
    };
    let start_at = match left_out(&b.start) {
        true => None,
        false => Some(time(&b.start, "start")?),
    };
    let end_at = match left_out(&b.end) {
        true => None,
        false => Some(time(&b.end, "end")?),
    };
    if let (Some(start), Some(end)) = (start_at, end_at) {
        if end <= start {
            return Err(EngineError::invalid("end", "end must be after start."));
        }
    }
    let what = match left_out(&b.what) {
        true => None,
        false => Some(bounded(
            Some(required(&b.what, "what")?),
            "what",
            MAX_SHORT,
        )?),
    };
    let where_ = match seat && b.where_.is_none() {
        true => None,
        false => Some(bounded(b.where_.as_deref(), "where", MAX_SHORT)?),
    };
    let description = match seat && b.description.is_none() {
        true => None,
        false => Some(bounded(b.description.as_deref(), "description", MAX_TEXT)?),
    };
    let customer = match b.customer {
        Some(c) => {
            let name = bounded(
                Some(required(&c.name, "customer.name")?),
                "customer.name",
                MAX_SHORT,
            )?;
            let email = required(&c.email, "customer.email")?;
            if !email.contains('@') || email.chars().count() > 254 {
                return Err(EngineError::invalid(
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
            return Err(EngineError::invalid(
                "customer",
                "customer is required: {\"name\", \"email\"} of the person booking.",
            ))
        }
    };
    let max_seats = b.settings.and_then(|s| s.max_seats);
    let max_seats = match (graph, max_seats) {
        (Graph::GroupOwner, Some(n)) if (1..=100_000).contains(&n) => Some(n),
        (Graph::GroupOwner, Some(_)) => {
            return Err(EngineError::invalid(
                "settings.max_seats",
                "settings.max_seats must be between 1 and 100000.",
            ))
        }
        (Graph::GroupOwner, None) => {
            return Err(EngineError::invalid(
                "settings.max_seats",
                "A group_owner booking needs settings.max_seats.",
            ))
        }
        (_, Some(_)) => {
            return Err(EngineError::invalid(
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
        return Err(EngineError::invalid(
            "related.owner_booking_id",
            "Only seat bookings (group_customer, group_customer_payment) have an owner booking.",
        ));
    }
    let meta = b.meta.unwrap_or_default();
    if Value::Object(meta.clone()).to_string().len() > 64 * 1024 {
        return Err(EngineError::invalid("meta", "meta is larger than 64 KB."));
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
