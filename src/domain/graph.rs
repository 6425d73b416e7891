//! Booking graphs: the six state machines a booking moves through, as data plus pure rules.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The state machine a booking follows, chosen when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Graph {
    /// Confirmed at once.
    Instant,
    /// Tentative until the owner confirms or declines.
    ConfirmDecline,
    /// Tentative (slot reserved) until paid, or unpaid after the payment window.
    InstantPayment,
    /// A class or slot that customers book seats in (`settings.max_seats`).
    GroupOwner,
    /// A seat in a `group_owner` booking.
    GroupCustomer,
    /// A paid seat in a `group_owner` booking.
    GroupCustomerPayment,
}

/// A state a booking can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Tentative,
    Confirmed,
    Paid,
    Unpaid,
    Declined,
    Cancelled,
    CancelledByCustomer,
    CancelledByOwner,
    RescheduledByCustomer,
    Completed,
    /// Reached when a side effect fails; final, and reachable by no action.
    Error,
}

/// An action applied to a booking (`PUT /v2/bookings/:id/:action`), or sent with its creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Confirm,
    Create,
    Decline,
    Cancel,
    CancelByCustomer,
    RescheduleByCustomer,
    Complete,
    Pay,
    Timeout,
    CancelByOwner,
}

/// One row of a graph table: `from` is `None` for the creation row (`(new)` in the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    pub from: Option<State>,
    pub action: Action,
    pub to: State,
}

const fn new(action: Action, to: State) -> Transition {
    Transition {
        from: None,
        action,
        to,
    }
}

const fn row(from: State, action: Action, to: State) -> Transition {
    Transition {
        from: Some(from),
        action,
        to,
    }
}

use Action as A;
use State as S;

/// `instant`: created confirmed.
pub const INSTANT: &[Transition] = &[
    new(A::Confirm, S::Confirmed),
    row(S::Confirmed, A::Cancel, S::Cancelled),
    row(S::Confirmed, A::CancelByCustomer, S::CancelledByCustomer),
    row(
        S::Confirmed,
        A::RescheduleByCustomer,
        S::RescheduledByCustomer,
    ),
    row(S::Confirmed, A::Complete, S::Completed),
];

/// `confirm_decline`: tentative until the owner decides.
pub const CONFIRM_DECLINE: &[Transition] = &[
    new(A::Create, S::Tentative),
    row(S::Tentative, A::Confirm, S::Confirmed),
    row(S::Tentative, A::Decline, S::Declined),
    row(S::Tentative, A::Cancel, S::Cancelled),
    row(S::Confirmed, A::Cancel, S::Cancelled),
    row(S::Confirmed, A::CancelByCustomer, S::CancelledByCustomer),
    row(
        S::Confirmed,
        A::RescheduleByCustomer,
        S::RescheduledByCustomer,
    ),
    row(S::Confirmed, A::Complete, S::Completed),
];

/// `instant_payment`: the slot is reserved while the customer pays.
pub const INSTANT_PAYMENT: &[Transition] = &[
    new(A::Create, S::Tentative),
    row(S::Tentative, A::Pay, S::Paid),
    row(S::Tentative, A::Timeout, S::Unpaid),
    row(S::Paid, A::Cancel, S::Cancelled),
    row(S::Paid, A::CancelByCustomer, S::CancelledByCustomer),
    row(S::Paid, A::Complete, S::Completed),
];

/// `group_owner`: cancelling it moves every seat in it to `cancelled_by_owner` (done by the engine).
pub const GROUP_OWNER: &[Transition] = &[
    new(A::Create, S::Tentative),
    row(S::Tentative, A::Cancel, S::Cancelled),
    row(S::Tentative, A::Complete, S::Completed),
];

/// `group_customer`: a seat, confirmed at creation when the owner booking has a free seat.
pub const GROUP_CUSTOMER: &[Transition] = &[
    new(A::Create, S::Confirmed),
    row(S::Confirmed, A::CancelByCustomer, S::CancelledByCustomer),
    row(S::Confirmed, A::CancelByOwner, S::CancelledByOwner),
    row(S::Confirmed, A::Complete, S::Completed),
];

