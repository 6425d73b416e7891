//! The Delivery log (Developer Mode only).

use crate::ui::layout::DevModeGate;
use crate::ui::widgets::EmptyState;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    view! {
        <Title text="Delivery log" />
        <DevModeGate what="The Delivery log">
            <div class="page-head">
                <h1>"Delivery log"</h1>
            </div>
            <EmptyState title="No deliveries yet">
                <p>
                    "Every message bookhook sends to a webhook appears here: when, which webhook, which "
                    "booking transition, each attempt with its request and response, and whether it was "
                    "delivered, is being retried or failed."
                </p>
                <p>"Nothing has been sent for this app so far."</p>
            </EmptyState>
        </DevModeGate>
    }
}
