//! Pages, health checks and what anonymous callers get.

use crate::helpers::*;

pub const PANEL_PAGES: &[&str] = &[
    "/apps/demo/bookings",
    "/apps/demo/webhooks",
    "/apps/demo/deliveries",
    "/apps/demo/settings",
    "/apps/demo/bookings/00000000-0000-0000-0000-000000000000",
];

/// Every panel server function with arguments of the right shape.
pub const SERVER_FNS: &[(&str, &[(&str, &str)])] = &[
    ("panel_context", &[("app", "demo")]),
    ("set_developer_mode", &[("on", "true")]),
    ("list_api_keys", &[("app", "demo")]),
    (
        "create_api_key",
        &[("app", "demo"), ("mode", "test"), ("label", "x")],
    ),
    ("revoke_api_key", &[("app", "demo"), ("id", "1")]),
    ("create_app", &[("name", "X"), ("slug", "xx")]),
    ("rename_app", &[("app", "demo"), ("name", "X")]),
    ("delete_app", &[("app", "demo"), ("confirm", "demo")]),
    (
        "list_bookings",
        &[
            ("app", "demo"),
            ("q", ""),
            ("resource", ""),
            ("from", ""),
            ("to", ""),
            ("graph", ""),
            ("state", ""),
            ("before", ""),
        ],
    ),
    ("list_resources", &[("app", "demo")]),
    ("time_zones", &[]),
    (
        "create_resource",
        &[("app", "demo"), ("name", "Room"), ("timezone", "")],
    ),
    (
        "create_booking",
        &[
            ("app", "demo"),
            ("resource_id", "x"),
            ("graph", "instant"),
            ("start", "2030-01-10T10:00"),
            ("end", "2030-01-10T11:00"),
            ("what", "x"),
        ],
    ),
    ("get_booking", &[("app", "demo"), ("id", "x")]),
    (
        "apply_booking_action",
        &[("app", "demo"), ("id", "x"), ("action", "confirm")],
    ),
    ("list_webhooks", &[("app", "demo")]),
    ("get_webhook", &[("app", "demo"), ("id", "x")]),
    (
        "save_webhook_form",
        &[
            ("app", "demo"),
            ("url", "https://example.com/hook"),
            ("payload_format", "bookhook"),
            ("events[]", "instant:confirmed"),
        ],
    ),
    ("delete_webhook", &[("app", "demo"), ("id", "x")]),
    ("reveal_webhook_secret", &[("app", "demo"), ("id", "x")]),
    ("rotate_webhook_secret", &[("app", "demo"), ("id", "x")]),
    ("reenable_webhook", &[("app", "demo"), ("id", "x")]),
    (
        "replay_failed",
        &[("app", "demo"), ("id", "x"), ("since", "2020-01-01T00:00")],
    ),
    (
        "send_test_event",
        &[
            ("app", "demo"),
            ("id", "x"),
            ("graph", "instant"),
            ("state", "confirmed"),
        ],
    ),
    ("webhook_health", &[("app", "demo"), ("id", "x")]),
    (
        "list_messages",
        &[
            ("app", "demo"),
            ("filter[webhook]", ""),
            ("filter[status]", ""),
            ("filter[graph]", ""),
            ("filter[state]", ""),
            ("filter[booking]", ""),
            ("filter[from]", "0"),
            ("filter[to]", "0"),
            ("filter[text]", ""),
        ],
    ),
    ("get_message", &[("app", "demo"), ("msg_id", "msg_x")]),
    ("redeliver", &[("app", "demo"), ("msg_id", "msg_x")]),
    ("list_bins", &[("app", "demo")]),
    ("create_bin", &[("app", "demo"), ("name", "x")]),
    ("get_bin", &[("app", "demo"), ("bin", "x")]),
    ("delete_bin", &[("app", "demo"), ("bin", "x")]),
    ("webhook_for_bin", &[("app", "demo"), ("bin", "x")]),
];

/// Server functions anyone may call: they are how one becomes signed in (or stops being).
pub const PUBLIC_SERVER_FNS: &[&str] = &["create_first_admin", "sign_in", "sign_out"];

