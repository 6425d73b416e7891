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
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl EngineError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
