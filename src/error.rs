//! The error every panel server function returns: an HTTP status, a message a person can act
//! on, and the form field it is about.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct PanelError {
    pub status: u16,
    pub message: String,
    pub field: Option<String>,
}

impl PanelError {
    fn new(status: u16, message: impl Into<String>, field: Option<&str>) -> Self {
        let e = Self {
            status,
            message: message.into(),
            field: field.map(str::to_string),
        };
        e.set_response_status();
        e
    }

    /// Bad input in one field (400).
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::new(400, message, Some(field))
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message, None)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "You are not signed in, or your session has ended.",
            None,
        )
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(404, format!("{what} was not found."), None)
    }
    pub fn conflict(field: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(409, message, field)
    }
    pub fn too_many(message: impl Into<String>) -> Self {
        Self::new(429, message, None)
    }
    /// The database cannot be written now (503); the store logs the cause once per episode.
    pub fn unavailable() -> Self {
        Self::new(
            503,
            "The database cannot save changes right now (it is full, read-only or unreachable). \
             Try again in a few seconds.",
            None,
        )
    }
    /// An unexpected failure: the cause goes to the log, the caller only learns that it failed.
    #[cfg(feature = "ssr")]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "panel request failed");
        Self::new(
            500,
            "Something went wrong on the server; it has been logged.",
            None,
        )
    }

    pub fn is_unauthorized(&self) -> bool {
        self.status == 401
    }

    /// The message if it concerns `field`.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }

    /// The error's status on the response, except for a plain form post (JavaScript off): that
    /// one is answered with server_fn's redirect back to the form, the error in its address, for
    /// the page to show, and a status here would replace the redirect.
    fn set_response_status(&self) {
        #[cfg(feature = "ssr")]
        if plain_form_post() {
            return;
        }
        #[cfg(feature = "ssr")]
        if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(
                http::StatusCode::from_u16(self.status)
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
    }
}

/// Whether the request being answered is a form the browser posted itself (it accepts HTML).
#[cfg(feature = "ssr")]
fn plain_form_post() -> bool {
    leptos::prelude::use_context::<http::request::Parts>().is_some_and(|p| {
        p.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for PanelError {
    fn from(e: sqlx::Error) -> Self {
        if crate::store::is_unavailable(&e) {
            Self::unavailable()
        } else {
            Self::internal(e)
        }
    }
}

impl FromServerFnError for PanelError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let status = match &value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => 400,
            _ => 500,
        };
        let message = match &value {
            ServerFnErrorErr::Request(_) => {
                "The server could not be reached. Check your connection and try again.".into()
            }
            other => other.to_string(),
        };
        Self::new(status, message, None)
    }
}

pub type PanelResult<T> = Result<T, PanelError>;
