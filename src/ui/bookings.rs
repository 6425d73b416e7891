//! The Bookings page.

use crate::ui::layout::use_app_slug;
use crate::ui::widgets::EmptyState;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn BookingsPage() -> impl IntoView {
    let slug = use_app_slug();
    view! {
        <Title text="Bookings" />
        <div class="page-head">
            <h1>"Bookings"</h1>
        </div>
        <EmptyState title="No bookings yet">
            <p>
                "Bookings move through the states of their graph (instant, confirm_decline, instant_payment, "
                "group_owner, group_customer, group_customer_payment). Each transition into a state that a "
                "webhook subscribes to sends that webhook a signed POST."
            </p>
            <p>
                "Bookings are created through the API with one of this app's keys. Create a key on the "
                <a href=move || format!("/apps/{}/settings#api-keys", slug.get())>"Settings"</a>
                " page to start."
            </p>
        </EmptyState>
    }
}
