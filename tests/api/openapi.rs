//! The OpenAPI document: served without a key, valid for an independent validator, and the
//! same routes and methods as the router answers.

use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

async fn document(app: &TestApp) -> Value {
    let res = app.get("/v2/openapi.json").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.unwrap()
}

/// Runs a command, failing the test with its output (and how to install it) if it fails.
pub fn run(cmd: &mut Command, install: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} could not start ({e}); {install}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed ({install}):\n{text}");
    text
}

#[tokio::test]
async fn the_document_is_public_and_passes_an_independent_validator() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let said = run(
        Command::new("openapi-spec-validator")
            .arg("--schema")
            .arg("3.1")
            .arg(&file),
        "`pip install openapi-spec-validator` (.ci/tools test does)",
    );
    assert!(said.contains("OK"), "{said}");
}

/// Every route and method the router answers is documented, and every documented one is
/// answered: each path of `api::paths()` is called with each method, and a method that is not
/// routed answers 405.
#[tokio::test]
async fn the_document_and_the_router_have_the_same_routes() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let doc = document(&app).await;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                .map(move |m| (path.clone(), m.to_uppercase()))
        })
        .collect();

    let mut routed = BTreeSet::new();
    for path in bookhook::api::paths() {
        let concrete = path.replace("{id}", "x").replace("{action}", "confirm");
        for m in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let (status, _) = api
                .send(m.parse().unwrap(), &concrete, Some(serde_json::json!({})))
                .await;
            if status != 405 {
                routed.insert((format!("/v2{path}"), m.to_string()));
            }
        }
    }
    assert!(routed.len() >= 16, "{routed:?}");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented routes the server does not have: {unrouted:?}"
    );
}
