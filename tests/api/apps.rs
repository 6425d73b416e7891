//! Apps and their API keys.

use crate::helpers::*;

#[tokio::test]
async fn an_api_key_is_shown_once_stored_hashed_and_revocable() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let created = app
        .call_ok(
            "create_api_key",
            &[("app", "demo"), ("mode", "test"), ("label", "ci")],
        )
        .await;
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("test_api_key_"), "{key}");

    let stored: Vec<String> = sqlx::query_scalar("SELECT key_hash || key_hint FROM api_keys")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains(&key[13..]),
        "the key must not be stored in clear"
    );

    let list = app.call_ok("list_api_keys", &[("app", "demo")]).await;
    let listed = serde_json::to_string(&list).unwrap();
    assert!(
        !listed.contains(&key),
        "the list must never show the whole key"
    );
    assert_eq!(list[0]["label"], "ci");
    assert_eq!(list[0]["hint"], &key[key.len() - 4..]);
    assert!(list[0]["revoked_at"].is_null());

    let id = list[0]["id"].to_string();
    app.call_ok("revoke_api_key", &[("app", "demo"), ("id", &id)])
        .await;
    let list = app.call_ok("list_api_keys", &[("app", "demo")]).await;
    assert!(list[0]["revoked_at"].is_i64());
    let (status, _) = error_of(
        app.call("revoke_api_key", &[("app", "demo"), ("id", &id)])
            .await,
    )
    .await;
    assert_eq!(status, 404, "revoking twice is refused");

    let live = app
        .call_ok(
            "create_api_key",
            &[("app", "demo"), ("mode", "live"), ("label", "")],
        )
        .await;
    assert!(live["key"].as_str().unwrap().starts_with("live_api_key_"));
    let (status, body) = error_of(
        app.call(
            "create_api_key",
            &[("app", "demo"), ("mode", "prod"), ("label", "")],
        )
        .await,
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("mode")));
}

#[tokio::test]
async fn another_apps_key_cannot_be_revoked_through_this_app() {
    let app = spawn_app().await;
    app.setup_admin().await;
    app.call_ok("create_app", &[("name", "Yoga Studio"), ("slug", "")])
        .await;
    app.call_ok(
        "create_api_key",
        &[("app", "yoga-studio"), ("mode", "test"), ("label", "")],
    )
    .await;
    let list = app
        .call_ok("list_api_keys", &[("app", "yoga-studio")])
        .await;
    let id = list[0]["id"].to_string();
    let (status, _) = error_of(
        app.call("revoke_api_key", &[("app", "demo"), ("id", &id)])
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let list = app
        .call_ok("list_api_keys", &[("app", "yoga-studio")])
        .await;
    assert!(list[0]["revoked_at"].is_null());
}

#[tokio::test]
async fn apps_are_created_renamed_and_deleted() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let path = app
        .call_ok(
            "create_app",
            &[("name", "Hair & Beauty"), ("slug", "salon")],
        )
        .await;
    assert_eq!(path, "/apps/salon/settings");
    let (status, body) = error_of(
        app.call("create_app", &[("name", "Again"), ("slug", "salon")])
            .await,
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (409, Some("slug")));
    let (status, body) = error_of(
        app.call("create_app", &[("name", "Bad"), ("slug", "Not A Slug")])
            .await,
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("slug")));

    app.call_ok("rename_app", &[("app", "salon"), ("name", "Salon")])
        .await;
    let ctx = app.call_ok("panel_context", &[("app", "salon")]).await;
    assert_eq!(ctx["current"]["name"], "Salon");
    assert_eq!(ctx["apps"].as_array().unwrap().len(), 2);

    let (status, body) = error_of(
        app.call("delete_app", &[("app", "salon"), ("confirm", "demo")])
            .await,
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (400, Some("confirm")));
    app.call_ok("delete_app", &[("app", "salon"), ("confirm", "salon")])
        .await;
    let (status, _) = error_of(app.call("panel_context", &[("app", "salon")]).await).await;
    assert_eq!(status, 404, "a deleted app is refused cleanly");
    let (status, _) = error_of(app.call("list_api_keys", &[("app", "salon")]).await).await;
    assert_eq!(status, 404);
    let (status, _) = error_of(
        app.call("delete_app", &[("app", "demo"), ("confirm", "demo")])
            .await,
    )
    .await;
    assert_eq!(status, 409, "the last app stays");
}

#[tokio::test]
async fn a_key_in_use_shows_when_it_was_last_used() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    assert_eq!(api.get("/bookings").await.0, 200);
    let mut last_used = serde_json::Value::Null;
    for _ in 0..50 {
        last_used =
            app.call_ok("list_api_keys", &[("app", "demo")]).await[0]["last_used_at"].clone();
        if last_used.is_i64() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(last_used.is_i64(), "last_used_at was not recorded");
}
