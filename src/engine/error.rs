//! What a use case refuses, or fails on: the one error every engine function returns.

use crate::domain::graph::TransitionError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A field of the request is wrong (422).
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The booking (or resource) is not in this app (404).
    #[error("{0} was not found")]
    NotFound(&'static str),
    /// The booking's state does not allow the action (422).
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The request is valid but the data forbids it now: no free seat, not final (409).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be written now: full, read-only, down or refusing connections
    /// (503, try again later). Its cause is logged once per episode by the store.
    #[error("the database cannot be written now")]
    Unavailable,
    /// Any other database failure: a bug (500).
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

/// Every database error of a use case is sorted here, by the store's one rule.
impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        if crate::store::is_unavailable(&e) {
            Self::Unavailable
        } else {
            Self::Db(e)
        }
    }
}

impl EngineError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