/// `group_customer_payment`: a seat taken only once paid.
pub const GROUP_CUSTOMER_PAYMENT: &[Transition] = &[
    new(A::Create, S::Tentative),
    row(S::Tentative, A::Pay, S::Paid),
    row(S::Tentative, A::Timeout, S::Unpaid),
    row(S::Tentative, A::CancelByOwner, S::CancelledByOwner),
    row(S::Paid, A::CancelByCustomer, S::CancelledByCustomer),
    row(S::Paid, A::CancelByOwner, S::CancelledByOwner),
    row(S::Paid, A::Complete, S::Completed),
];

/// An unknown graph, state or action name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{given}'; valid: {}", .valid.join(", "))]
pub struct ParseNameError {
    /// `graph`, `state` or `action`.
    pub kind: &'static str,
    pub given: String,
    pub valid: Vec<&'static str>,
}

/// An action refused because the booking's graph and state do not allow it (HTTP 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error(
    "action '{action}' is not allowed {}; allowed: {}",
    situation(*.graph, *.from),
    list(.allowed)
)]
pub struct TransitionError {
    pub graph: Graph,
    /// `None` when the action was sent with a create request.
    pub from: Option<State>,
    pub action: Action,
    /// What would have been accepted, in table order; empty in a final state.
    pub allowed: Vec<Action>,
}

fn situation(graph: Graph, from: Option<State>) -> String {
    match from {
        Some(state) => format!("for {} {graph} booking in state '{state}'", article(graph)),
        None => format!("to create {} {graph} booking", article(graph)),
    }
}

fn article(graph: Graph) -> &'static str {
    match graph {
        Graph::Instant | Graph::InstantPayment => "an",
        _ => "a",
    }
}

