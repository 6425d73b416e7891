//! The Webhooks tab (Developer Mode only).

use crate::ui::layout::DevModeGate;
use crate::ui::widgets::EmptyState;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn WebhooksPage() -> impl IntoView {
    view! {
        <Title text="Webhooks" />
        <DevModeGate what="Webhooks">
            <div class="page-head">
                <h1>"Webhooks"</h1>
            </div>
            <EmptyState title="No webhooks yet">
                <p>
                    "A webhook is a URL of yours that bookhook calls each time a booking of this app "
                    <em>"transitions into"</em>
                    " a state you subscribe to, for example "
                    <code>"confirm_decline → confirmed"</code> " or " <code>"instant_payment → unpaid"</code>
                    ". The request is a signed JSON POST of the booking with its customers, event and calendar, "
                    "retried on failure and recorded attempt by attempt in the Delivery log."
                </p>
                <p>"This app has no webhooks."</p>
            </EmptyState>
        </DevModeGate>
    }
}
