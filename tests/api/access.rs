//! Access, checked against what the server itself registers: every server function, every page
//! and every API route refuses anonymous callers, and no app's key reaches another app's data.
//! A route or server function added without being listed here fails these tests.

use crate::helpers::*;
use crate::pages::{PUBLIC_SERVER_FNS, SERVER_FNS};
use serde_json::json;
use std::collections::BTreeSet;

#[test]
fn every_registered_server_function_has_an_access_test() {
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    assert!(registered.len() > 30, "{registered:?}");
    let listed: BTreeSet<String> = SERVER_FNS
        .iter()
        .map(|(name, _)| *name)
        .chain(PUBLIC_SERVER_FNS.iter().copied())
        .chain(["save_webhook"])
        .map(String::from)
        .collect();
    let untested: Vec<_> = registered.difference(&listed).collect();
    assert!(
        untested.is_empty(),
        "server functions without an access test: {untested:?}"
    );
    let gone: Vec<_> = listed.difference(&registered).collect();
    assert!(gone.is_empty(), "listed but not registered: {gone:?}");
}

#[tokio::test]
async fn every_page_of_the_router_refuses_anonymous_visitors() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let anon = new_client();
    let routes = leptos_axum::generate_route_list(bookhook::ui::App);
    assert!(routes.len() >= 8, "{}", routes.len());
    for r in routes {
        // Parameters as leptos_axum hands them to axum (`{app}`), or as written (`:app`).
        let path = r
            .path()
            .split('/')
            .map(
                |seg| match seg.trim_start_matches([':', '{']).trim_end_matches('}') {
                    "app" => "demo",
                    "id" => "00000000-0000-0000-0000-000000000000",
                    "msg" => "msg_x",
                    "bin" => "x",
                    _ => seg,
                },
            )
            .collect::<Vec<_>>()
            .join("/");
        let res = anon.get(app.url(&path)).send().await.unwrap();
        match path.as_str() {
            "/login" => assert_eq!(res.status(), 200, "{path}"),
            "/setup" => assert_eq!(res.status(), 303, "{path}: setup is done"),
            _ => {
                assert_eq!(res.status(), 303, "{path}");
                assert_eq!(res.headers()["location"], "/login", "{path}");
            }
        }
    }
}

/// Fills a route's `{id}`-style segments.
fn concrete(path: &str, id: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{id}" => id,
            "{action}" => "confirm",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_api_route_refuses_anonymous_callers_and_other_apps_keys() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let mine = app.api_for("demo").await;
    let theirs = app.api_for("other").await;
    let (resource, booking, hook) = mine.one_of_each().await;
    let before = (
        app.count("bookings").await,
        app.count("booking_logs").await,
        app.count("webhooks").await,
        app.count("resources").await,
    );

    let anon = reqwest::Client::new();
    let methods = [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ];
    let mut routed = 0;
    for path in bookhook::api::paths() {
        if path == "/openapi.json" {
            // The API's description is public, as every webhook server's is.
            let res = anon
                .get(format!("{}/v2{path}", app.base))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{path}");
            continue;
        }
        let id = if path.starts_with("/webhooks") {
            &hook
        } else if path.starts_with("/resources") {
            &resource
        } else {
            &booking
        };
        let url = format!("{}/v2{}", app.base, concrete(path, id));
        for m in &methods {
            // Anonymous, and with a key that is not a key.
            for key in [None, Some("not-a-key")] {
                let mut req = anon.request(m.clone(), &url).json(&json!({}));
                if let Some(k) = key {
                    req = req.basic_auth("", Some(k));
                }
                let res = req.send().await.unwrap();
                if res.status() == 405 {
                    continue;
                }
                routed += 1;
                assert_eq!(res.status(), 401, "{m} {path} with {key:?}");
            }
            // Another app's key: the other app's data does not exist for it.
            if path.contains("{id}") {
                // A body the route would accept, so the answer is about the id alone.
                let body = match (m.as_str(), path) {
                    ("PUT", "/bookings/{id}") => json!({"meta": {"x": "y"}}),
                    ("PUT", "/webhooks/{id}") => json!({"url": "https://example.com/x",
                        "events": [{"graph": "instant", "state": "confirmed"}]}),
                    _ => json!({}),
                };
                let (status, body) = theirs
                    .send(m.clone(), &concrete(path, id), Some(body))
                    .await;
                if status != 405 {
                    assert_eq!(status, 404, "{m} {path} with another app's key: {body}");
                }
            }
        }
    }
    assert!(routed >= 2 * 13, "{routed} method/route pairs answered");
    // Lists show only the caller's own.
    for list in ["/bookings", "/webhooks", "/resources"] {
        let (s, body) = theirs.get(list).await;
        assert_eq!(s, 200);
        assert_eq!(body["data"].as_array().unwrap().len(), 0, "{list}: {body}");
    }
    let after = (
        app.count("bookings").await,
        app.count("booking_logs").await,
        app.count("webhooks").await,
        app.count("resources").await,
    );
    assert_eq!(before, after, "refused calls change nothing");
}

/// Walks the router's own table of routes outside the API and the pages: each must have a rule
/// here saying what an anonymous visitor gets, so a new route without one fails.
#[tokio::test]
async fn the_only_public_routes_are_health_metrics_login_and_inspector_bins() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let anon = new_client();
    // (route, a concrete path, what an anonymous visitor gets)
    let rules = [
        ("/", "/", 303),
        ("/healthz", "/healthz", 200),
        ("/readyz", "/readyz", 200),
        ("/metrics", "/metrics", 200),
        // Sign-in first, like every page under /apps.
        (
            "/apps/{app}/deliveries/live",
            "/apps/demo/deliveries/live",
            303,
        ),
        // A bin that does not exist: the inspector answers without saying more.
        (
            "/inspect/{token}",
            "/inspect/0123456789abcdef0123456789abcdef",
            404,
        ),
        (
            "/inspect/{token}/{*rest}",
            "/inspect/0123456789abcdef0123456789abcdef/a/b",
            404,
        ),
    ];
    let routes = bookhook::startup::paths();
    assert!(routes.len() >= 5, "{routes:?}");
    for route in &routes {
        let Some((_, path, status)) = rules.iter().find(|(r, _, _)| r == route) else {
            panic!("the route {route} has no access rule in this test");
        };
        let res = anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), *status, "{route} ({path})");
    }
    let gone: Vec<_> = rules
        .iter()
        .filter(|(r, _, _)| !routes.contains(r))
        .collect();
    assert!(
        gone.is_empty(),
        "rules for routes that do not exist: {gone:?}"
    );
    // The sign-in page is a page of the panel, open to all.
    let res = anon.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