/// `save_webhook` takes JSON (its subscriptions are a list).
fn save_webhook_body(app: &str) -> serde_json::Value {
    serde_json::json!({"app": app, "id": "", "fields": {"name": "x", "description": "", "url": "https://example.com/",
        "enabled": true, "events": [{"graph": "instant", "state": "confirmed"}], "payload_format": "bookhook"}})
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
}

#[tokio::test]
async fn before_setup_every_page_leads_to_setup() {
    let app = spawn_app().await;
    for path in ["/", "/login"].iter().chain(PANEL_PAGES) {
        let res = app.get(path).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/setup", "{path}");
    }
    let res = app.get("/setup").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Create the first admin account"));
}

#[tokio::test]
async fn anonymous_callers_get_no_page_and_no_server_function() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let anon = new_client();
    for path in PANEL_PAGES.iter().chain(&["/", "/setup"]) {
        let res = anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/login", "{path}");
    }
    for (endpoint, args) in SERVER_FNS {
        let (status, body) = error_of(app.call_with(&anon, endpoint, args).await).await;
        assert_eq!(status, 401, "{endpoint}: {body}");
    }
    let res = anon
        .post(app.url("/api/save_webhook"))
        .json(&save_webhook_body("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(app.count("api_keys").await, 0);
    assert_eq!(app.count("resources").await, 0);
    assert_eq!(app.count("webhooks").await, 0);
    assert_eq!(app.count("bins").await, 0);
    assert_eq!(app.count("apps").await, 1);
}

#[tokio::test]
async fn signed_in_callers_get_404_for_an_app_that_does_not_exist() {
    let app = spawn_app().await;
    app.setup_admin().await;
    for (endpoint, args) in SERVER_FNS {
        if args.first().map(|a| a.0) != Some("app") {
            continue;
        }
        let args: Vec<(&str, &str)> = args
            .iter()
            .map(|&(k, v)| {
                if k == "app" {
                    (k, "no-such-app")
                } else {
                    (k, v)
                }
            })
            .collect();
        let (status, body) = error_of(app.call(endpoint, &args).await).await;
        assert_eq!(status, 404, "{endpoint}: {body}");
    }
    let res = app
        .client
        .post(app.url("/api/save_webhook"))
        .json(&save_webhook_body("no-such-app"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn the_panel_saves_a_webhook_with_the_apis_checks() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let res = app
        .client
        .post(app.url("/api/save_webhook"))
        .json(&save_webhook_body("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut bad = save_webhook_body("demo");
    bad["fields"]["url"] = serde_json::json!("http://169.254.169.254/");
    let (status, body) = error_of(
        app.client
            .post(app.url("/api/save_webhook"))
            .json(&bad)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("url")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("cloud metadata"),
        "{body}"
    );
    assert_eq!(app.count("webhooks").await, 1);
}

#[tokio::test]
async fn signed_in_pages_render_on_the_server() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/apps/demo/bookings");
    let html = app.get("/apps/demo/bookings").await.text().await.unwrap();
    assert!(html.contains(EMAIL), "the profile menu shows the account");
    assert!(html.contains("Bookings") && html.contains("Settings"));
    assert!(
        !html.contains(r#"href="/apps/demo/webhooks""#),
        "Developer Mode is off: no Webhooks tab"
    );
    assert!(!html.contains(r#"href="/apps/demo/deliveries""#));
    let html = app.get("/apps/demo/webhooks").await.text().await.unwrap();
    assert!(html.contains("Developer Mode is off"));

    app.call_ok("set_developer_mode", &[("on", "true")]).await;
    let html = app.get("/apps/demo/bookings").await.text().await.unwrap();
    assert!(html.contains(r#"href="/apps/demo/webhooks""#));
    assert!(html.contains(r#"href="/apps/demo/deliveries""#));
    let html = app.get("/apps/demo/webhooks").await.text().await.unwrap();
    assert!(html.contains("No webhooks yet"));
    let html = app.get("/apps/demo/deliveries").await.text().await.unwrap();
    assert!(html.contains("No deliveries yet"));
}
