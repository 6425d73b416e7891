//! The booking as the API returns it (Timekit's v2 shape), and the input rules of a new booking.

use crate::domain::graph::{Action, Graph, State};
use chrono::NaiveDate;
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

/// What finding bookings is narrowed to: the API's `search=` and the panel's filter form read
/// into one value, which the store turns into one query. Every part is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub graph: Option<Graph>,
    pub state: Option<State>,
    /// The booking's id.
    pub id: Option<String>,
    /// The booking a message (`msg_…`) was sent about.
    pub message: Option<String>,
    pub customer: Option<CustomerMatch>,
    pub resource: Option<String>,
    /// The first UTC day the booking may start on.
    pub from: Option<NaiveDate>,
    /// The last UTC day the booking may start on.
    pub to: Option<NaiveDate>,
}

/// The keys `search=` takes, in the order [`Search`]'s text writes them.
pub const SEARCH_KEYS: &str = "graph, state, id, message, customer, resource, from, to";

/// How a customer is looked for: an email (it has an `@`) whole, else a part of the name or the
/// email; both ignore case, so the text is kept lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerMatch {
    Email(String),
    Text(String),
}

impl CustomerMatch {
    /// `None` for blank text.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            None
        } else if s.contains('@') {
            Some(Self::Email(s))
        } else {
            Some(Self::Text(s))
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(s) | Self::Text(s) => s,
        }
    }
}

/// What one free-text box (the Bookings page's, the Delivery log's) was given: a booking id
/// (a UUID), a message id (`msg_…`), else a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Booking(String),
    Message(String),
    Customer(CustomerMatch),
}

impl Lookup {
    /// `None` for blank text.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if is_uuid(s) {
            Some(Self::Booking(s.to_lowercase()))
        } else if s.starts_with("msg_") {
            Some(Self::Message(s.to_string()))
        } else {
            CustomerMatch::parse(s).map(Self::Customer)
        }
    }
}

/// A UUID in its hyphenated form, as every booking id is.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `2030-01-31` → that day.
pub fn parse_day(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("'{}' is not a day; write it as YYYY-MM-DD", s.trim()))
}

/// Unix milliseconds of the start of this UTC day.
pub fn day_start_ms(d: NaiveDate) -> i64 {
    d.and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_millis()
}

impl Search {
    /// `graph:instant;state:cancelled;customer:ada@example.com;from:2030-01-01` → the filters
    /// it names. A value cannot hold `;`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Self::default();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = part.split_once(':') else {
                return Err(format!(
                    "'{part}' is not a key:value pair; write e.g. graph:instant;state:confirmed"
                ));
            };
            let (k, v) = (k.trim(), v.trim());
            if v.is_empty() {
                return Err(format!("the search key '{k}' has no value"));
            }
            if v.chars().any(char::is_control) {
                return Err(format!("the value of '{k}' holds a control character"));
            }
            match k {
                "graph" => out.graph = Some(Graph::parse(v).map_err(|e| e.to_string())?),
                "state" => out.state = Some(State::parse(v).map_err(|e| e.to_string())?),
                "id" => {
                    if !is_uuid(v) {
                        return Err(format!("id:{v} is not a booking id (a UUID)"));
                    }
                    out.id = Some(v.to_lowercase());
                }
                "message" => out.message = Some(v.to_string()),
                "customer" => out.customer = CustomerMatch::parse(v),
                "resource" => out.resource = Some(v.to_string()),
                "from" => out.from = Some(parse_day(v).map_err(|e| format!("from: {e}"))?),
                "to" => out.to = Some(parse_day(v).map_err(|e| format!("to: {e}"))?),
                other => return Err(format!("unknown search key '{other}'; use {SEARCH_KEYS}")),
            }
        }
        out.check_range().map_err(|(_, m)| m)?;
        Ok(out)
    }

    /// The panel's filter form: the free-text box (a booking id, a message id or a customer),
    /// the resource's id, the UTC days `from` and `to`, the graph and the state; empty means any.
    /// A refusal names its field.
    pub fn from_form(
        text: &str,
        resource: &str,
        from: &str,
        to: &str,
        graph: &str,
        state: &str,
    ) -> Result<Self, (&'static str, String)> {
        let day = |s: &str, field| {
            let s = s.trim();
            (!s.is_empty())
                .then(|| parse_day(s).map_err(|e| (field, e)))
                .transpose()
        };
        fn name(s: &str) -> Option<&str> {
            Some(s.trim()).filter(|s| !s.is_empty())
        }
        for (value, field) in [(text, "q"), (resource, "resource")] {
            if value.chars().any(char::is_control) {
                return Err((field, "This holds a control character.".into()));
            }
        }
        let mut out = Self {
            graph: name(graph)
                .map(Graph::parse)
                .transpose()
                .map_err(|e| ("graph", e.to_string()))?,
            state: name(state)
                .map(State::parse)
                .transpose()
                .map_err(|e| ("state", e.to_string()))?,
            resource: name(resource).map(str::to_string),
            from: day(from, "from")?,
            to: day(to, "to")?,
            ..Self::default()
        };
        match Lookup::parse(text) {
            None => {}
            Some(Lookup::Booking(id)) => out.id = Some(id),
            Some(Lookup::Message(m)) => out.message = Some(m),
            Some(Lookup::Customer(c)) => out.customer = Some(c),
        }
        out.check_range()?;
        Ok(out)
    }

    fn check_range(&self) -> Result<(), (&'static str, String)> {
        match (self.from, self.to) {
            (Some(f), Some(t)) if f > t => {
                Err(("to", format!("the range ends ({t}) before it starts ({f})")))
            }
            _ => Ok(()),
        }
    }

    /// Unix ms bounds of the booking's start: at or after the first, before the second.
    pub fn start_bounds(&self) -> (Option<i64>, Option<i64>) {
        (
            self.from.map(day_start_ms),
            self.to.and_then(|d| d.succ_opt()).map(day_start_ms),
        )
    }
}