fn list(actions: &[Action]) -> String {
    if actions.is_empty() {
        "none (the state is final)".to_string()
    } else {
        actions
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Graph {
    pub const ALL: [Graph; 6] = [
        Graph::Instant,
        Graph::ConfirmDecline,
        Graph::InstantPayment,
        Graph::GroupOwner,
        Graph::GroupCustomer,
        Graph::GroupCustomerPayment,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Graph::Instant => "instant",
            Graph::ConfirmDecline => "confirm_decline",
            Graph::InstantPayment => "instant_payment",
            Graph::GroupOwner => "group_owner",
            Graph::GroupCustomer => "group_customer",
            Graph::GroupCustomerPayment => "group_customer_payment",
        }
    }

    /// The graph named `name` exactly (e.g. `confirm_decline`).
    pub fn parse(name: &str) -> Result<Graph, ParseNameError> {
        Graph::ALL
            .into_iter()
            .find(|g| g.as_str() == name)
            .ok_or_else(|| ParseNameError {
                kind: "graph",
                given: name.to_string(),
                valid: Graph::ALL.iter().map(|g| g.as_str()).collect(),
            })
    }

    /// The table of this graph, creation row first.
    pub const fn transitions(self) -> &'static [Transition] {
        match self {
            Graph::Instant => INSTANT,
            Graph::ConfirmDecline => CONFIRM_DECLINE,
            Graph::InstantPayment => INSTANT_PAYMENT,
            Graph::GroupOwner => GROUP_OWNER,
            Graph::GroupCustomer => GROUP_CUSTOMER,
            Graph::GroupCustomerPayment => GROUP_CUSTOMER_PAYMENT,
        }
    }

    fn creation(self) -> Transition {
        self.transitions()
            .iter()
            .copied()
            .find(|t| t.from.is_none())
            .expect("every graph table has a creation row")
    }

    /// The action sent with a create request: `confirm` for `instant`, `create` otherwise.
    pub fn initial_action(self) -> Action {
        self.creation().action
    }

    /// The state a booking of this graph is created in.
    pub fn initial_state(self) -> State {
        self.creation().to
    }

    /// The state a booking is created in, given the action sent with the create request.
    pub fn create(self, action: Action) -> Result<State, TransitionError> {
        let t = self.creation();
        if t.action == action {
            Ok(t.to)
        } else {
            Err(TransitionError {
                graph: self,
                from: None,
                action,
                allowed: vec![t.action],
            })
        }
    }

    /// The state reached by applying `action` in state `from`, or why it is refused.
    pub fn apply(self, from: State, action: Action) -> Result<State, TransitionError> {
        self.transitions()
            .iter()
            .find(|t| t.from == Some(from) && t.action == action)
            .map(|t| t.to)
            .ok_or_else(|| TransitionError {
                graph: self,
                from: Some(from),
                action,
                allowed: self.available_actions(from),
            })
    }

    /// The actions allowed in `state`, in table order (engine-only ones included).
    pub fn available_actions(self, state: State) -> Vec<Action> {
        self.transitions()
            .iter()
            .filter(|t| t.from == Some(state))
            .map(|t| t.action)
            .collect()
    }

    /// The actions an API caller may apply in `state`: `available_actions` minus engine-only ones.
    pub fn api_actions(self, state: State) -> Vec<Action> {
        self.available_actions(state)
            .into_iter()
            .filter(|a| a.is_api_callable())
            .collect()
    }

    /// Whether `state` has no outgoing action in this graph (`completed: true`).
    pub fn is_final(self, state: State) -> bool {
        !self.transitions().iter().any(|t| t.from == Some(state))
    }

    /// Every state this graph can reach, in table order, `error` last.
    pub fn states(self) -> Vec<State> {
        let mut out = Vec::new();
        for t in self.transitions() {
            for s in t.from.into_iter().chain([t.to]) {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out.push(State::Error);
        out
    }

    /// Whether this graph can reach `state` (`error` included).
    pub fn has_state(self, state: State) -> bool {
        state == State::Error || self.transitions().iter().any(|t| t.to == state)
    }

    /// Whether `complete` is allowed from `state`, so the engine auto-completes it after its end.
    pub fn auto_completes(self, state: State) -> bool {
        self.apply(state, Action::Complete).is_ok()
    }
}

impl State {
    pub const ALL: [State; 11] = [
        State::Tentative,
        State::Confirmed,
        State::Paid,
        State::Unpaid,
        State::Declined,
        State::Cancelled,
        State::CancelledByCustomer,
        State::CancelledByOwner,
        State::RescheduledByCustomer,
        State::Completed,
        State::Error,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            State::Tentative => "tentative",
            State::Confirmed => "confirmed",
            State::Paid => "paid",
            State::Unpaid => "unpaid",
            State::Declined => "declined",
            State::Cancelled => "cancelled",
            State::CancelledByCustomer => "cancelled_by_customer",
            State::CancelledByOwner => "cancelled_by_owner",
            State::RescheduledByCustomer => "rescheduled_by_customer",
            State::Completed => "completed",
            State::Error => "error",
        }
    }

    /// The state named `name` exactly (e.g. `cancelled_by_customer`).
    pub fn parse(name: &str) -> Result<State, ParseNameError> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| ParseNameError {
                kind: "state",
                given: name.to_string(),
                valid: State::ALL.iter().map(|s| s.as_str()).collect(),
            })
    }
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Confirm,
        Action::Create,
        Action::Decline,
        Action::Cancel,
        Action::CancelByCustomer,
        Action::RescheduleByCustomer,
        Action::Complete,
        Action::Pay,
        Action::Timeout,
        Action::CancelByOwner,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Confirm => "confirm",
            Action::Create => "create",
            Action::Decline => "decline",
            Action::Cancel => "cancel",
            Action::CancelByCustomer => "cancel_by_customer",
            Action::RescheduleByCustomer => "reschedule_by_customer",
            Action::Complete => "complete",
            Action::Pay => "pay",
            Action::Timeout => "timeout",
            Action::CancelByOwner => "cancel_by_owner",
        }
    }

    /// The action named `name` exactly (e.g. `cancel_by_owner`).
    pub fn parse(name: &str) -> Result<Action, ParseNameError> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == name)
            .ok_or_else(|| ParseNameError {
                kind: "action",
                given: name.to_string(),
                valid: Action::ALL.iter().map(|a| a.as_str()).collect(),
            })
    }

    /// Whether the engine applies this action itself ("autoplay"): `timeout` and `complete`.
    pub const fn is_autoplay(self) -> bool {
        matches!(self, Action::Timeout | Action::Complete)
    }

    /// Whether only the engine may apply this action: `timeout`.
    pub const fn is_engine_only(self) -> bool {
        matches!(self, Action::Timeout)
    }

    /// Whether an API caller may send this action (`complete` is both this and autoplay).
    pub const fn is_api_callable(self) -> bool {
        !self.is_engine_only()
    }
}

