//! The booking as the API returns it (Timekit's v2 shape), and the input rules of a new booking.

use crate::domain::graph::{Action, Graph, State};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One hour: a booking is auto-completed this long after it ends.
pub const AUTO_COMPLETE_AFTER_MS: i64 = 60 * 60 * 1000;

/// The action the engine will apply by itself to a booking that has just entered `state`, and
/// when: `timeout` at the end of the payment window, else `complete` an hour after the end
/// (unless the booking was created with auto-complete off), else nothing.
pub fn next_due(
    graph: Graph,
    state: State,
    auto_complete: bool,
    end_at: i64,
    now: i64,
    payment_window_ms: i64,
) -> Option<(Action, i64)> {
    if graph.available_actions(state).contains(&Action::Timeout) {
        Some((Action::Timeout, now + payment_window_ms))
    } else if auto_complete && graph.auto_completes(state) {
        Some((Action::Complete, end_at + AUTO_COMPLETE_AFTER_MS))
    } else {
        None
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BookingOut {
    pub id: String,
    pub state: String,
    pub graph: String,
    pub completed: bool,
    pub resource_id: String,
    pub start: String,
    pub end: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub meta: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<BookingSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<Related>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers: Option<Vec<CustomerOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<EventOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<CalendarOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_actions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<Vec<LogOut>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BookingSettings {
    pub max_seats: i64,
    pub seats_taken: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Related {
    pub owner_booking_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CustomerOut {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub voip: Option<String>,
    pub timezone: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub meta: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventOut {
    pub id: String,
    pub what: String,
    #[serde(rename = "where")]
    pub where_: String,
    pub description: String,
    pub rsvp: Option<String>,
    #[serde(rename = "allDay")]
    pub all_day: bool,
    pub start: String,
    pub end: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CalendarOut {
    pub id: String,
    pub provider_id: Option<String>,
    pub provider_access: String,
    pub provider_primary: bool,
    pub provider_sync: Option<String>,
    pub name: String,
    pub description: String,
    pub foregroundcolor: String,
    pub backgroundcolor: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Who applies actions to bookings, as the booking log stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// bookhook itself: timeouts, auto-completion, a group's cancellation reaching its seats.
    Engine,
    /// A person signed in to the panel.
    Admin,
    /// A caller of the API, by its key.
    ApiKey,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Engine => "engine",
            ActorKind::Admin => "admin",
            ActorKind::ApiKey => "api_key",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LogOut {
    pub from: Option<String>,
    pub action: String,
    pub to: String,
    pub actor: String,
    pub actor_label: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub details: Map<String, Value>,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ResourceOut {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub timezone: String,
    pub calendar_id: String,
    pub created_at: String,
    pub updated_at: String,
}

/// RFC 3339 in UTC with seconds, as the API writes every time.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Unix milliseconds from an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

/// What `?include=` may name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Includes {
    pub customers: bool,
    pub event: bool,
    pub calendar: bool,
    pub available_actions: bool,
    pub logs: bool,
}

impl Includes {
    pub const ALL: Self = Self {
        customers: true,
        event: true,
        calendar: true,
        available_actions: true,
        logs: true,
    };
    /// What a webhook payload carries: customers, event and calendar.
    pub const PAYLOAD: Self = Self {
        customers: true,
        event: true,
        calendar: true,
        available_actions: false,
        logs: false,
    };

    pub fn parse(s: &str) -> Result<Self, String> {
        let mut inc = Self::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "customers" => inc.customers = true,
                "event" => inc.event = true,
                "calendar" => inc.calendar = true,
                "available_actions" => inc.available_actions = true,
                "logs" => inc.logs = true,
                other => {
                    return Err(format!(
                        "unknown include '{other}'; use customers, event, calendar, available_actions, logs"
                    ))
                }
            }
        }
        Ok(inc)
    }
}

/// `graph:instant;state:cancelled` → the filters it names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub graph: Option<String>,
    pub state: Option<String>,
}

impl Search {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Self::default();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = part.split_once(':') else {
                return Err(format!(
                    "'{part}' is not a key:value pair; write e.g. graph:instant;state:confirmed"
                ));
            };
            let v = v.trim().to_string();
            match k.trim() {
                "graph" => out.graph = Some(v),
                "state" => out.state = Some(v),
                other => return Err(format!("unknown search key '{other}'; use graph and state")),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod search_properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_with_a_message(s in "\\PC{0,80}") {
            if let Err(m) = Search::parse(&s) {
                prop_assert!(!m.is_empty());
            }
        }

        #[test]
        fn key_value_pairs_round_trip_whatever_the_spacing(
            g in "[a-z_]{1,20}", st in "[a-z_]{1,20}", sp in " {0,3}", order in any::<bool>()
        ) {
            let (a, b) = (format!("graph{sp}:{sp}{g}"), format!("state:{sp}{st}{sp}"));
            let q = if order { format!("{a};{b}") } else { format!("{sp}{b} ;{a};") };
            let parsed = Search::parse(&q).unwrap();
            prop_assert_eq!(parsed.graph.as_deref(), Some(g.as_str()));
            prop_assert_eq!(parsed.state.as_deref(), Some(st.as_str()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn unpaid_bookings_time_out_after_the_payment_window() {
        for g in [Graph::InstantPayment, Graph::GroupCustomerPayment] {
            assert_eq!(
                next_due(g, State::Tentative, true, 100 * MIN, 10 * MIN, 5 * MIN),
                Some((Action::Timeout, 15 * MIN))
            );
        }
    }

    #[test]
    fn completable_bookings_auto_complete_an_hour_after_their_end() {
        let cases = [
            (Graph::Instant, State::Confirmed),
            (Graph::ConfirmDecline, State::Confirmed),
            (Graph::InstantPayment, State::Paid),
            (Graph::GroupOwner, State::Tentative),
            (Graph::GroupCustomer, State::Confirmed),
            (Graph::GroupCustomerPayment, State::Paid),
        ];
        for (g, s) in cases {
            assert_eq!(
                next_due(g, s, true, 100 * MIN, 0, 5 * MIN),
                Some((Action::Complete, 160 * MIN)),
                "{g} {s}"
            );
            assert_eq!(
                next_due(g, s, false, 100 * MIN, 0, 5 * MIN),
                None,
                "{g} {s} with auto-complete off"
            );
        }
    }

    #[test]
    fn nothing_is_due_in_other_states() {
        assert_eq!(
            next_due(Graph::ConfirmDecline, State::Tentative, true, 0, 0, 1),
            None
        );
        for g in Graph::ALL {
            for s in g.states() {
                if g.is_final(s) {
                    assert_eq!(next_due(g, s, true, 0, 0, 1), None, "{g} {s} is final");
                }
            }
        }
    }

    #[test]
    fn times_round_trip_through_rfc3339() {
        let ms = parse_time("2026-12-01T10:00:00+01:00").unwrap();
        assert_eq!(rfc3339(ms), "2026-12-01T09:00:00Z");
        assert!(parse_time("tomorrow").is_none());
    }

    #[test]
    fn includes_are_parsed_and_unknown_ones_refused() {
        let i = Includes::parse("customers, event,calendar").unwrap();
        assert_eq!(i, Includes::PAYLOAD);
        assert_eq!(Includes::parse("").unwrap(), Includes::default());
        assert!(Includes::parse("customers,secrets")
            .unwrap_err()
            .contains("secrets"));
    }

    #[test]
    fn search_names_graph_and_state() {
        let s = Search::parse("graph:instant;state:cancelled").unwrap();
        assert_eq!(s.graph.as_deref(), Some("instant"));
        assert_eq!(s.state.as_deref(), Some("cancelled"));
        assert!(Search::parse("graph").is_err());
        assert!(Search::parse("colour:red").is_err());
        assert_eq!(Search::parse("").unwrap(), Search::default());
    }
}