/// The search written back in the syntax [`Search::parse`] reads.
impl std::fmt::Display for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts = [
            ("graph", self.graph.map(|g| g.as_str().to_string())),
            ("state", self.state.map(|s| s.as_str().to_string())),
            ("id", self.id.clone()),
            ("message", self.message.clone()),
            (
                "customer",
                self.customer.as_ref().map(|c| c.as_str().to_string()),
            ),
            ("resource", self.resource.clone()),
            ("from", self.from.map(|d| d.to_string())),
            ("to", self.to.map(|d| d.to_string())),
        ];
        let text: Vec<String> = parts
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}:{v}")))
            .collect();
        f.write_str(&text.join(";"))
    }
}

/// Where the panel's list of bookings goes on from: the last row shown, newest first by
/// (created, id). Written `<created ms>_<id>` in the page's address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingCursor {
    pub created_at: i64,
    pub id: String,
}

impl BookingCursor {
    pub fn parse(s: &str) -> Option<Self> {
        let (ms, id) = s.trim().split_once('_')?;
        Some(Self {
            created_at: ms.parse().ok()?,
            id: Some(id).filter(|id| !id.is_empty())?.to_string(),
        })
    }
}

impl std::fmt::Display for BookingCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.created_at, self.id)
    }
}

#[cfg(test)]
mod search_properties {
    use super::*;
    use proptest::prelude::*;