macro_rules! name_impls {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = ParseNameError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse(s)
            }
        }
    )*};
}

name_impls!(Graph, State, Action);

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's six tables, copied as text: `graph | from | action | to`.
    const SPEC: &str = "
        instant                | (new)     | confirm                | confirmed
        instant                | confirmed | cancel                 | cancelled
        instant                | confirmed | cancel_by_customer     | cancelled_by_customer
        instant                | confirmed | reschedule_by_customer | rescheduled_by_customer
        instant                | confirmed | complete               | completed

        confirm_decline        | (new)     | create                 | tentative
        confirm_decline        | tentative | confirm                | confirmed
        confirm_decline        | tentative | decline                | declined
        confirm_decline        | tentative | cancel                 | cancelled
        confirm_decline        | confirmed | cancel                 | cancelled
        confirm_decline        | confirmed | cancel_by_customer     | cancelled_by_customer
        confirm_decline        | confirmed | reschedule_by_customer | rescheduled_by_customer
        confirm_decline        | confirmed | complete               | completed

        instant_payment        | (new)     | create                 | tentative
        instant_payment        | tentative | pay                    | paid
        instant_payment        | tentative | timeout                | unpaid
        instant_payment        | paid      | cancel                 | cancelled
        instant_payment        | paid      | cancel_by_customer     | cancelled_by_customer
        instant_payment        | paid      | complete               | completed

        group_owner            | (new)     | create                 | tentative
        group_owner            | tentative | cancel                 | cancelled
        group_owner            | tentative | complete               | completed

        group_customer         | (new)     | create                 | confirmed
        group_customer         | confirmed | cancel_by_customer     | cancelled_by_customer
        group_customer         | confirmed | cancel_by_owner        | cancelled_by_owner
        group_customer         | confirmed | complete               | completed

        group_customer_payment | (new)     | create                 | tentative
        group_customer_payment | tentative | pay                    | paid
        group_customer_payment | tentative | timeout                | unpaid
        group_customer_payment | tentative | cancel_by_owner        | cancelled_by_owner
        group_customer_payment | paid      | cancel_by_customer     | cancelled_by_customer
        group_customer_payment | paid      | cancel_by_owner        | cancelled_by_owner
        group_customer_payment | paid      | complete               | completed
    ";

    /// The spec rows of `graph`, as `(from, action, to)` strings in spec order.
    fn spec_rows(graph: &str) -> Vec<(&'static str, &'static str, &'static str)> {
        SPEC.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                assert_eq!(cells.len(), 4, "bad spec line {l:?}");
                (cells[0], cells[1], cells[2], cells[3])
            })
            .filter(|(g, ..)| *g == graph)
            .map(|(_, from, action, to)| (from, action, to))
            .collect()
    }

    fn names(actions: &[Action]) -> Vec<&'static str> {
        actions.iter().map(|a| a.as_str()).collect()
    }

    /// For every state and action: `apply` moves exactly as the spec says, else refuses.
    fn check_every_state_and_action(graph: Graph) {
        let rows = spec_rows(graph.as_str());
        assert!(!rows.is_empty(), "no spec rows for {graph}");
        for state in State::ALL {
            let spec_allowed: Vec<&str> = rows
                .iter()
                .filter(|(from, ..)| *from == state.as_str())
                .map(|(_, action, _)| *action)
                .collect();
            assert_eq!(
                names(&graph.available_actions(state)),
                spec_allowed,
                "{graph} available actions in {state}"
            );
            for action in Action::ALL {
                let expected = rows
                    .iter()
                    .find(|(from, a, _)| *from == state.as_str() && *a == action.as_str())
                    .map(|(.., to)| *to);
                match (graph.apply(state, action), expected) {
                    (Ok(to), Some(spec_to)) => assert_eq!(to.as_str(), spec_to),
                    (Err(e), None) => {
                        assert_eq!(e.graph, graph);
                        assert_eq!(e.from, Some(state));
                        assert_eq!(e.action, action);
                        assert_eq!(e.allowed, graph.available_actions(state));
                        assert_eq!(names(&e.allowed), spec_allowed);
                    }
                    (got, want) => {
                        panic!("{graph}: {state} --{action}--> got {got:?}, spec says {want:?}")
                    }
                }
            }
        }
        // The creation row: only the spec's `(new)` action creates, into the spec's state.
        let (_, new_action, new_to) = rows[0];
        assert_eq!(rows[0].0, "(new)");
        assert_eq!(graph.initial_action().as_str(), new_action);
        assert_eq!(graph.initial_state().as_str(), new_to);
        for action in Action::ALL {
            match graph.create(action) {
                Ok(to) => {
                    assert_eq!(action.as_str(), new_action);
                    assert_eq!(to.as_str(), new_to);
                }
                Err(e) => {
                    assert_ne!(action.as_str(), new_action);
                    assert_eq!(e.from, None);
                    assert_eq!(names(&e.allowed), vec![new_action]);
                }
            }
        }
        // And the table holds no row the spec lacks.
        assert_eq!(graph.transitions().len(), rows.len());
    }

    #[test]
    fn instant_moves_exactly_as_the_spec_table_says() {
        check_every_state_and_action(Graph::Instant);
    }

    #[test]
    fn confirm_decline_moves_exactly_as_the_spec_table_says() {
        check_every_state_and_action(Graph::ConfirmDecline);
    }

    #[test]
    fn instant_payment_moves_exactly_as_the_spec_table_says() {
        check_every_state_and_action(Graph::InstantPayment);
    }

    #[test]
    fn group_owner_moves_exactly_as_the_spec_table_says() {
        check_every_state_and_action(Graph::GroupOwner);
    }

    #[test]
    fn group_customer_moves_exactly_as_the_spec_table_says() {
        check_every_state_and_action(Graph::GroupCustomer);
    }

    #[test]
    fn group_customer_payment_moves_exactly_as_the_spec_table_says() {
        check_every_state_and_action(Graph::GroupCustomerPayment);
    }

    #[test]
    fn the_spec_text_covers_all_six_graphs_and_no_other() {
        let mut graphs: Vec<&str> = SPEC
            .lines()
            .filter_map(|l| l.split('|').next())
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .collect();
        graphs.dedup();
        assert_eq!(graphs, Graph::ALL.map(|g| g.as_str()).to_vec());
        assert_eq!(SPEC.lines().filter(|l| l.contains('|')).count(), 33);
    }

    #[test]
    fn names_round_trip_through_parse_display_and_from_str() {
        for g in Graph::ALL {
            assert_eq!(Graph::parse(g.as_str()), Ok(g));
            assert_eq!(g.to_string().parse::<Graph>(), Ok(g));
        }
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Ok(s));
            assert_eq!(s.to_string().parse::<State>(), Ok(s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Ok(a));
            assert_eq!(a.to_string().parse::<Action>(), Ok(a));
        }
    }

    #[test]
    fn an_unknown_name_is_refused_listing_the_valid_ones() {
        let e = Graph::parse("instant-payment").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown graph 'instant-payment'; valid: instant, confirm_decline, instant_payment, \
             group_owner, group_customer, group_customer_payment"
        );
        assert!(Graph::parse("Instant").is_err());
        assert!(Graph::parse("").is_err());
        let e = "canceled".parse::<State>().unwrap_err();
        assert_eq!(e.kind, "state");
        assert!(e.to_string().contains("cancelled_by_owner"));
        let e = "refund".parse::<Action>().unwrap_err();
        assert!(e
            .to_string()
            .starts_with("unknown action 'refund'; valid: confirm, create,"));
    }

    #[test]
    fn serde_names_are_the_snake_case_names() {
        for g in Graph::ALL {
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(json, format!("\"{}\"", g.as_str()));
            assert_eq!(serde_json::from_str::<Graph>(&json).unwrap(), g);
        }
        for s in State::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<State>(&json).unwrap(), s);
        }
        for a in Action::ALL {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.as_str()));
            assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), a);
        }
        assert_eq!(
            serde_json::to_string(&Graph::GroupCustomerPayment).unwrap(),
            "\"group_customer_payment\""
        );
        assert_eq!(
            serde_json::to_string(&State::RescheduledByCustomer).unwrap(),
            "\"rescheduled_by_customer\""
        );
        assert!(serde_json::from_str::<Graph>("\"GroupOwner\"").is_err());
    }

    #[test]
    fn end_states_are_final_and_live_states_are_not() {
        use State::*;
        let cases: [(Graph, &[State], &[State]); 6] = [
            (
                Graph::Instant,
                &[Confirmed],
                &[
                    Cancelled,
                    CancelledByCustomer,
                    RescheduledByCustomer,
                    Completed,
                ],
            ),
            (
                Graph::ConfirmDecline,
                &[Tentative, Confirmed],
                &[
                    Declined,
                    Cancelled,
                    CancelledByCustomer,
                    RescheduledByCustomer,
                    Completed,
                ],
            ),
            (
                Graph::InstantPayment,
                &[Tentative, Paid],
                &[Unpaid, Cancelled, CancelledByCustomer, Completed],
            ),
            (Graph::GroupOwner, &[Tentative], &[Cancelled, Completed]),
            (
                Graph::GroupCustomer,
                &[Confirmed],
                &[CancelledByCustomer, CancelledByOwner, Completed],
            ),
            (
                Graph::GroupCustomerPayment,
                &[Tentative, Paid],
                &[Unpaid, CancelledByOwner, CancelledByCustomer, Completed],
            ),
        ];
        for (graph, live, end) in cases {
            for s in live {
                assert!(!graph.is_final(*s), "{graph} {s} should be live");
            }
            for s in end {
                assert!(graph.is_final(*s), "{graph} {s} should be final");
                assert!(graph.available_actions(*s).is_empty());
            }
            assert!(graph.is_final(Error));
        }
    }

    #[test]
    fn error_is_final_known_to_every_graph_and_reached_by_no_action() {
        for graph in Graph::ALL {
            assert!(graph.is_final(State::Error));
            assert!(graph.has_state(State::Error));
            assert_eq!(graph.states().last(), Some(&State::Error));
            assert!(graph.available_actions(State::Error).is_empty());
            assert!(graph.transitions().iter().all(|t| t.to != State::Error));
            for from in State::ALL {
                for action in Action::ALL {
                    assert_ne!(graph.apply(from, action), Ok(State::Error));
                }
            }
            for action in Action::ALL {
                assert_ne!(graph.create(action), Ok(State::Error));
            }
        }
    }

    #[test]
    fn each_graph_lists_its_reachable_states_in_table_order() {
        use State::*;
        assert_eq!(
            Graph::Instant.states(),
            [
                Confirmed,
                Cancelled,
                CancelledByCustomer,
                RescheduledByCustomer,
                Completed,
                Error
            ]
        );
        assert_eq!(
            Graph::ConfirmDecline.states(),
            [
                Tentative,
                Confirmed,
                Declined,
                Cancelled,
                CancelledByCustomer,
                RescheduledByCustomer,
                Completed,
                Error
            ]
        );
        assert_eq!(
            Graph::InstantPayment.states(),
            [
                Tentative,
                Paid,
                Unpaid,
                Cancelled,
                CancelledByCustomer,
                Completed,
                Error
            ]
        );
        assert_eq!(
            Graph::GroupOwner.states(),
            [Tentative, Cancelled, Completed, Error]
        );
        assert_eq!(
            Graph::GroupCustomer.states(),
            [
                Confirmed,
                CancelledByCustomer,
                CancelledByOwner,
                Completed,
                Error
            ]
        );
        assert_eq!(
            Graph::GroupCustomerPayment.states(),
            [
                Tentative,
                Paid,
                Unpaid,
                CancelledByOwner,
                CancelledByCustomer,
                Completed,
                Error
            ]
        );
        for graph in Graph::ALL {
            for s in State::ALL {
                assert_eq!(
                    graph.has_state(s),
                    graph.states().contains(&s),
                    "{graph} {s}"
                );
            }
        }
    }

    #[test]
    fn complete_is_automatic_exactly_where_the_graph_allows_it() {
        use State::*;
        let expected = [
            (Graph::Instant, Confirmed),
            (Graph::ConfirmDecline, Confirmed),
            (Graph::InstantPayment, Paid),
            (Graph::GroupOwner, Tentative),
            (Graph::GroupCustomer, Confirmed),
            (Graph::GroupCustomerPayment, Paid),
        ];
        for graph in Graph::ALL {
            for s in State::ALL {
                assert_eq!(
                    graph.auto_completes(s),
                    expected.contains(&(graph, s)),
                    "{graph} {s}"
                );
            }
        }
    }

    #[test]
    fn timeout_is_engine_only_and_complete_is_both_api_and_autoplay() {
        for a in Action::ALL {
            assert_eq!(a.is_engine_only(), a == Action::Timeout, "{a}");
            assert_eq!(a.is_api_callable(), a != Action::Timeout, "{a}");
            assert_eq!(
                a.is_autoplay(),
                matches!(a, Action::Timeout | Action::Complete),
                "{a}"
            );
        }
        assert!(Action::Complete.is_api_callable() && Action::Complete.is_autoplay());
        assert_eq!(
            Graph::InstantPayment.api_actions(State::Tentative),
            [Action::Pay]
        );
        assert_eq!(
            Graph::GroupCustomerPayment.api_actions(State::Tentative),
            [Action::Pay, Action::CancelByOwner]
        );
    }

    #[test]
    fn a_refused_action_explains_itself() {
        let e = Graph::ConfirmDecline
            .apply(State::Confirmed, Action::Pay)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "action 'pay' is not allowed for a confirm_decline booking in state 'confirmed'; \
             allowed: cancel, cancel_by_customer, reschedule_by_customer, complete"
        );
        let e = Graph::ConfirmDecline.create(Action::Confirm).unwrap_err();
        assert_eq!(
            e.to_string(),
            "action 'confirm' is not allowed to create a confirm_decline booking; allowed: create"
        );
        let e = Graph::Instant
            .apply(State::Completed, Action::Cancel)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "action 'cancel' is not allowed for an instant booking in state 'completed'; \
             allowed: none (the state is final)"
        );
    }

    #[test]
    fn a_refused_action_serializes_with_snake_case_names() {
        let e = Graph::InstantPayment
            .apply(State::Unpaid, Action::Pay)
            .unwrap_err();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "graph": "instant_payment",
                "from": "unpaid",
                "action": "pay",
                "allowed": []
            })
        );
        assert_eq!(serde_json::from_value::<TransitionError>(json).unwrap(), e);
    }
}
