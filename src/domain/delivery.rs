//! Delivery's words as types: a message's status, an attempt's outcome and its trigger, named as stored.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a message stands. The log shows two more, derived ones (`retrying`, `held`); see
/// `store::log::shown_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or, while its webhook is disabled, held).
    Pending,
    /// Claimed by a worker under a lease: an attempt is being made.
    Delivering,
    /// A receiver answered 2xx.
    Delivered,
    /// The retry schedule ran out without a success.
    Failed,
}

/// What one attempt amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// A 2xx response: the message is done.
    Delivered,
    /// Anything else (redirects are not followed), or no response at all: retry per the schedule.
    Failed,
    /// 410 Gone: the receiver asks for the endpoint to be disabled at once.
    Gone,
}

/// What caused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Trigger {
    /// The worker, when the message was due.
    Scheduled,
    /// "Redeliver now" in the panel.
    Manual,
    /// The worker, sending a test event.
    Test,
}

/// A name that is none of a type's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What was read: `delivery status`, `attempt outcome` or `attempt trigger`.
    pub what: &'static str,
    pub name: String,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.what, self.name)
    }
}

impl std::error::Error for UnknownName {}

/// `as_str`, `FromStr` and `Display` by the names the database stores (the same as serde's).
macro_rules! named {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err(UnknownName {
                        what: $what,
                        name: other.to_owned(),
                    }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named!(DeliveryStatus, "delivery status", {
    Pending => "pending",
    Delivering => "delivering",
    Delivered => "delivered",
    Failed => "failed",
});

named!(Outcome, "attempt outcome", {
    Delivered => "delivered",
    Failed => "failed",
    Gone => "gone",
});

named!(Trigger, "attempt trigger", {
    Scheduled => "scheduled",
    Manual => "manual",
    Test => "test",
});

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are what rows written before these types hold: they must never change.
    #[test]
    fn each_value_has_the_name_the_database_stores() {
        let statuses: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(statuses, ["pending", "delivering", "delivered", "failed"]);
        let outcomes: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(outcomes, ["delivered", "failed", "gone"]);
        let triggers: Vec<&str> = Trigger::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(triggers, ["scheduled", "manual", "test"]);
    }

    #[test]
    fn every_name_reads_back_as_its_value_on_the_wire_too() {
        fn check<T>(all: &[T])
        where
            T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr + Serialize,
            T: for<'de> Deserialize<'de>,
            T::Err: fmt::Debug,
        {
            for v in all {
                let name = v.to_string();
                assert_eq!(name.parse::<T>().unwrap(), *v);
                let json = serde_json::to_string(v).unwrap();
                assert_eq!(json, format!("\"{name}\""));
                assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
            }
        }
        check(DeliveryStatus::ALL);
        check(Outcome::ALL);
        check(Trigger::ALL);
    }

    #[test]
    fn an_unknown_name_is_refused_and_named() {
        let err = "retrying".parse::<DeliveryStatus>().unwrap_err();
        assert_eq!(err.to_string(), "unknown delivery status \"retrying\"");
        assert!("Delivered".parse::<Outcome>().is_err(), "names are exact");
        assert_eq!(
            "replay".parse::<Trigger>().unwrap_err().to_string(),
            "unknown attempt trigger \"replay\""
        );
    }
}
