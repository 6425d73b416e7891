//! kill -9 of the real server binary while deliveries are in flight loses nothing.

use crate::receiver::{Receiver, Reply};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `bookhook serve` on this port, data folder and database, quiet, allowed to call loopback
/// receivers, with a 2 s attempt timeout; callers add their own settings and spawn it.
pub fn serve_command(dir: &std::path::Path, db: &str, port: u16) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bookhook"));
    c.arg("serve")
        .env("BOOKHOOK_DATA_DIR", dir)
        .env("BOOKHOOK_DATABASE_URL", db)
        .env("BOOKHOOK_LISTEN", format!("127.0.0.1:{port}"))
        .env("BOOKHOOK_ALLOWED_TARGET_SUBNETS", "127.0.0.0/8")
        .env("BOOKHOOK_DELIVERY_TIMEOUT_SECS", "2")
        .env("BOOKHOOK_LOG_LEVEL", "error")
        .stdout(Stdio::null());
    c
}

fn server(dir: &std::path::Path, db: &str, port: u16) -> Child {
    serve_command(dir, db, port)
        .env("BOOKHOOK_DELIVERY_CONCURRENCY", "1000")
        .env("BOOKHOOK_DELIVERY_CONCURRENCY_PER_ENDPOINT", "1000")
        .spawn()
        .expect("the server binary starts")
}

/// A new API key for the demo app, made with the real binary's `create-api-key` (which also
/// creates the database and applies its migrations).
pub fn cli_api_key(dir: &std::path::Path, db_url: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_bookhook"))
        .args(["create-api-key", "--app", "demo"])
        .env("BOOKHOOK_DATA_DIR", dir)
        .env("BOOKHOOK_DATABASE_URL", db_url)
        .env("BOOKHOOK_LOG_LEVEL", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

/// Waits until `n` messages are recorded delivered in this database (fails after `within`).
pub async fn wait_all_delivered(db_url: &str, n: usize, within: Duration) {
    let db = bookhook::store::Db::connect(
        db_url,
        2,
        std::time::Duration::from_secs(2),
        bookhook::store::secrets::Secrets::ephemeral(),
    )
    .await
    .unwrap();
    let until = Instant::now() + within;
    loop {
        let delivered: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'")
                .fetch_one(&db)
                .await
                .unwrap();
        if delivered == n as i64 {
            break;
        }
        assert!(
            Instant::now() < until,
            "only {delivered} of {n} recorded delivered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    db.close().await;
}

pub async fn ready(base: &str) {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_a_thousand_deliveries_in_flight_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = crate::helpers::test_database_url(dir.path());
    let key = cli_api_key(dir.path(), &db_url);

    // The receiver answers slowly at first, so many attempts are in flight at the kill.
    let rx = Receiver::start().await;
    rx.always(Reply::Hang(Duration::from_millis(1500)));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = server(dir.path(), &db_url, port);
    ready(&base).await;
    let c = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        c.post(format!("{base}/v2{path}"))
            .basic_auth("", Some(&key))
            .json(&body)
            .send()
    };
    let r: Value = post("/resources", json!({"name": "Room"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resource = r["data"]["id"].as_str().unwrap().to_string();
    let w = post(
        "/webhooks",
        json!({"url": rx.url("/hook"), "events": [{"graph": "instant", "state": "confirmed"}]}),
    )
    .await
    .unwrap();
    assert_eq!(w.status(), 201);

    const N: usize = 1000;
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = vec![];
    for i in 0..N {
        let c = c.clone();
        let (base, key, resource) = (base.clone(), key.clone(), resource.clone());
        let permit = sem.clone().acquire_owned().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let body = json!({"resource_id": resource, "graph": "instant", "start": "2030-01-10T10:00:00Z",
                "end": "2030-01-10T11:00:00Z", "what": format!("b{i}"), "customer": {"name": "x", "email": "x@example.com"}});
            let res = c.post(format!("{base}/v2/bookings")).basic_auth("", Some(&key)).json(&body).send().await.unwrap();
            drop(permit);
            assert_eq!(res.status(), 201, "every booking is answered before the kill");
            let v: Value = res.json().await.unwrap();
            v["data"]["id"].as_str().unwrap().to_string()
        }));
    }
    let mut booked = vec![];
    for t in tasks {
        booked.push(t.await.unwrap());
    }
    // Kill while attempts are in flight (the receiver holds each for 1.5 s before answering).
    rx.wait_for(1, Duration::from_secs(30)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed_at = Instant::now();
    let before_kill = rx.received().len();
    let db = bookhook::store::Db::connect(
        &db_url,
        2,
        std::time::Duration::from_secs(2),
        bookhook::store::secrets::Secrets::ephemeral(),
    )
    .await
    .unwrap();
    let (written, delivered): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(CASE WHEN status = 'delivered' THEN 1 END) FROM deliveries",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    db.close().await;
    assert_eq!(
        written, N as i64,
        "every answered booking has its delivery written"
    );
    assert!(
        delivered < N as i64,
        "the kill came while deliveries were in flight ({delivered} recorded)"
    );

    rx.always(Reply::Status(200));
    let mut child = server(dir.path(), &db_url, port);
    ready(&base).await;
    // After the restart every message ends delivered: the dead process's claims expire and
    // are sent again.
    let until = Instant::now() + Duration::from_secs(90);
    wait_all_delivered(&db_url, N, Duration::from_secs(90)).await;
    let by_booking = loop {
        let mut seen: HashMap<String, Vec<Instant>> = HashMap::new();
        for r in rx.received() {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            seen.entry(v["id"].as_str().unwrap().to_string())
                .or_default()
                .push(r.at);
        }
        if seen.len() == N || Instant::now() > until {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    for id in &booked {
        assert!(
            by_booking.contains_key(id),
            "booking {id} was never delivered"
        );
    }
    // A message arrives twice only if its first attempt was cut off by the kill.
    let dupes: Vec<_> = by_booking.iter().filter(|(_, t)| t.len() > 1).collect();
    for (id, times) in &dupes {
        assert!(
            times[0] < killed_at,
            "{id} was sent twice though not in flight at the kill"
        );
        assert_eq!(
            times.iter().filter(|t| **t > killed_at).count(),
            1,
            "{id}: once after the restart"
        );
    }
    eprintln!(
        "crash test: {N} messages, {before_kill} requests before the kill, {} delivered twice (in flight at the kill)",
        dupes.len()
    );
}
