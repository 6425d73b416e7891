//! A typed client generated from the served OpenAPI document with openapi-python-client, used as
//! a developer would: create a resource, a webhook and a booking, confirm it, read its delivery.

use crate::helpers::*;
use crate::openapi::run;
use crate::receiver::Receiver;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn a_python_client_generated_from_the_document_drives_a_booking_to_its_delivery() {
    let (app, api) = spawn_app_for_receivers(true).await;
    let rx = Receiver::start().await;

    let work = tempfile::tempdir().unwrap();
    let doc = app.get("/v2/openapi.json").await.bytes().await.unwrap();
    std::fs::write(work.path().join("openapi.json"), &doc).unwrap();
    run(
        Command::new("openapi-python-client")
            .args(["generate", "--path", "openapi.json", "--meta", "none"])
            .args(["--output-path", "bookhook_client", "--overwrite"])
            .current_dir(work.path()),
        "`pip install openapi-python-client` (.ci/tools test does)",
    );
    let script = work.path().join("client_roundtrip.py");
    std::fs::write(&script, include_str!("client_roundtrip.py")).unwrap();
    let base = app.base.clone();
    let (key, receiver) = (api.key.clone(), rx.url("/client"));
    let cwd = work.path().to_path_buf();
    // The script waits for the delivery, so it runs off the server's runtime.
    let out = tokio::task::spawn_blocking(move || {
        run(
            Command::new("python3")
                .arg(&script)
                .args([&base, &key, &receiver])
                .current_dir(&cwd),
            "the generated client's dependencies come with openapi-python-client",
        )
    })
    .await
    .unwrap();
    let got: Value = serde_json::from_str(out.lines().last().unwrap_or("")).unwrap_or_else(|e| {
        panic!("the script printed no JSON ({e}):\n{out}");
    });
    assert_eq!(got["created_state"], "tentative", "{got}");
    assert_eq!(got["confirmed_state"], "confirmed", "{got}");
    assert_eq!(got["payload_id"], got["booking"], "{got}");
    assert_eq!(got["payload_state"], "confirmed", "{got}");
    assert_eq!(got["message_webhook"], got["webhook"], "{got}");
    assert_eq!(got["attempt_status"], 200, "{got}");
    let received = rx.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(
        received[0].header("webhook-id"),
        got["msg_id"].as_str(),
        "the receiver got the message the client read"
    );
}
