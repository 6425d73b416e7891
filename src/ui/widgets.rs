//! Small pieces shared by the pages: form errors, empty states, times (in a resource's zone, or
//! in the browser's zone with a remembered switch to UTC), and the browser's confirm and clipboard.

use crate::domain::zone::{utc_text, ZonedTime};
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

/// The badge of a message's status as the delivery log shows it.
pub fn delivery_badge(status: &str) -> &'static str {
    match status {
        "delivered" => "badge ok",
        "failed" => "badge danger",
        "retrying" => "badge warn",
        "held" => "badge muted",
        _ => "badge accent",
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

/// How the panel shows when things happened: in the browser's time zone (named), or in UTC when
/// the person chose so (remembered in the browser). The server knows neither, so the page is
/// rendered in UTC and switches to the browser's zone once hydrated.
#[derive(Clone, Copy)]
pub struct Clock {
    zone: RwSignal<Option<String>>,
    utc: RwSignal<bool>,
}

#[cfg(feature = "hydrate")]
const CLOCK_KEY: &str = "bookhook.times";

impl Clock {
    /// Provides the clock to the whole panel; in the browser, reads its zone and the choice.
    pub fn provide() {
        let clock = Clock {
            zone: RwSignal::new(None),
            utc: RwSignal::new(false),
        };
        provide_context(clock);
        #[cfg(feature = "hydrate")]
        Effect::new(move |_| {
            clock.zone.set(browser::zone());
            clock
                .utc
                .set(browser::stored(CLOCK_KEY).as_deref() == Some("utc"));
        });
    }

    /// The zone times are shown in: the browser's, or `None` for UTC.
    fn shown_zone(self) -> Option<String> {
        if self.utc.get() {
            None
        } else {
            self.zone.get()
        }
    }

    /// The browser's zone, once the page runs in a browser.
    pub fn browser_zone(self) -> Option<String> {
        self.zone.get()
    }

    fn set_utc(self, utc: bool) {
        self.utc.set(utc);
        #[cfg(feature = "hydrate")]
        browser::store(CLOCK_KEY, if utc { "utc" } else { "local" });
    }
}

/// When something happened (Unix milliseconds): `2026-11-28 08:28 Europe/Copenhagen` in the
/// browser's zone, or in UTC; the UTC time on hover.
#[component]
pub fn When(ms: i64) -> impl IntoView {
    let clock = use_context::<Clock>();
    let text = move || match clock.and_then(Clock::shown_zone) {
        Some(zone) => format!("{} {zone}", browser::wall_clock(ms)),
        None => utc_text(ms),
    };
    view! { <time datetime=crate::domain::booking::rfc3339(ms) title=utc_text(ms)>{text}</time> }
}

/// A booking time on its resource's wall clock, the zone named, the UTC time on hover.
#[component]
pub fn ZonedWhen(t: ZonedTime) -> impl IntoView {
    view! {
        <time datetime=t.iso title=t.utc>
            {t.local} " " <span class="zone">{t.zone}</span>
        </time>
    }
}

/// Switches the times of the page between the browser's zone and UTC (remembered).
#[component]
pub fn ClockSwitch() -> impl IntoView {
    let clock = expect_context::<Clock>();
    let zone = move || clock.zone.get().unwrap_or_else(|| "UTC".into());
    view! {
        <div class="clock-switch">
            <span class="muted" data-testid="times-in">
                {move || format!("Times in {}", clock.shown_zone().unwrap_or_else(|| "UTC".into()))}
            </span>
            <button type="button" class="btn small" aria-pressed=move || clock.utc.get().to_string()
                title=move || format!("Show times in UTC instead of {}", zone())
                on:click=move |_| clock.set_utc(!clock.utc.get_untracked())>
                "Show times in UTC"
            </button>
        </div>
    }
}

/// The browser's side of the clock: its zone, its wall clock, and what it remembers.
#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsValue;

    /// The browser's IANA zone, e.g. `Europe/Copenhagen`.
    pub fn zone() -> Option<String> {
        let f = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
        js_sys::Reflect::get(&f.resolved_options(), &JsValue::from_str("timeZone"))
            .ok()
            .and_then(|v| v.as_string())
    }

    /// `2026-11-28 08:28`: `ms` on the browser's wall clock (its offset at that instant).
    pub fn wall_clock(ms: i64) -> String {
        let minutes_west = js_sys::Date::new(&JsValue::from_f64(ms as f64)).get_timezone_offset();
        let local = ms - (minutes_west as i64) * 60_000;
        chrono::DateTime::from_timestamp_millis(local)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    pub fn stored(key: &str) -> Option<String> {
        storage()?.get_item(key).ok()?
    }

    pub fn store(key: &str, value: &str) {
        if let Some(s) = storage() {
            let _ = s.set_item(key, value);
        }
    }
}

/// Where there is no browser, there is no browser zone: times stay in UTC.
#[cfg(not(feature = "hydrate"))]
mod browser {
    pub fn wall_clock(ms: i64) -> String {
        super::utc_text(ms)
    }
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

/// `?k=v&…` for a link that keeps a page's filters: the pairs that have a value, each
/// percent-encoded as a GET form would send it.
pub fn query_href(pairs: &[(&str, String)]) -> String {
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".into(),
                b => format!("%{b:02X}"),
            })
            .collect()
    }
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_filter_link_encodes_what_a_form_would() {
        let href = super::query_href(&[
            ("q", "ada+1@example.com".into()),
            ("graph", String::new()),
            ("q2", "Grace Hopper & co".into()),
        ]);
        assert_eq!(href, "?q=ada%2B1%40example.com&q2=Grace+Hopper+%26+co");
        assert_eq!(super::query_href(&[]), "?");
    }
}
