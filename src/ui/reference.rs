//! The API reference page (Developer Mode): the OpenAPI document rendered by RapiDoc, which the
//! site ships (public/reference/), so it works offline.

use crate::ui::layout::DevModeGate;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ReferencePage() -> impl IntoView {
    view! {
        <Title text="API reference" />
        <DevModeGate what="The API reference">
            <div class="page-head">
                <h1>"API reference"</h1>
                <a class="btn" href="/v2/openapi.json" download="bookhook-openapi.json">"Download openapi.json"</a>
            </div>
            <p class="muted">
                "Every /v2 route and the webhooks bookhook sends, from the OpenAPI 3.1 document the "
                "server generates from its code. Authenticate with HTTP Basic: an empty user name and "
                "an API key from Settings as the password."
            </p>
            <div class="card reference" data-testid="reference">
                <rapi-doc
                    spec-url="/v2/openapi.json"
                    load-fonts="false"
                    render-style="view"
                    show-header="false"
                    theme="light"
                    primary-color="#4f46e5"
                    allow-spec-url-load="false"
                    allow-spec-file-load="false"
                    schema-description-expanded="true"
                ></rapi-doc>
            </div>
            <script type="module" src="/reference/rapidoc-min.js"></script>
        </DevModeGate>
    }
}
