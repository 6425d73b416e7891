//! The shapes a booking is sent and read in: bookhook's own JSON, or Timekit's, field for field.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How a webhook's deliveries (and, when asked, `GET /v2/bookings/:id`) write a booking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum PayloadFormat {
    /// bookhook's JSON: absent values are `null`, times are UTC with `Z`, `meta` is an object.
    #[default]
    Bookhook,
    /// Timekit's payload as its receivers parse it: strings are never `null`, times carry the
    /// offset of the resource's time zone (`2016-01-01T10:00:00+0100`), a customer's `meta` is
    /// a JSON string, and only Timekit's keys are present.
    Timekit,
}

impl PayloadFormat {
    pub const ALL: [PayloadFormat; 2] = [PayloadFormat::Bookhook, PayloadFormat::Timekit];

    pub fn as_str(self) -> &'static str {
        match self {
            PayloadFormat::Bookhook => "bookhook",
            PayloadFormat::Timekit => "timekit",
        }
    }

    /// What the panel's select shows.
    pub fn label(self) -> &'static str {
        match self {
            PayloadFormat::Bookhook => "bookhook (clean JSON: null when absent, UTC times)",
            PayloadFormat::Timekit => {
                "Timekit (as Timekit sends it: \"\" when absent, local offsets)"
            }
        }
    }

    pub fn parse(s: &str) -> Result<PayloadFormat, UnknownFormat> {
        PayloadFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

impl fmt::Display for PayloadFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a payload format; the message names both that are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a payload format: use \"bookhook\" or \"timekit\".")]
pub struct UnknownFormat(pub String);

#[cfg(feature = "ssr")]
pub use timekit::Booking as TimekitBooking;

/// The booking as `format` writes it. `zone` is the resource's IANA time zone, in which the
/// Timekit format gives every time (a zone bookhook does not know is taken as UTC).
#[cfg(feature = "ssr")]
pub fn render(
    format: PayloadFormat,
    booking: &crate::domain::booking::BookingOut,
    zone: &str,
) -> serde_json::Result<String> {
    match format {
        PayloadFormat::Bookhook => serde_json::to_string(booking),
        PayloadFormat::Timekit => serde_json::to_string(&timekit::view(booking, zone)),
    }
}

/// Timekit's payload: its types, its keys, its time format.
#[cfg(feature = "ssr")]
mod timekit {
    use crate::domain::booking::{BookingOut, CalendarOut, CustomerOut, EventOut};
    use chrono::DateTime;
    use chrono_tz::Tz;
    use serde::Serialize;

    /// Timekit's booking, its keys in the order Timekit sends them.
    #[derive(Serialize, utoipa::ToSchema)]
    #[schema(as = TimekitBooking)]
    pub struct Booking<'a> {
        id: &'a str,
        state: &'a str,
        graph: &'a str,
        completed: bool,
        created_at: String,
        updated_at: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        customers: Option<Vec<Customer<'a>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        event: Option<Event<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        calendar: Option<Calendar<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        available_actions: Option<&'a [String]>,
    }

    #[derive(Serialize, utoipa::ToSchema)]
    #[schema(as = TimekitCustomer)]
    pub struct Customer<'a> {
        id: &'a str,
        name: &'a str,
        email: &'a str,
        phone: &'a str,
        voip: &'a str,
        timezone: &'a str,
        /// Timekit sends the object JSON-encoded, as a string (`"{}"`).
        meta: String,
    }

    #[derive(Serialize, utoipa::ToSchema)]
    #[schema(as = TimekitEvent)]
    pub struct Event<'a> {
        id: &'a str,
        what: &'a str,
        #[serde(rename = "where")]
        where_: &'a str,
        description: &'a str,
        rsvp: &'a str,
        #[serde(rename = "allDay")]
        all_day: bool,
        start: String,
        end: String,
        created_at: String,
        updated_at: String,
    }

    #[derive(Serialize, utoipa::ToSchema)]
    #[schema(as = TimekitCalendar)]
    pub struct Calendar<'a> {
        id: &'a str,
        provider_id: &'a str,
        provider_access: &'a str,
        provider_primary: bool,
        provider_sync: &'a str,
        name: &'a str,
        description: &'a str,
        foregroundcolor: &'a str,
        backgroundcolor: &'a str,
        created_at: String,
        updated_at: String,
    }

    pub fn view<'a>(b: &'a BookingOut, zone: &'a str) -> Booking<'a> {
        let tz: Tz = zone.parse().unwrap_or(Tz::UTC);
        let at = |t: &str| local(t, tz);
        Booking {
            id: &b.id,
            state: &b.state,
            graph: &b.graph,
            completed: b.completed,
            created_at: at(&b.created_at),
            updated_at: at(&b.updated_at),
            customers: b.customers.as_ref().map(|cs| {
                cs.iter()
                    .map(|c: &CustomerOut| Customer {
                        id: &c.id,
                        name: &c.name,
                        email: &c.email,
                        phone: c.phone.as_deref().unwrap_or(""),
                        voip: c.voip.as_deref().unwrap_or(""),
                        // A customer who gave no zone is taken to be in the resource's.
                        timezone: c.timezone.as_deref().unwrap_or(zone),
                        meta: serde_json::Value::Object(c.meta.clone()).to_string(),
                    })
                    .collect()
            }),
            event: b.event.as_ref().map(|e: &EventOut| Event {
                id: &e.id,
                what: &e.what,
                where_: &e.where_,
                description: &e.description,
                // A booking's event is the resource's own: it has always accepted it.
                rsvp: e.rsvp.as_deref().unwrap_or("accepted"),
                all_day: e.all_day,
                start: at(&e.start),
                end: at(&e.end),
                created_at: at(&e.created_at),
                updated_at: at(&e.updated_at),
            }),
            calendar: b.calendar.as_ref().map(|c: &CalendarOut| Calendar {
                id: &c.id,
                provider_id: c.provider_id.as_deref().unwrap_or(""),
                provider_access: &c.provider_access,
                provider_primary: c.provider_primary,
                provider_sync: c.provider_sync.as_deref().unwrap_or(""),
                name: &c.name,
                description: &c.description,
                foregroundcolor: &c.foregroundcolor,
                backgroundcolor: &c.backgroundcolor,
                created_at: at(&c.created_at),
                updated_at: at(&c.updated_at),
            }),
            available_actions: b.available_actions.as_deref(),
        }
    }

    /// An RFC 3339 time as Timekit writes it: seconds, and the zone's offset without a colon.
    fn local(rfc3339: &str, tz: Tz) -> String {
        match DateTime::parse_from_rfc3339(rfc3339) {
            Ok(t) => t
                .with_timezone(&tz)
                .format("%Y-%m-%dT%H:%M:%S%z")
                .to_string(),
            Err(_) => rfc3339.to_string(),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::local;

        #[test]
        fn times_take_the_zones_offset_of_that_day() {
            let cph: chrono_tz::Tz = "Europe/Copenhagen".parse().unwrap();
            assert_eq!(
                local("2016-01-01T09:00:00.000Z", cph),
                "2016-01-01T10:00:00+0100"
            );
            assert_eq!(
                local("2016-07-01T09:00:00Z", cph),
                "2016-07-01T11:00:00+0200"
            );
            assert_eq!(
                local("2016-07-01T09:00:00Z", chrono_tz::Tz::UTC),
                "2016-07-01T09:00:00+0000"
            );
        }
    }
}
