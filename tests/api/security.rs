//! The browser's protections on every answer: each page's Content-Security-Policy names a fresh
//! nonce that every inline script carries, framing and sniffing are refused, authenticated
//! answers are never cached, HSTS is sent over https, and a bin shows a script body as text.

use crate::helpers::*;
use reqwest::header::HeaderMap;

/// The nonce a page's policy names; fails unless the policy is the strict one.
fn page_nonce(path: &str, h: &HeaderMap) -> String {
    let csp = h["content-security-policy"].to_str().unwrap();
    // RapiDoc's inline styles, on the API reference alone; never inline scripts.
    let style = if path.ends_with("/reference") {
        "style-src 'self' 'unsafe-inline';"
    } else {
        "style-src 'self';"
    };
    assert!(csp.contains(style), "{path}: {style} missing in {csp}");
    let csp = csp.replace(style, "");
    for directive in [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(
            csp.contains(directive),
            "{path}: {directive} missing in {csp}"
        );
    }
    assert!(
        !csp.contains("'unsafe-inline'") && !csp.contains(" 'unsafe-eval'"),
        "{path}: {csp}"
    );
    assert!(!csp.contains("http"), "{path}: no remote origin, got {csp}");
    let script = csp
        .split("; ")
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("{path}: no script-src in {csp}"));
    let nonce = script
        .split(' ')
        .find_map(|s| s.strip_prefix("'nonce-"))
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or_else(|| panic!("{path}: no nonce in {script}"));
    assert!(
        nonce.len() >= 22,
        "{path}: a nonce of 128 bits, got {nonce}"
    );
    nonce.to_string()
}

/// Headers every answer carries, whatever it is.
fn assert_common(path: &str, h: &HeaderMap) {
    assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(h["x-frame-options"], "DENY", "{path}");
    assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    assert!(
        h.get("strict-transport-security").is_none(),
        "{path}: no HSTS over http"
    );
}

/// Every `<script>` in the page is either a file of the site or carries the policy's nonce.
fn assert_scripts_carry(path: &str, html: &str, nonce: &str) {
    let mut inline = 0;
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap_or(tag.len())];
        if open.contains(" src=\"/") {
            continue;
        }
        inline += 1;
        assert!(
            open.contains(&format!("nonce=\"{nonce}\"")),
            "{path}: an inline script without this response's nonce: <script{open}>"
        );
    }
    assert!(
        inline > 0,
        "{path}: the hydration script is inline and must be found"
    );
}

#[tokio::test]
async fn every_page_has_a_strict_policy_whose_nonce_its_scripts_carry() {
    let app = spawn_app().await;

    // Signed out: the first-run page.
    let res = app.get("/setup").await;
    let h = res.headers().clone();
    assert_common("/setup", &h);
    let nonce = page_nonce("/setup", &h);
    assert_scripts_carry("/setup", &res.text().await.unwrap(), &nonce);

    app.setup_admin().await;
    app.call_ok("set_developer_mode", &[("on", "true")]).await;
    let bin = app
        .call_ok("create_bin", &[("app", "demo"), ("name", "headers")])
        .await;
    let bin = bin.as_str().unwrap();
    let mut nonces = std::collections::HashSet::new();
    for path in [
        "/apps/demo/bookings".to_string(),
        "/apps/demo/bookings?new".to_string(),
        "/apps/demo/webhooks".to_string(),
        "/apps/demo/webhooks/new".to_string(),
        "/apps/demo/deliveries".to_string(),
        "/apps/demo/inspector".to_string(),
        format!("/apps/demo/inspector/{bin}"),
        "/apps/demo/reference".to_string(),
        "/apps/demo/settings".to_string(),
        "/no/such/page".to_string(),
    ] {
        let res = app.get(&path).await;
        let h = res.headers().clone();
        assert_common(&path, &h);
        assert_eq!(h["cache-control"], "no-store", "{path}");
        let nonce = page_nonce(&path, &h);
        assert_scripts_carry(&path, &res.text().await.unwrap(), &nonce);
        assert!(nonces.insert(nonce), "{path}: a nonce is never reused");
    }
}

#[tokio::test]
async fn api_answers_are_not_sniffed_cached_or_run() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let client = reqwest::Client::new();
    let none = "default-src 'none'; frame-ancestors 'none'";

    let ok = client
        .get(format!("{}/v2/bookings", api.base))
        .basic_auth("", Some(&api.key))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let bad_key = client
        .get(format!("{}/v2/bookings", api.base))
        .basic_auth("", Some("bk_test_wrong"))
        .send()
        .await
        .unwrap();
    let server_fn = app.call("list_bins", &[("app", "demo")]).await;
    for (what, res) in [
        ("API 200", ok),
        ("API 401", bad_key),
        ("server function", server_fn),
    ] {
        let h = res.headers();
        assert_common(what, h);
        assert_eq!(h["cache-control"], "no-store", "{what}");
        assert_eq!(h["content-security-policy"], none, "{what}");
    }
}

#[tokio::test]
async fn an_https_public_url_sends_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = test_settings(dir.path());
    s.public_url = "https://hooks.example.com".into();
    let app = spawn_app_with(s, dir).await;
    for path in ["/setup", "/healthz", "/v2/bookings"] {
        let res = app.get(path).await;
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_bin_shows_a_script_body_as_text() {
    let app = spawn_app().await;
    app.setup_admin().await;
    app.call_ok("set_developer_mode", &[("on", "true")]).await;
    let bin = app
        .call_ok("create_bin", &[("app", "demo"), ("name", "hostile")])
        .await;
    let bin = bin.as_str().unwrap();
    let body = r#"</script><script>alert("bin")</script><img src=x onerror=alert(1)>"#;
    let res = reqwest::Client::new()
        .post(app.url(&format!("/inspect/{bin}")))
        .header("content-type", "text/html")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");

    let html = app
        .get(&format!("/apps/demo/inspector/{bin}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#">&lt;/script&gt;&lt;script&gt;alert("bin")&lt;/script&gt;&lt;img"#),
        "the body is shown as escaped text"
    );
    // Nor inside the page's serialized data, where `<` is written `\u003c`.
    assert!(!html.contains(r#"<script>alert("bin")"#), "never as markup");
    assert!(!html.contains("<img src=x"), "never as markup");
}
