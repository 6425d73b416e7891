//! Three instances of the real binary on one PostgreSQL database share the work: every
//! message is delivered exactly once while none dies, and at least once when one is killed.
//! (PostgreSQL only: on SQLite one instance owns its database file, so there they are ignored.)

use crate::crash::{free_port, ready};
use crate::helpers::test_database_url;
use crate::receiver::{Receiver, Reply};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Cluster {
    db_url: String,
    dir: tempfile::TempDir,
    key: String,
    bases: Vec<String>,
    children: Vec<Option<Child>>,
}

impl Cluster {
    async fn start(n: usize) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let db_url = test_database_url(dir.path());
        let key = crate::crash::cli_api_key(dir.path(), &db_url);
        let mut c = Cluster {
            db_url,
            dir,
            key,
            bases: vec![],
            children: vec![],
        };
        // All at once, as a deployment starts them.
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        for port in &ports {
            c.children.push(Some(c.spawn(*port)));
            c.bases.push(format!("http://127.0.0.1:{port}"));
        }
        for b in &c.bases {
            ready(b).await;
        }
        c
    }

    fn spawn(&self, port: u16) -> Child {
        Command::new(env!("CARGO_BIN_EXE_bookhook"))
            .arg("serve")
            .env("BOOKHOOK_DATA_DIR", self.dir.path())
            .env("BOOKHOOK_DATABASE_URL", &self.db_url)
            .env("BOOKHOOK_LISTEN", format!("127.0.0.1:{port}"))
            .env("BOOKHOOK_ALLOWED_TARGET_SUBNETS", "127.0.0.0/8")
            // Well above the kill test's 1.5 s hang even on a loaded machine: an attempt that
            // timed out would be retried before the kill, which the test would take for a
            // duplicate (with 2 s it did, once, at a load average of 9 on 2 cores).
            .env("BOOKHOOK_DELIVERY_TIMEOUT_SECS", "5")
            .env("BOOKHOOK_DATABASE_MAX_CONNECTIONS", "6")
            .env("BOOKHOOK_LOG_LEVEL", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("the server binary starts")
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            c.kill().unwrap(); // SIGKILL
            c.wait().unwrap();
        }
    }

    /// A resource and a webhook to `rx` for instant/confirmed; returns the resource id.
    async fn setup(&self, rx: &Receiver) -> String {
        let c = reqwest::Client::new();
        let r: Value = c
            .post(format!("{}/v2/resources", self.bases[0]))
            .basic_auth("", Some(&self.key))
            .json(&json!({"name": "Room"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let w = c
            .post(format!("{}/v2/webhooks", self.bases[1 % self.bases.len()]))
            .basic_auth("", Some(&self.key))
            .json(&json!({"url": rx.url("/hook"), "events": [{"graph": "instant", "state": "confirmed"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(w.status(), 201);
        r["data"]["id"].as_str().unwrap().to_string()
    }

    /// Creates `n` instant bookings (one transition each), spread over the live instances in
    /// turn, 32 at a time; returns their ids.
    async fn book(&self, resource: &str, n: usize, live: &[usize]) -> Vec<String> {
        let c = reqwest::Client::new();
        let sem = Arc::new(tokio::sync::Semaphore::new(32));
        let mut tasks = vec![];
        for i in 0..n {
            let base = self.bases[live[i % live.len()]].clone();
            let (c, key, resource) = (c.clone(), self.key.clone(), resource.to_string());
            let permit = sem.clone().acquire_owned().await.unwrap();
            tasks.push(tokio::spawn(async move {
                let body = json!({"resource_id": resource, "graph": "instant",
                    "start": "2030-01-10T10:00:00Z", "end": "2030-01-10T11:00:00Z",
                    "what": format!("b{i}"), "customer": {"name": "x", "email": "x@example.com"}});
                let res = c
                    .post(format!("{base}/v2/bookings"))
                    .basic_auth("", Some(&key))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                drop(permit);
                assert_eq!(res.status(), 201);
                let v: Value = res.json().await.unwrap();
                v["data"]["id"].as_str().unwrap().to_string()
            }));
        }
        let mut ids = vec![];
        for t in tasks {
            ids.push(t.await.unwrap());
        }
        ids
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// Receipt times by booking id (the payload's `id`).
fn by_booking(rx: &Receiver) -> HashMap<String, Vec<Instant>> {
    let mut seen: HashMap<String, Vec<Instant>> = HashMap::new();
    for r in rx.received() {
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        seen.entry(v["id"].as_str().unwrap().to_string())
            .or_default()
            .push(r.at);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(bookhook_test_postgres),
    ignore = "needs PostgreSQL: several instances share one database (make test-postgres runs it)"
)]
async fn three_instances_deliver_ten_thousand_transitions_exactly_once() {
    let cluster = Cluster::start(3).await;
    let rx = Receiver::start().await;
    let resource = cluster.setup(&rx).await;
    const N: usize = 10_000;
    let booked = cluster.book(&resource, N, &[0, 1, 2]).await;
    rx.wait_for(N, Duration::from_secs(180)).await;
    // A late duplicate would arrive within a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = by_booking(&rx);
    let missing = booked.iter().filter(|id| !seen.contains_key(*id)).count();
    let twice: usize = seen.values().filter(|t| t.len() > 1).count();
    assert_eq!(
        missing, 0,
        "{missing} of {N} transitions were never delivered"
    );
    assert_eq!(twice, 0, "{twice} messages were delivered more than once");
    assert_eq!(rx.received().len(), N);
    // Each message carries one id, the same on every instance's attempt.
    let ids: std::collections::HashSet<String> = rx
        .received()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(bookhook_test_postgres),
    ignore = "needs PostgreSQL: several instances share one database (make test-postgres runs it)"
)]
async fn killing_one_of_three_instances_loses_no_message() {
    let mut cluster = Cluster::start(3).await;
    let rx = Receiver::start().await;
    let resource = cluster.setup(&rx).await;
    // The receiver answers slowly, so each instance has attempts in flight at the kill.
    rx.always(Reply::Hang(Duration::from_millis(1500)));
    const N: usize = 1_500;
    let booked = cluster.book(&resource, N, &[0, 1, 2]).await;
    rx.wait_for(30, Duration::from_secs(30)).await;
    cluster.kill(2);
    let killed_at = Instant::now();
    rx.always(Reply::Status(200));
    // The survivors send the rest, and the dead instance's claims once their lease expires:
    // every message ends recorded as delivered.
    crate::crash::wait_all_delivered(&cluster.db_url, N, Duration::from_secs(120)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = by_booking(&rx);
    let missing = booked.iter().filter(|id| !seen.contains_key(*id)).count();
    assert_eq!(missing, 0, "{missing} of {N} messages never arrived");
    // Twice only for a message whose first attempt was cut off by the kill.
    let dupes: Vec<_> = seen.iter().filter(|(_, t)| t.len() > 1).collect();
    for (id, times) in &dupes {
        assert!(
            times[0] < killed_at,
            "{id} was sent twice though not in flight at the kill"
        );
        assert_eq!(
            times.iter().filter(|t| **t > killed_at).count(),
            1,
            "{id}: once after the kill"
        );
    }
    eprintln!(
        "kill one of three: {N} messages, {} delivered twice (in flight at the kill)",
        dupes.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(bookhook_test_postgres),
    ignore = "needs PostgreSQL: several instances share one database (make test-postgres runs it)"
)]
async fn a_panel_session_and_the_live_log_work_on_whichever_instance_a_browser_hits() {
    use crate::helpers::{spawn_app_with, test_settings};
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path());
    let a = spawn_app_with(settings.clone(), dir).await;
    let b = spawn_app_with(settings, tempfile::tempdir().unwrap()).await;
    // Signed in on A (the browser's cookie is for 127.0.0.1, so it goes to B as well).
    a.setup_admin().await;
    let mut live = a
        .client
        .get(b.url("/apps/demo/deliveries/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "B knows the session A started");
    assert_eq!(live.headers()["content-type"], "text/event-stream");

    // A booking on A, with a webhook that gets a message: B's live log hears of it.
    let api = a.api_for("demo").await;
    let (s, _) = api
        .post(
            "/webhooks",
            json!({"url": "https://example.com/hook", "events": [{"graph": "instant", "state": "confirmed"}]}),
        )
        .await;
    assert_eq!(s, 201);
    let resource = api.resource().await;
    api.booking(&resource, "instant", json!({})).await;
    let event = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let c = live.chunk().await.unwrap().unwrap();
            let t = String::from_utf8_lossy(&c).to_string();
            if t.contains("changed") {
                return t;
            }
        }
    })
    .await
    .expect("B's live log gets A's change");
    assert!(event.contains("data: changed"));

    // Signing out on B ends the session on A too.
    let res = b.call_with(&a.client, "sign_out", &[]).await;
    assert!(res.status().is_success() || res.status().is_redirection());
    let res = a
        .client
        .get(a.url("/apps/demo/deliveries/live"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200, "signed out on A as well");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(bookhook_test_postgres),
    ignore = "needs PostgreSQL: several instances share one database (make test-postgres runs it)"
)]
async fn two_instances_applying_due_timeouts_apply_each_once() {
    use crate::helpers::{spawn_app_with, test_settings};
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(dir.path());
    let a = spawn_app_with(settings.clone(), dir).await;
    let b = spawn_app_with(settings, tempfile::tempdir().unwrap()).await;
    a.setup_admin().await;
    let api = a.api_for("demo").await;
    let resource = api.resource().await;
    const N: usize = 60;
    let mut ids = vec![];
    for _ in 0..N {
        let bk = api.booking(&resource, "instant_payment", json!({})).await;
        ids.push(bk["id"].as_str().unwrap().to_string());
    }
    // Both instances' schedulers find the same due timeouts at once.
    let later = bookhook::store::now_ms() + 10 * 60_000;
    let (x, y) = tokio::join!(
        a.state.engine.run_due(later, 500),
        b.state.engine.run_due(later, 500)
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x + y, N, "applied {x} on A and {y} on B");
    for id in &ids {
        let timeouts: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM booking_logs WHERE booking_id = $1 AND action = 'timeout'",
        )
        .bind(id)
        .fetch_one(&a.db)
        .await
        .unwrap();
        assert_eq!(timeouts, 1, "{id}");
    }
}
