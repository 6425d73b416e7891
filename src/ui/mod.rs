//! The admin panel: the HTML shell, the routes and the pages, each page's server functions
//! beside it.

pub mod auth;
pub mod bookings;
pub mod deliveries;
#[cfg(feature = "ssr")]
pub mod guard;
pub mod inspector;
pub mod layout;
pub mod live;
pub mod reference;
pub mod settings;
pub mod snippets;
pub mod webhooks;
pub mod widgets;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    widgets::Clock::provide();
    view! {
        <Stylesheet id="leptos" href="/pkg/bookhook.css" />
        <Title formatter=|t: String| if t.is_empty() { "bookhook".to_string() } else { format!("{t} · bookhook") } />
        // Pages are sent whole, once their data is read (SsrMode::Async), not streamed with
        // placeholders that only JavaScript fills in: the panel's forms work without JavaScript.
        <Router>
            <Routes fallback=|| view! { <widgets::NotFound /> }>
                <Route path=path!("/setup") ssr=SsrMode::Async view=auth::SetupPage />
                <Route path=path!("/login") ssr=SsrMode::Async view=auth::LoginPage />
                <ParentRoute path=path!("/apps/:app") ssr=SsrMode::Async view=layout::PanelLayout>
                    <Route path=path!("bookings") ssr=SsrMode::Async view=bookings::BookingsPage />
                    <Route path=path!("bookings/:id") ssr=SsrMode::Async view=bookings::BookingPage />
                    <Route path=path!("webhooks") ssr=SsrMode::Async view=webhooks::WebhooksPage />
                    <Route path=path!("webhooks/new") ssr=SsrMode::Async view=webhooks::NewWebhookPage />
                    <Route path=path!("webhooks/:id") ssr=SsrMode::Async view=webhooks::WebhookPage />
                    <Route path=path!("deliveries") ssr=SsrMode::Async view=deliveries::DeliveriesPage />
                    <Route path=path!("deliveries/:msg") ssr=SsrMode::Async view=deliveries::MessagePage />
                    <Route path=path!("inspector") ssr=SsrMode::Async view=inspector::InspectorPage />
                    <Route path=path!("inspector/:bin") ssr=SsrMode::Async view=inspector::BinPage />
                    <Route path=path!("reference") ssr=SsrMode::Async view=reference::ReferencePage />
                    <Route path=path!("settings") ssr=SsrMode::Async view=settings::SettingsPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