    fn any_search() -> impl Strategy<Value = Search> {
        let day = (2000i32..2100, 1u32..=12, 1u32..=28)
            .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap());
        (
            proptest::option::of(proptest::sample::select(Graph::ALL.to_vec())),
            proptest::option::of(proptest::sample::select(State::ALL.to_vec())),
            proptest::option::of("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
            proptest::option::of("msg_[A-Za-z0-9]{1,27}"),
            proptest::option::of("[a-z@. ]{0,30}"),
            proptest::option::of("[0-9a-f-]{1,36}"),
            proptest::option::of(day.clone()),
            proptest::option::of(day),
        )
            .prop_map(
                |(graph, state, id, message, customer, resource, from, to)| {
                    let (from, to) = match (from, to) {
                        (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                        r => r,
                    };
                    Search {
                        graph,
                        state,
                        id,
                        message,
                        customer: customer.as_deref().and_then(CustomerMatch::parse),
                        resource,
                        from,
                        to,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_with_a_message(s in "\\PC{0,80}") {
            if let Err(m) = Search::parse(&s) {
                prop_assert!(!m.is_empty());
            }
        }

        #[test]
        fn any_search_is_written_and_read_back_the_same(s in any_search()) {
            prop_assert_eq!(Search::parse(&s.to_string()), Ok(s));
        }

        #[test]
        fn key_value_pairs_are_read_whatever_the_spacing_and_order(
            s in any_search(), sp in " {0,3}", rev in any::<bool>()
        ) {
            let text = s.to_string();
            let mut parts: Vec<String> = text
                .split(';')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once(':').unwrap();
                    format!("{sp}{k}{sp}:{sp}{v}{sp}")
                })
                .collect();
            if rev {
                parts.reverse();
            }
            prop_assert_eq!(Search::parse(&format!("{};", parts.join(";"))), Ok(s));
        }

        #[test]
        fn a_day_range_covers_whole_utc_days(s in any_search()) {
            let (lo, hi) = s.start_bounds();
            if let (Some(lo), Some(hi)) = (lo, hi) {
                prop_assert!(hi > lo);
                prop_assert_eq!((hi - lo) % 86_400_000, 0);
            }
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
    fn search_names_graph_state_customer_id_resource_and_days() {
        let s = Search::parse(
            "graph:instant;state:cancelled;customer:Ada@Example.com;resource:r1;\
             id:0194A3B2-7C4D-7E8F-9A0B-1C2D3E4F5A6B;from:2030-01-01;to:2030-01-31",
        )
        .unwrap();
        assert_eq!(s.graph, Some(Graph::Instant));
        assert_eq!(s.state, Some(State::Cancelled));
        assert_eq!(
            s.customer,
            Some(CustomerMatch::Email("ada@example.com".into()))
        );
        assert_eq!(s.resource.as_deref(), Some("r1"));
        assert_eq!(
            s.id.as_deref(),
            Some("0194a3b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b")
        );
        let (lo, hi) = s.start_bounds();
        assert_eq!(lo, parse_time("2030-01-01T00:00:00Z"));
        assert_eq!(hi, parse_time("2030-02-01T00:00:00Z"), "the whole last day");
        assert_eq!(
            Search::parse("customer:  Grace ").unwrap().customer,
            Some(CustomerMatch::Text("grace".into()))
        );
        assert_eq!(Search::parse("").unwrap(), Search::default());
        assert_eq!(Search::parse(" ; ").unwrap(), Search::default());
    }

    #[test]
    fn search_refuses_what_it_cannot_read_and_says_why() {
        for (bad, says) in [
            ("graph", "key:value"),
            ("colour:red", "unknown search key 'colour'"),
            ("graph:nope", "nope"),
            ("state:", "no value"),
            ("id:42", "UUID"),
            ("from:2030-13-01", "YYYY-MM-DD"),
            ("to:tomorrow", "YYYY-MM-DD"),
            ("from:2030-02-01;to:2030-01-31", "before it starts"),
            ("customer:a\u{0}b", "control character"),
        ] {
            let e = Search::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn one_box_finds_a_booking_id_a_message_id_or_a_customer() {
        let id = "0194a3b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b";
        assert_eq!(Lookup::parse(id), Some(Lookup::Booking(id.into())));
        assert_eq!(
            Lookup::parse(&format!(" {} ", id.to_uppercase())),
            Some(Lookup::Booking(id.into()))
        );
        assert_eq!(
            Lookup::parse("msg_2abc"),
            Some(Lookup::Message("msg_2abc".into()))
        );
        assert_eq!(
            Lookup::parse("Ada@Example.com"),
            Some(Lookup::Customer(CustomerMatch::Email(
                "ada@example.com".into()
            )))
        );
        assert_eq!(
            Lookup::parse("Lovelace"),
            Some(Lookup::Customer(CustomerMatch::Text("lovelace".into())))
        );
        assert_eq!(Lookup::parse("   "), None);
        assert!(!is_uuid("0194a3b2-7c4d-7e8f-9a0b-1c2d3e4f5a6"));
        assert!(!is_uuid("0194a3b2x7c4d-7e8f-9a0b-1c2d3e4f5a6b"));
    }

    #[test]
    fn the_filter_form_names_the_field_it_refuses() {
        let ok =
            Search::from_form("Ada@example.com", "r1", "2030-01-01", "", "instant", "").unwrap();
        assert_eq!(ok.graph, Some(Graph::Instant));
        assert_eq!(ok.resource.as_deref(), Some("r1"));
        assert_eq!(ok.from, NaiveDate::from_ymd_opt(2030, 1, 1));
        assert_eq!(ok.to, None);
        assert!(ok.customer.is_some());
        assert_eq!(
            Search::from_form("", "", "", "", "", "").unwrap(),
            Search::default()
        );
        assert_eq!(
            Search::from_form("msg_1", "", "", "", "", "")
                .unwrap()
                .message
                .as_deref(),
            Some("msg_1")
        );
        for (args, field) in [
            (["", "", "01/02/2030", "", "", ""], "from"),
            (["", "", "", "2030-02-30", "", ""], "to"),
            (["", "", "2030-02-02", "2030-02-01", "", ""], "to"),
            (["", "", "", "", "nope", ""], "graph"),
            (["", "", "", "", "", "nope"], "state"),
            (["ada\u{0}", "", "", "", "", ""], "q"),
        ] {
            let [t, r, f, to, g, s] = args;
            assert_eq!(
                Search::from_form(t, r, f, to, g, s).unwrap_err().0,
                field,
                "{args:?}"
            );
        }
    }

    #[test]
    fn a_cursor_is_written_and_read_back() {
        let c = BookingCursor {
            created_at: 1_767_225_600_000,
            id: "0194a3b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b".into(),
        };
        assert_eq!(BookingCursor::parse(&c.to_string()), Some(c));
        for bad in ["", "12", "x_y", "12_", "_abc"] {
            assert_eq!(BookingCursor::parse(bad), None, "{bad}");
        }
    }
}
