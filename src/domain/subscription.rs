//! A webhook as the API and the panel show it, and the rules for its graph/state subscriptions.

use crate::domain::graph::{Graph, State};
use crate::domain::payload::PayloadFormat;
use serde::{Deserialize, Serialize};

/// One graph/state pair a webhook subscribes to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventRef {
    pub graph: String,
    pub state: String,
}

impl EventRef {
    pub fn new(graph: Graph, state: State) -> Self {
        Self {
            graph: graph.as_str().into(),
            state: state.as_str().into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub url: String,
    pub method: String,
    pub enabled: bool,
    /// Why it is off: `manual`, `gone` (the receiver answered 410) or `failing`.
    pub disabled_reason: Option<String>,
    pub events: Vec<EventRef>,
    /// At most this many deliveries per second to this URL (none: no limit).
    pub rate_limit_per_second: Option<i64>,
    /// Deliver one message at a time, in order: the next only after the previous is
    /// delivered or has failed for good.
    pub ordered: bool,
    /// The shape of the booking in its deliveries.
    pub payload_format: PayloadFormat,
    pub last_delivery: Option<LastDelivery>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LastDelivery {
    pub status: String,
    pub status_code: Option<i64>,
    pub at: String,
}

/// The signing secret, shown only on request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SecretOut {
    pub secret: String,
    /// During a rotation: the previous secret, still used to sign until `previous_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<String>,
}

/// Checks subscriptions: known graphs, states the graph can reach, at least one, no repeats.
/// On error, the message names the offending pair.
pub fn parse_events(events: &[EventRef]) -> Result<Vec<(Graph, State)>, String> {
    if events.is_empty() {
        return Err(
            "Choose at least one graph/state pair: the webhook is called when a booking of that graph enters that state."
                .into(),
        );
    }
    if events.len() > 200 {
        return Err("A webhook can subscribe to at most 200 graph/state pairs.".into());
    }
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let g = Graph::parse(e.graph.trim()).map_err(|err| err.to_string())?;
        let s = State::parse(e.state.trim()).map_err(|err| err.to_string())?;
        if !g.has_state(s) {
            let states: Vec<&str> = g.states().iter().map(|s| s.as_str()).collect();
            return Err(format!(
                "A {g} booking never enters the state '{s}'; its states are {}.",
                states.join(", ")
            ));
        }
        if !out.contains(&(g, s)) {
            out.push((g, s));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(g: &str, s: &str) -> EventRef {
        EventRef {
            graph: g.into(),
            state: s.into(),
        }
    }

    #[test]
    fn subscriptions_must_name_states_the_graph_reaches() {
        assert_eq!(
            parse_events(&[ev("instant_payment", "unpaid"), ev("instant", "confirmed")]).unwrap(),
            vec![
                (Graph::InstantPayment, State::Unpaid),
                (Graph::Instant, State::Confirmed)
            ]
        );
        let e = parse_events(&[ev("instant", "unpaid")]).unwrap_err();
        assert!(e.contains("never enters the state 'unpaid'"), "{e}");
        assert!(parse_events(&[ev("weekly", "confirmed")])
            .unwrap_err()
            .contains("unknown graph"));
        assert!(parse_events(&[ev("instant", "happy")])
            .unwrap_err()
            .contains("unknown state"));
        assert!(parse_events(&[]).unwrap_err().contains("at least one"));
    }

    #[test]
    fn repeated_pairs_count_once() {
        let v = parse_events(&[ev("instant", "confirmed"), ev("instant", "confirmed")]).unwrap();
        assert_eq!(v.len(), 1);
    }
}
