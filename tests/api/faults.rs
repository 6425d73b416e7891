//! The ground giving way under a running server: the SQLite data directory's file system filling
//! up, and PostgreSQL restarting under load. Calls answer 503 `storage_unavailable` with
//! `Retry-After` (never 500), `/readyz` answers 503 meanwhile, nothing answered 201 is lost, and
//! the server heals without a restart.
//!
//! `make test` runs one episode of each (the disk on the SQLite pass, the restart on the
//! PostgreSQL pass); `make soak` runs FAULT_EPISODES of them (default 5) back to back.

use crate::helpers::{booking_body, spawn_app_with, test_settings, Api, TestApp};
use crate::receiver::{Receiver, Reply};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many outages a test goes through (`make soak` sets more).
fn episodes() -> usize {
    std::env::var("FAULT_EPISODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// What the server answered the booking calls.
#[derive(Default)]
struct Answers {
    /// Bookings answered 201: id → when.
    created: HashMap<String, Instant>,
    /// Status → how many.
    statuses: HashMap<u16, usize>,
    /// The first 503's body and `Retry-After`.
    refused: Option<(Value, Option<String>)>,
}

/// Clients posting bookings, `n` at a time, until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Answers>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(api: &Api, resource: &str, n: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let answers = Arc::new(Mutex::new(Answers::default()));
        let tasks = (0..n)
            .map(|_| {
                let (stop, answers) = (stop.clone(), answers.clone());
                let (client, base, key) = (api.client.clone(), api.base.clone(), api.key.clone());
                let body = booking_body(resource, "instant", json!({}));
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let Ok(res) = client
                            .post(format!("{base}/v2/bookings"))
                            .basic_auth("", Some(&key))
                            .json(&body)
                            .send()
                            .await
                        else {
                            // No answer at all: counted as status 0, which fails the test.
                            *answers.lock().unwrap().statuses.entry(0).or_default() += 1;
                            break;
                        };
                        let status = res.status().as_u16();
                        let retry_after = res
                            .headers()
                            .get("retry-after")
                            .map(|v| v.to_str().unwrap().to_string());
                        let v: Value = res.json().await.unwrap_or(Value::Null);
                        let refused = {
                            let mut a = answers.lock().unwrap();
                            *a.statuses.entry(status).or_default() += 1;
                            match status {
                                201 => {
                                    let id = v["data"]["id"].as_str().unwrap().to_string();
                                    a.created.insert(id, Instant::now());
                                }
                                503 if a.refused.is_none() => a.refused = Some((v, retry_after)),
                                _ => {}
                            }
                            status == 503
                        };
                        if refused {
                            // As a client told to wait would, but briefly: the test wants to
                            // see the store come back.
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            answers,
            tasks,
        }
    }

    fn statuses(&self) -> HashMap<u16, usize> {
        self.answers.lock().unwrap().statuses.clone()
    }

    async fn stop(self) -> Answers {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(self.answers)
            .ok()
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// Every answer was 201 or 503, and a 503 says what it is and when to come back.
fn check_answers(a: &Answers) {
    let odd: Vec<_> = a
        .statuses
        .iter()
        .filter(|(s, _)| **s != 201 && **s != 503)
        .collect();
    assert!(odd.is_empty(), "answers other than 201 and 503: {odd:?}");
    assert!(
        a.statuses.get(&503).copied().unwrap_or(0) > 0,
        "the outage was felt: {:?}",
        a.statuses
    );
    let (body, retry_after) = a.refused.clone().unwrap();
    assert_eq!(body["error"]["code"], "storage_unavailable", "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
}

/// The booking ids in the messages the receiver got, with when each first arrived.
fn received(rx: &Receiver) -> HashMap<String, Instant> {
    let mut seen = HashMap::new();
    for r in rx.received() {
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        seen.entry(v["id"].as_str().unwrap().to_string())
            .or_insert(r.at);
    }
    seen
}

/// Waits until the receiver has every one of `ids` and the database has no message left
/// undelivered (a call answered 503 whose commit went through has its message delivered too);
/// fails at `deadline`. Returns when the last of `ids` arrived.
async fn all_delivered(
    app: &TestApp,
    rx: &Receiver,
    ids: &HashSet<String>,
    deadline: Instant,
) -> Instant {
    loop {
        let seen = received(rx);
        let missing = ids.iter().filter(|id| !seen.contains_key(*id)).count();
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status <> 'delivered'")
                .fetch_one(&app.db)
                .await
                .unwrap_or(-1);
        if missing == 0 && open == 0 {
            return ids.iter().map(|id| seen[id]).max().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of {} booked messages never reached the receiver; {open} not recorded delivered",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status_of(app: &TestApp, path: &str) -> (u16, Option<String>) {
    let res = app.get(path).await;
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (res.status().as_u16(), retry)
}

async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
        .parse()
        .unwrap()
}

/// A webhook to `rx` subscribed to instant bookings, and a resource to book.
async fn webhook_and_resource(api: &Api, rx: &Receiver) -> String {
    let (s, w) = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/hook"), "events": [{"graph": "instant", "state": "confirmed"}]}),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    api.resource().await
}

// ---------------------------------------------------------------------------------------------
// SQLite: the data directory's file system fills up.

/// A tmpfs of `size` mounted on `dir`, unmounted when dropped (also when the test fails).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap()
            .success();
        assert!(
            ok,
            "mounting a tmpfs on {} (the test runs as root)",
            dir.display()
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the server's files may still be open while the failing test unwinds.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system under `dir` with one file, to the last byte it takes.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for chunk in [1 << 20, 4096, 512] {
        let buf = vec![0u8; chunk];
        while f.write_all(&buf).is_ok() && f.flush().is_ok() {
            written += chunk as u64;
        }
    }
    let _ = f.sync_all();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    bookhook_test_postgres,
    ignore = "needs SQLite: its data directory's file system fills up (the SQLite pass runs it)"
)]
#[cfg_attr(
    not(bookhook_test_root),
    ignore = "needs root to mount a small tmpfs for the data directory"
)]
async fn a_full_disk_answers_503_loses_nothing_answered_201_and_heals_when_space_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let _mount = Tmpfs::mount(&data, "16m");
    let mut s = test_settings(&data);
    s.database_url = format!("sqlite://{}", data.join("bookhook.db").display());
    s.allowed_target_subnets =
        bookhook::domain::webhook::TargetPolicy::parse_list("127.0.0.0/8").unwrap();
    s.delivery_enabled = true;
    let app = spawn_app_with(s, tempfile::tempdir().unwrap()).await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let rx = Receiver::start().await;
    rx.always(Reply::Status(200));
    let resource = webhook_and_resource(&api, &rx).await;
    let filler = data.join("filler");

    let mut booked: HashSet<String> = HashSet::new();
    for episode in 1..=episodes() {
        let load = Load::start(&api, &resource, 8);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let bytes = fill(&filler);
        // Bookings go on until the database's files cannot grow: then every call is refused.
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let before = load.statuses().get(&503).copied().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(500)).await;
            let after = load.statuses().get(&503).copied().unwrap_or(0);
            if after - before >= 10 {
                break;
            }
            assert!(
                Instant::now() < until,
                "the full disk was never felt: {:?}",
                load.statuses()
            );
        }
        assert_eq!(status_of(&app, "/readyz").await, (503, Some("5".into())));
        assert_eq!(
            status_of(&app, "/healthz").await.0,
            200,
            "the process is alive"
        );
        assert_eq!(metric(&app, "bookhook_storage_unavailable").await, 1.0);

        // Space returns: the server heals without a restart.
        std::fs::remove_file(&filler).unwrap();
        let freed = Instant::now();
        while status_of(&app, "/readyz").await.0 != 200 {
            assert!(
                freed.elapsed() < Duration::from_secs(10),
                "/readyz stays 503 with space back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let answers = load.stop().await;
        check_answers(&answers);
        let after: Vec<_> = answers.created.values().filter(|t| **t > freed).collect();
        assert!(
            !after.is_empty(),
            "bookings are created again once space returns"
        );
        eprintln!(
            "disk full, episode {episode}: {bytes} bytes of filler; answers {:?}; /readyz 200 {} ms after space returned",
            answers.statuses,
            freed.elapsed().as_millis()
        );
        booked.extend(answers.created.into_keys());
        all_delivered(&app, &rx, &booked, Instant::now() + Duration::from_secs(30)).await;
    }
    assert_eq!(metric(&app, "bookhook_storage_unavailable").await, 0.0);
    assert!(metric(&app, "bookhook_storage_unavailable_episodes_total").await >= 1.0);
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: the server restarts under load.

/// A PostgreSQL server of the test's own, in `dir`, on a free port; run as the `postgres` user
/// when the test runs as root (PostgreSQL refuses to run as root). Stopped when dropped.
struct OwnPostgres {
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl OwnPostgres {
    fn init(dir: &Path) -> OwnPostgres {
        let as_postgres = cfg!(bookhook_test_root);
        let data = dir.join("pg");
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the test's directory to postgres");
        }
        let pg = OwnPostgres {
            data,
            port: crate::crash::free_port(),
            as_postgres,
        };
        pg.run(
            "initdb",
            &[
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-D",
                pg.data.to_str().unwrap(),
            ],
        );
        pg
    }

    /// Runs one of PostgreSQL's programs (as `postgres` when needed) and expects success.
    fn run(&self, program: &str, args: &[&str]) {
        let bin = format!("{PG_BIN}/{program}");
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &bin]);
            c
        } else {
            Command::new(&bin)
        };
        let out = c.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off",
            self.port
        );
        let log = self.data.parent().unwrap().join("pg.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self, mode: &str) {
        self.run(
            "pg_ctl",
            &["-D", self.data.to_str().unwrap(), "-m", mode, "-w", "stop"],
        );
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let bin = format!("{PG_BIN}/pg_ctl");
        let args = ["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"];
        let _ = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--", &bin])
                .args(args)
                .output()
        } else {
            Command::new(&bin).args(args).output()
        };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(bookhook_test_postgres),
    ignore = "needs PostgreSQL: it starts and stops a server of its own (make test-postgres runs it)"
)]
async fn postgres_restarting_under_load_loses_nothing_and_delivers_within_10_s_of_its_return() {
    let tmp = tempfile::tempdir().unwrap();
    let pg = OwnPostgres::init(tmp.path());
    pg.start();
    {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&pg.url("postgres"))
            .await
            .unwrap();
        sqlx::Executor::execute(&mut c, "CREATE DATABASE bookhook")
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut s = test_settings(dir.path());
    s.database_url = pg.url("bookhook");
    s.allowed_target_subnets =
        bookhook::domain::webhook::TargetPolicy::parse_list("127.0.0.0/8").unwrap();
    s.delivery_enabled = true;
    let app = spawn_app_with(s, dir).await;
    app.setup_admin().await;
    let api = app.api_for("demo").await;
    let rx = Receiver::start().await;
    rx.always(Reply::Status(200));
    let resource = webhook_and_resource(&api, &rx).await;

    let mut booked: HashSet<String> = HashSet::new();
    for episode in 1..=episodes() {
        let load = Load::start(&api, &resource, 16);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let created_before = load.answers.lock().unwrap().created.len();
        pg.stop("fast");
        let down = Instant::now();
        // While it is down: /readyz says so, after the bounded wait.
        assert_eq!(status_of(&app, "/readyz").await, (503, Some("5".into())));
        assert_eq!(status_of(&app, "/healthz").await.0, 200);
        tokio::time::sleep(Duration::from_secs(4).saturating_sub(down.elapsed())).await;
        pg.start();
        let back = Instant::now();
        let back_ms = bookhook::store::now_ms();
        // The messages written before its return, recorded delivered (those whose round failed
        // while it was down are recorded again, not left to their lease).
        let recorded = loop {
            let open: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM deliveries WHERE status <> 'delivered' AND created_at < $1",
            )
            .bind(back_ms)
            .fetch_one(&app.db)
            .await
            .unwrap_or(-1);
            if open == 0 {
                break back.elapsed();
            }
            assert!(
                back.elapsed() < Duration::from_secs(10),
                "{open} messages written before the return are still not recorded delivered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        tokio::time::sleep(Duration::from_secs(2).saturating_sub(back.elapsed())).await;
        let answers = load.stop().await;
        check_answers(&answers);
        assert!(created_before > 0, "bookings were made before the restart");
        booked.extend(answers.created.keys().cloned());
        // Every message, also those whose round could not be recorded while it was down,
        // within 10 s of the database's return.
        let last = all_delivered(&app, &rx, &booked, back + Duration::from_secs(10)).await;
        eprintln!(
            "postgres restart, episode {episode}: down {:.1} s; answers {:?}; after its return every message written before it was recorded delivered in {} ms, the last message of all (bookings went on for 2 s) arrived after {} ms",
            (back - down).as_secs_f64(),
            answers.statuses,
            recorded.as_millis(),
            last.saturating_duration_since(back).as_millis()
        );
        assert_eq!(status_of(&app, "/readyz").await.0, 200);
    }
    assert!(metric(&app, "bookhook_storage_unavailable_episodes_total").await >= 1.0);
    drop(app);
    tokio::time::sleep(Duration::from_millis(200)).await;
}
