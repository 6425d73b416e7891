// A bookhook webhook receiver in Rust (src/main.rs), with these in Cargo.toml:
// [dependencies]
// axum = "0.8"
// tokio = { version = "1", features = ["rt-multi-thread", "macros", "net"] }
// standardwebhooks = "1"
// hmac = "0.12"
// sha2 = "0.10"
// hex = "0.4"
// serde_json = "1"
// Run it with: PORT=8000 cargo run
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use standardwebhooks::Webhook;

const SECRET: &str = "{{SECRET}}";

/// Timekit's x-timekit-signature: hex HMAC-SHA256 of the raw body, keyed with the whole secret.
fn timekit_signature_ok(body: &[u8], headers: &HeaderMap) -> bool {
    let Some(given) = headers
        .get("x-timekit-signature")
        .and_then(|v| hex::decode(v.as_bytes()).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

async fn receive(headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let webhook = Webhook::new(SECRET).expect("a whsec_ secret");
    // Checks webhook-signature over webhook-id, webhook-timestamp (at most 5 minutes old) and
    // the raw body.
    if webhook.verify(&body, &headers).is_err() {
        return (StatusCode::BAD_REQUEST, "invalid webhook-signature");
    }
    if !timekit_signature_ok(&body, &headers) {
        return (StatusCode::BAD_REQUEST, "invalid x-timekit-signature");
    }
    let Ok(booking) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON");
    };
    // webhook-id is the same on every retry of a message: handle each id once.
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    println!("{id}: booking {} is {}", booking["id"], booking["state"]);
    (StatusCode::NO_CONTENT, "")
}

#[tokio::main]
async fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    let listener = tokio::net::TcpListener::bind(format!("0.0.0.0:{port}")).await.unwrap();
    let app = Router::new().route("/webhooks/bookhook", post(receive));
    axum::serve(listener, app).await.unwrap();
}
