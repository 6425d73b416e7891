//! The delivery log as the panel shows it: one row per message, its attempts, and the filters.

use crate::domain::booking::{CustomerMatch, Lookup};
use crate::domain::delivery::{Outcome, Trigger};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageOut {
    pub id: i64,
    pub msg_id: String,
    pub webhook_id: String,
    pub webhook_name: String,
    pub booking_id: String,
    pub graph: String,
    pub state: String,
    pub action: String,
    /// pending, delivering, delivered, retrying, failed, or held (its webhook is disabled).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub last_status_code: Option<i64>,
    pub last_duration_ms: Option<i64>,
    pub last_error: Option<String>,
    pub is_test: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttemptOut {
    pub attempt: i64,
    pub trigger: Trigger,
    pub outcome: Outcome,
    pub started_at: i64,
    pub duration_ms: i64,
    pub request_url: String,
    /// `[name, value]` pairs, in the order sent.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<String>>))]
    pub request_headers: Vec<(String, String)>,
    pub response_status: Option<i64>,
    /// `[name, value]` pairs, in the order sent.
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<String>>))]
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub next_attempt_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageDetail {
    pub message: MessageOut,
    /// The payload, pretty-printed.
    pub payload: String,
    pub attempts: Vec<AttemptOut>,
}

/// The log's filters; empty strings mean "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFilter {
    pub webhook: String,
    pub status: String,
    pub graph: String,
    pub state: String,
    pub booking: String,
    /// Unix ms bounds of the message's creation (0: unbounded).
    pub from: i64,
    pub to: i64,
    /// The free-text box: a customer's email, a booking id or a message id (see [`Self::lookup`]).
    #[serde(default)]
    pub text: String,
}

impl LogFilter {
    /// What the free-text box looks for; other text (a part of a name) is refused, since the
    /// log finds messages by what indexes hold.
    pub fn lookup(&self) -> Result<Option<Lookup>, String> {
        if self.text.chars().any(char::is_control) {
            return Err("The search holds a control character.".into());
        }
        match Lookup::parse(&self.text) {
            Some(Lookup::Customer(CustomerMatch::Text(_))) => Err(
                "Search the log by a customer's whole email, a booking id or a message id (msg_…)."
                    .into(),
            ),
            found => Ok(found),
        }
    }
}

pub const STATUSES: [&str; 6] = [
    "pending",
    "delivering",
    "retrying",
    "delivered",
    "failed",
    "held",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    pub items: Vec<MessageOut>,
    /// The cursor of the next (older) page, if any.
    pub next_before: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logs_box_takes_an_email_a_booking_id_or_a_message_id() {
        let f = |text: &str| LogFilter {
            text: text.into(),
            ..LogFilter::default()
        };
        assert_eq!(f("").lookup(), Ok(None));
        assert!(matches!(
            f("Ada@Example.com").lookup(),
            Ok(Some(Lookup::Customer(CustomerMatch::Email(e)))) if e == "ada@example.com"
        ));
        assert!(matches!(f("msg_1").lookup(), Ok(Some(Lookup::Message(_)))));
        assert!(matches!(
            f("0194a3b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b").lookup(),
            Ok(Some(Lookup::Booking(_)))
        ));
        assert!(f("Ada").lookup().unwrap_err().contains("whole email"));
    }
}
