//! The OpenAPI 3.1 document of `/v2`, generated from the handlers' annotations and the wire
//! types, with the webhooks bookhook sends: served at `GET /v2/openapi.json`.

use super::{bookings, deliveries, webhooks, ErrorBody};
use crate::domain::booking::{
    BookingOut, BookingSettings, CalendarOut, CustomerOut, EventOut, LogOut, Related, ResourceOut,
};
use crate::domain::graph::Graph;
use crate::domain::payload::PayloadFormat;
use crate::domain::subscription::{EventRef, LastDelivery, SecretOut, WebhookOut};
use std::sync::OnceLock;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OneOfBuilder, PathItem, Ref, Required, ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "bookhook API",
        description = "Bookings that move through Timekit's graphs, and the webhooks they cause. \
            Authenticate with HTTP Basic: an empty user name and an app's API key as the password.",
        license(name = "MIT", identifier = "MIT"),
    ),
    paths(
        openapi_json,
        bookings::list_resources,
        bookings::create_resource,
        bookings::list_bookings,
        bookings::create_booking,
        bookings::get_booking,
        bookings::update_booking,
        bookings::delete_booking,
        bookings::apply_action,
        webhooks::list_webhooks,
        webhooks::create_webhook,
        webhooks::get_webhook,
        webhooks::update_webhook,
        webhooks::delete_webhook,
        webhooks::get_secret,
        webhooks::rotate_secret,
        deliveries::list_deliveries,
        deliveries::get_delivery,
    ),
    components(schemas(
        BookingOut, BookingSettings, Related, CustomerOut, EventOut, CalendarOut, LogOut,
        ResourceOut, WebhookOut, EventRef, LastDelivery, SecretOut, PayloadFormat, ErrorBody,
        crate::domain::payload::TimekitBooking,
    )),
    modifiers(&BasicAuth, &Webhooks),
    tags(
        (name = "resources", description = "The people, rooms and classes that are booked"),
        (name = "bookings", description = "Bookings and the actions that move them between states"),
        (name = "webhooks", description = "Where bookhook POSTs a booking when it enters a state"),
        (name = "deliveries", description = "The delivery log: each message and its attempts"),
        (name = "meta", description = "This document"),
    ),
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    })
}

/// `GET /v2/openapi.json`: the document, without authentication.
#[utoipa::path(
    get,
    path = "/v2/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")),
)]
pub async fn openapi_json() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document(),
    )
}

/// HTTP Basic, as every route but this document requires it.
struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "app_key",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Basic)
                        .description(Some(
                            "An empty user name and one of the app's API keys as the password.",
                        ))
                        .build(),
                ),
            );
        doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "app_key",
            Vec::<String>::new(),
        )]);
    }
}

/// The deliveries bookhook makes, one webhook per graph: a booking of that graph has entered a
/// state a webhook subscribes to. The body is in the webhook's payload format.
struct Webhooks;

/// The headers every delivery carries, and what they are for.
const DELIVERY_HEADERS: [(&str, &str); 5] = [
    (
        "webhook-id",
        "The message id (msg_…), the same on every retry: deduplicate with it.",
    ),
    (
        "webhook-timestamp",
        "Unix seconds when this attempt was signed; refuse old ones (Standard Webhooks allows 5 minutes).",
    ),
    (
        "webhook-signature",
        "Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, keyed with the base64-decoded part of the whsec_ secret; two during a rotation.",
    ),
    (
        "x-timekit-signature",
        "Timekit's: hex HMAC-SHA256 of the raw body, keyed with the whole whsec_… string.",
    ),
    ("user-agent", "bookhook/<version>"),
];

impl Modify for Webhooks {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let body: utoipa::openapi::Schema = OneOfBuilder::new()
            .item(Ref::from_schema_name("BookingOut"))
            .item(Ref::from_schema_name("TimekitBooking"))
            .description(Some(
                "The booking with its customers, event and calendar: `BookingOut` for webhooks \
                 whose payload_format is bookhook, `TimekitBooking` for timekit.",
            ))
            .build()
            .into();
        let hooks = doc.webhooks.get_or_insert_with(Default::default);
        for graph in Graph::ALL {
            let states = graph
                .states()
                .iter()
                .map(|s| format!("`{}`", s.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            let mut op = OperationBuilder::new()
                .operation_id(Some(format!("booking_{}", graph.as_str())))
                .tags(Some(vec!["webhooks".to_string()]))
                .summary(Some(format!(
                    "A {} booking entered a state",
                    graph.as_str()
                )))
                .description(Some(format!(
                    "Sent to each enabled webhook subscribed to this graph and the state the \
                     booking has entered (one of {states}). Answer 2xx within the timeout; \
                     anything else is retried with backoff. Verify the signature before trusting \
                     the body."
                )))
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .content(
                            "application/json",
                            ContentBuilder::new().schema(Some(body.clone())).build(),
                        )
                        .required(Some(Required::True))
                        .build(),
                ))
                .response(
                    "2XX",
                    ResponseBuilder::new()
                        .description("Received; bookhook records the delivery as made.")
                        .build(),
                )
                .response(
                    "410",
                    ResponseBuilder::new()
                        .description("Gone: bookhook disables the webhook and stops sending.")
                        .build(),
                );
            for (name, description) in DELIVERY_HEADERS {
                op = op.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Header)
                        .required(Required::True)
                        .description(Some(description))
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
                );
            }
            hooks.paths.insert(
                format!("booking.{}", graph.as_str()),
                PathItem::new(HttpMethod::Post, op.build()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_a_webhook_per_graph() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["webhooks"].as_object().unwrap().len(), Graph::ALL.len());
        assert_eq!(
            doc["components"]["securitySchemes"]["app_key"]["scheme"],
            "basic"
        );
        assert_eq!(
            doc["paths"]["/v2/openapi.json"]["get"]["security"],
            serde_json::json!([{}])
        );
    }
}
