//! Hostile and broken clients: oversized bodies and headers, slow-loris connections, invalid
//! bytes, deep JSON, and 10,000 generated malformed requests. Each gets a 4xx (or its
//! connection closed), never a 500, and a refused request changes nothing.

use crate::helpers::*;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn counts(app: &TestApp) -> Vec<i64> {
    let mut v = vec![];
    for t in [
        "apps",
        "api_keys",
        "resources",
        "bookings",
        "booking_logs",
        "customers",
        "webhooks",
        "deliveries",
        "users",
    ] {
        v.push(app.count(t).await);
    }
    v
}

#[tokio::test]
async fn oversized_bodies_and_headers_are_refused_before_they_are_read() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let c = reqwest::Client::new();
    let big = vec![b'x'; 3 * 1024 * 1024];
    for path in [
        "/v2/bookings",
        "/api/sign_in",
        "/api/create_app",
        "/inspect/x",
    ] {
        let res = c
            .post(app.url(path))
            .basic_auth("", Some(&api.key))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await;
        // 413, or the connection closed while the client was still sending.
        if let Ok(r) = res {
            assert_eq!(r.status(), 413, "{path}");
        }
    }
    let res = c
        .get(app.url("/healthz"))
        .header("x-junk", "a".repeat(100 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 431);
    let mut many = c.get(app.url("/healthz"));
    for i in 0..200 {
        many = many.header(format!("x-h{i}"), "1");
    }
    let status = many.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
    assert!(status == 431 || status == 0, "{status}");
    // The server is fine afterwards.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_slow_loris_client_is_cut_off_after_the_header_timeout() {
    let app = spawn_app().await; // header_read_timeout_secs: 2 in the test settings
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    sock.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    // Trickle a header byte every half second; the server must not wait for ever.
    let mut buf = vec![0u8; 1024];
    let closed = loop {
        if start.elapsed() > Duration::from_secs(10) {
            break false;
        }
        if sock.write_all(b"X").await.is_err() {
            break true;
        }
        match tokio::time::timeout(Duration::from_millis(500), sock.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => {
                // A 408 answer then close is fine too.
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                assert!(text.starts_with("HTTP/1.1 408"), "{text}");
            }
            Err(_) => {}
        }
    };
    assert!(closed, "the connection was still open after 10 s");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_client_that_connects_and_sends_nothing_is_cut_off() {
    let app = spawn_app().await; // header_read_timeout_secs: 2 in the test settings
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let start = Instant::now();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf))
        .await
        .expect("the connection was still open after 10 s")
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn invalid_bytes_and_deep_json_get_a_4xx() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let before = counts(&app).await;
    let c = reqwest::Client::new();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    let bodies: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0x80, 0x00],
        b"{\"resource_id\": \"\xff\xfe\"}".to_vec(),
        deep.into_bytes(),
        deep_obj.into_bytes(),
        b"{\"graph\": 1e999999}".to_vec(),
        b"\"just a string\"".to_vec(),
        vec![],
    ];
    for path in ["/v2/bookings", "/v2/resources", "/v2/webhooks"] {
        for b in &bodies {
            let res = c
                .post(app.url(path))
                .basic_auth("", Some(&api.key))
                .header("content-type", "application/json")
                .body(b.clone())
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            assert!((400..500).contains(&status), "{path}: {status} {text}");
            let v: serde_json::Value = serde_json::from_str(&text).expect("a JSON error body");
            assert!(v["error"]["message"].is_string(), "{text}");
        }
    }
    assert_eq!(counts(&app).await, before, "refused requests wrote nothing");
}

/// A body no route accepts: broken JSON, JSON of the wrong shape, or random bytes. (An
/// action such as confirm ignores fields it does not use, so an object with wrong fields is
/// only malformed for the other routes: `objects` says whether to make one.)
fn malformed_body(rng: &mut impl Rng, objects: bool) -> Vec<u8> {
    let mut pick = rng.gen_range(0..8);
    if pick == 4 && !objects {
        pick = 7;
    }
    match pick {
        // Random bytes after one that is never valid UTF-8 (an empty body is a valid action).
        0 => std::iter::once(0xff)
            .chain((0..rng.gen_range(0..64)).map(|_| rng.gen()))
            .collect(),
        1 => b"{".repeat(rng.gen_range(1..5000)),
        2 => json!([rng.gen::<i64>(), "x", null])
            .to_string()
            .into_bytes(),
        3 => json!(rng.gen::<f64>()).to_string().into_bytes(),
        4 => json!({"resource_id": rng.gen::<i64>(), "graph": [1], "start": {}, "meta": 5,
            "events": "all", "url": 12, "name": false})
        .to_string()
        .into_bytes(),
        5 => {
            let mut v = json!({"graph": "instant", "start": "2030-01-10T10:00:00Z"})
                .to_string()
                .into_bytes();
            let at = rng.gen_range(1..v.len() - 1);
            v.truncate(at);
            v
        }
        6 => format!("{{\"what\": \"{}\"", "\\u".repeat(rng.gen_range(1..100))).into_bytes(),
        _ => b"null".to_vec(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_malformed_requests_get_4xx_and_change_nothing() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let (_, booking, hook) = api.one_of_each().await;
    let before = counts(&app).await;
    let paths: Vec<String> = bookhook::api::paths()
        .into_iter()
        .map(|p| {
            let id = if p.starts_with("/webhooks") {
                &hook
            } else {
                &booking
            };
            p.replace("{id}", id).replace("{action}", "confirm")
        })
        .collect();
    let c = reqwest::Client::new();
    // The (method, route) pairs that read a body: every route walked with POST and PUT, kept
    // when a broken body is what it refuses (not the method, and not a route without a body).
    let mut targets = vec![];
    for p in &paths {
        for m in [reqwest::Method::POST, reqwest::Method::PUT] {
            let res = c
                .request(m.clone(), app.url(&format!("/v2{p}")))
                .basic_auth("", Some(&api.key))
                .body(vec![0xff])
                .send()
                .await
                .unwrap();
            if res.status() == 400 || res.status() == 422 {
                targets.push((m, p.clone()));
            }
        }
    }
    assert!(targets.len() >= 6, "{targets:?}");
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261128);
    const N: usize = 10_000;
    for i in 0..N {
        let (method, path) = targets[rng.gen_range(0..targets.len())].clone();
        let is_action = path.matches('/').count() == 3 && path.starts_with("/bookings/");
        let body = malformed_body(&mut rng, !is_action);
        let ctype = [
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
        ][rng.gen_range(0..3)];
        let (c, url, key) = (c.clone(), app.url(&format!("/v2{path}")), api.key.clone());
        let permit = sem.clone().acquire_owned().await.unwrap();
        tasks.spawn(async move {
            let res = c
                .request(method.clone(), &url)
                .basic_auth("", Some(&key))
                .header("content-type", ctype)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            drop(permit);
            let status = res.status().as_u16();
            (i, method, url, status, body)
        });
    }
    let mut by_status = std::collections::BTreeMap::new();
    while let Some(r) = tasks.join_next().await {
        let (i, method, url, status, body) = r.unwrap();
        assert!(
            (400..500).contains(&status),
            "request {i}: {method} {url} with {:?} answered {status}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
        *by_status.entry(status).or_insert(0) += 1;
    }
    eprintln!("{N} malformed requests: {by_status:?}");
    assert_eq!(counts(&app).await, before, "refused requests wrote nothing");
}
