//! Small pieces shared by the pages: form errors, empty states, time formatting, and the
//! browser's confirm and clipboard.

use crate::error::PanelError;
use leptos::prelude::*;
use leptos_meta::Title;

/// The message of `err` when it concerns `field` (`""`: errors about no particular field).
#[component]
pub fn FormError(
    #[prop(into)] err: Signal<Option<PanelError>>,
    field: &'static str,
) -> impl IntoView {
    let msg = move || {
        err.get().and_then(|e| match (&e.field, field) {
            (None, "") => Some(e.message),
            (Some(f), want) if f == want => Some(e.message),
            _ => None,
        })
    };
    view! {
        <Show when=move || msg().is_some()>
            <p class="form-error" role="alert">{msg}</p>
        </Show>
    }
}

/// A box that explains an empty list and what to do about it.
#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty-state">
            <h2>{title}</h2>
            {children()}
        </div>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <div class="auth-page">
            <div class="auth-card">
                <h1>"Page not found"</h1>
                <p class="muted">"There is nothing at this address."</p>
                <a class="btn" href="/" rel="external">"Go to the panel"</a>
            </div>
        </div>
    }
}

/// `2026-11-28 07:28 UTC` from Unix milliseconds.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Asks the person to confirm (the browser's dialog); always yes where there is no browser.
pub fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(message).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        true
    }
}

pub fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}
