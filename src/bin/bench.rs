//! `make bench`: end-to-end throughput and latency of webhook delivery.
//!
//! Starts the release server with a fresh database, a fast receiver in this process, creates
//! bookings through the real API (as fast as `--concurrency` allows, or paced at `--rate`) and
//! measures the time from each API call's start to the receiver having the delivery.
//!
//!   make bench ARGS="--n 20000 --concurrency 64"
//!   make bench ARGS="--rate 200 --n 4000"
//!   make bench ARGS="--postgres --instances 2"

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use clap::Parser;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "Benchmark of bookhook's webhook deliveries, end to end through the real API."
)]
struct Args {
    /// Bookings to create.
    #[arg(long, default_value_t = 10_000)]
    n: usize,
    /// API calls in flight at once (with --rate: only a cap).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Paced mode: bookings per second.
    #[arg(long)]
    rate: Option<f64>,
    /// Webhooks subscribed to instant/confirmed, all calling the receiver (deliveries = n x webhooks).
    #[arg(long, default_value_t = 1)]
    webhooks: usize,
    /// The server binary.
    #[arg(long, default_value = "target/release/bookhook")]
    server: PathBuf,
    /// Keep the temporary data directory (its path is printed).
    #[arg(long)]
    keep: bool,
    /// Run on a fresh PostgreSQL database (created on the server of --postgres-url, dropped
    /// afterwards) instead of SQLite.
    #[arg(long)]
    postgres: bool,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres_url: String,
    /// Server instances sharing the database (more than one needs --postgres); API calls are
    /// spread over them in turn, as a load balancer would.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Seconds to wait for the deliveries after the last API call.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// One delivery the receiver got.
struct Arrival {
    hook: u32,
    seq: Option<u64>,
    at: Instant,
}

#[derive(Default)]
struct Receiver {
    arrivals: Mutex<Vec<Arrival>>,
    count: AtomicUsize,
}

#[derive(Deserialize)]
struct Payload {
    meta: Option<MetaSeq>,
}

#[derive(Deserialize)]
struct MetaSeq {
    seq: Option<u64>,
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    Path(hook): Path<u32>,
    body: Bytes,
) -> &'static str {
    let at = Instant::now();
    let seq = serde_json::from_slice::<Payload>(&body)
        .ok()
        .and_then(|p| p.meta)
        .and_then(|m| m.seq);
    r.arrivals
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Arrival { hook, seq, at });
    r.count.fetch_add(1, Ordering::Relaxed);
    "ok"
}

/// One API call.
struct Call {
    seq: usize,
    start: Instant,
    end: Instant,
    error: Option<String>,
}

/// The server process: stopped (SIGKILL) on drop if `stop` was not reached.
struct Server {
    child: Option<Child>,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGTERM, then up to 15 s for a clean exit, then SIGKILL.
    fn stop(&mut self) -> String {
        let Some(mut child) = self.child.take() else {
            return "not running".into();
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            match child.try_wait() {
                Ok(Some(st)) => return format!("stopped ({st})"),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return "did not stop within 15 s of SIGTERM; killed".into();
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The benchmark's PostgreSQL database, dropped at the end unless kept.
struct PgDatabase {
    server: String,
    name: String,
    url: String,
    keep: bool,
}

impl PgDatabase {
    async fn create(server: &str, name: &str, keep: bool) -> anyhow::Result<Self> {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres"))
            .await
            .map_err(|e| anyhow::anyhow!("--postgres-url {server}: {e}"))?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        Ok(Self {
            server: server.into(),
            name: name.into(),
            url: format!("{server}/{name}"),
            keep,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("bench: PostgreSQL database kept: {}", self.url);
            return;
        }
        let (server, name) = (self.server.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                use sqlx::{Connection, Executor};
                let mut c = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
                c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
    }
}

/// The temporary data directory, removed on drop unless kept.
struct DataDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("bench: data kept in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: &str, ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: state is field 3, utime 14, stime 15.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks)
}

/// Busy and total jiffies of the whole machine (all cores), from /proc/stat.
fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

/// A `Vm…` line of /proc/<pid>/status, in MiB.
fn vm_mib(pid: &str, key: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    use anyhow::Context;
    anyhow::ensure!(args.n > 0, "--n must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.webhooks > 0, "--webhooks must be at least 1");
    anyhow::ensure!(args.instances > 0, "--instances must be at least 1");
    anyhow::ensure!(
        args.instances == 1 || args.postgres,
        "--instances above 1 needs --postgres (instances share a PostgreSQL database)"
    );
    if let Some(r) = args.rate {
        anyhow::ensure!(r > 0.0, "--rate must be above 0");
    }
    anyhow::ensure!(
        args.server.is_file(),
        "no server binary at {} (build it with `make release`)",
        args.server.display()
    );
    let ticks = clock_ticks();

    // A fresh data directory.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let data = DataDir {
        path: std::env::temp_dir().join(format!("bookhook-bench-{}-{nanos}", std::process::id())),
        keep: args.keep,
    };
    std::fs::create_dir_all(&data.path)
        .with_context(|| format!("creating {}", data.path.display()))?;
    let pg = if args.postgres {
        let name = format!("bookhook_bench_{}_{nanos}", std::process::id());
        Some(PgDatabase::create(&args.postgres_url, &name, args.keep).await?)
    } else {
        None
    };
    let database_url = match &pg {
        Some(p) => p.url.clone(),
        None => format!("sqlite://{}", data.path.join("bookhook.db").display()),
    };

    // An API key.
    let out = Command::new(&args.server)
        .args(["create-api-key", "--app", "bench"])
        .env("BOOKHOOK_DATA_DIR", &data.path)
        .env("BOOKHOOK_DATABASE_URL", &database_url)
        .env("BOOKHOOK_LOG_LEVEL", "warn")
        .stderr(Stdio::inherit())
        .output()
        .context("running create-api-key")?;
    anyhow::ensure!(
        out.status.success(),
        "create-api-key failed: {}",
        out.status
    );
    let key = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .context("create-api-key printed no key")?;

    // The receiver.
    let receiver = Arc::new(Receiver::default());
    let rx_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let rx_addr = rx_listener.local_addr()?;
    let rx_app = Router::new()
        .route("/hook/{hook}", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move {
        let _ = axum::serve(rx_listener, rx_app).await;
    });

    // The servers.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(16))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut servers: Vec<Server> = Vec::new();
    let mut bases: Vec<String> = Vec::new();
    for i in 0..args.instances {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let child = Command::new(&args.server)
            .arg("serve")
            .env("BOOKHOOK_LISTEN", format!("127.0.0.1:{port}"))
            .env("BOOKHOOK_DATA_DIR", &data.path)
            .env("BOOKHOOK_DATABASE_URL", &database_url)
            .env("BOOKHOOK_ALLOWED_TARGET_SUBNETS", "127.0.0.0/8")
            .env("BOOKHOOK_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .spawn()
            .context("starting the server")?;
        let mut server = Server { child: Some(child) };
        let ready_by = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(c) = server.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    anyhow::bail!("server instance {i} exited at start-up: {st}");
                }
            }
            match client.get(format!("{base}/readyz")).send().await {
                Ok(r) if r.status().is_success() => break,
                _ if Instant::now() > ready_by => {
                    anyhow::bail!("server instance {i} was not ready within 30 s")
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        servers.push(server);
        bases.push(base);
    }
    let pids: Vec<String> = servers.iter().map(|s| s.pid().to_string()).collect();
    let base = bases[0].clone();

    // A resource and the webhooks.
    let auth = {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(":{key}"))
        )
    };
    let res = client
        .post(format!("{base}/v2/resources"))
        .header("authorization", &auth)
        .json(&serde_json::json!({"name": "Bench room", "timezone": "UTC"}))
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "creating the resource: {}",
        res.status()
    );
    let resource: serde_json::Value = res.json().await?;
    let resource_id = resource["data"]["id"]
        .as_str()
        .context("the resource has no id")?
        .to_string();
    for k in 0..args.webhooks {
        let res = client
            .post(format!("{base}/v2/webhooks"))
            .header("authorization", &auth)
            .json(&serde_json::json!({
                "name": format!("bench {k}"),
                "url": format!("http://{rx_addr}/hook/{k}"),
                "events": [{"graph": "instant", "state": "confirmed"}],
            }))
            .send()
            .await?;
        let status = res.status();
        anyhow::ensure!(
            status.is_success(),
            "creating webhook {k}: {status} {}",
            res.text().await.unwrap_or_default()
        );
    }

    // The bookings.
    let start_at = chrono::Utc::now() + chrono::Duration::days(30);
    let end_at = start_at + chrono::Duration::hours(1);
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let prefix: Arc<str> = format!(
        r#"{{"resource_id":"{resource_id}","graph":"instant","action":"confirm","start":"{}","end":"{}","what":"Bench session","where":"Room 1","customer":{{"name":"Bench Customer","email":"bench@example.com"}},"meta":{{"seq":"#,
        fmt(start_at),
        fmt(end_at)
    )
    .into();
    let urls: Arc<Vec<String>> =
        Arc::new(bases.iter().map(|b| format!("{b}/v2/bookings")).collect());
    let auth: Arc<str> = auth.into();
    let expected = args.n * args.webhooks;

    let cpu_servers =
        |pids: &[String]| -> Option<f64> { pids.iter().map(|p| cpu_seconds(p, ticks)).sum() };
    let cpu_server_before = cpu_servers(&pids).unwrap_or(0.0);
    let machine_before = machine_jiffies();
    let cpu_self_before = cpu_seconds("self", ticks).unwrap_or(0.0);
    let sent = Arc::new(AtomicUsize::new(0));
    let progress = {
        let (sent, receiver) = (sent.clone(), receiver.clone());
        tokio::spawn(async move {
            let t0 = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tick.tick().await;
                eprintln!(
                    "  {:>4.0} s: {} API calls answered, {} deliveries received",
                    t0.elapsed().as_secs_f64(),
                    sent.load(Ordering::Relaxed),
                    receiver.count.load(Ordering::Relaxed)
                );
            }
        })
    };

    match args.rate {
        Some(r) => eprintln!(
            "bench: {} bookings paced at {r}/s (at most {} in flight), {} webhook(s) -> {expected} deliveries",
            args.n, args.concurrency, args.webhooks
        ),
        None => eprintln!(
            "bench: {} bookings, {} in flight, {} webhook(s) -> {expected} deliveries",
            args.n, args.concurrency, args.webhooks
        ),
    }
    let slots = Arc::new(Semaphore::new(args.concurrency));
    let mut calls = tokio::task::JoinSet::new();
    let t0 = Instant::now();
    for i in 0..args.n {
        if let Some(r) = args.rate {
            tokio::time::sleep_until((t0 + Duration::from_secs_f64(i as f64 / r)).into()).await;
        }
        let permit = slots.clone().acquire_owned().await?;
        let (client, urls, auth, prefix, sent) = (
            client.clone(),
            urls.clone(),
            auth.clone(),
            prefix.clone(),
            sent.clone(),
        );
        calls.spawn(async move {
            let body = format!("{prefix}{i}}}}}");
            let start = Instant::now();
            let res = client
                .post(&urls[i % urls.len()])
                .header("authorization", &*auth)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let error = match res {
                Ok(r) => {
                    let status = r.status();
                    let text = r.text().await.unwrap_or_default();
                    (!status.is_success()).then(|| format!("{status}: {text}"))
                }
                Err(e) => Some(e.to_string()),
            };
            let end = Instant::now();
            sent.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            Call {
                seq: i,
                start,
                end,
                error,
            }
        });
    }
    let mut done: Vec<Call> = Vec::with_capacity(args.n);
    while let Some(c) = calls.join_next().await {
        done.push(c?);
    }
    let api_end = done.iter().map(|c| c.end).max().unwrap_or(t0);

    // The deliveries.
    let wait_until = Instant::now() + Duration::from_secs(args.timeout);
    let mut timed_out = false;
    while receiver.count.load(Ordering::Relaxed) < expected {
        if Instant::now() > wait_until {
            timed_out = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Late duplicates would show up in this short grace period.
    tokio::time::sleep(Duration::from_millis(200)).await;
    progress.abort();

    let cpu_server_after = cpu_servers(&pids);
    let machine_after = machine_jiffies();
    let cpu_self_after = cpu_seconds("self", ticks).unwrap_or(0.0);
    let peak = pids
        .iter()
        .filter_map(|p| vm_mib(p, "VmHWM:"))
        .reduce(f64::max);
    let rss = pids
        .iter()
        .filter_map(|p| vm_mib(p, "VmRSS:"))
        .reduce(f64::max);
    let mut scrapes = Vec::new();
    for b in &bases {
        scrapes.push(match client.get(format!("{b}/metrics")).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => format!("(could not read /metrics: {e})"),
        });
    }
    let counter = |name: &str| -> f64 {
        scrapes
            .iter()
            .flat_map(|s| s.lines())
            .filter_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
            .sum()
    };
    let (created, commits) = (
        counter("bookhook_bookings_created_total"),
        counter("bookhook_booking_commits_total"),
    );
    let metrics = scrapes.first().cloned().unwrap_or_default();
    let stopped: Vec<String> = servers.iter_mut().map(|s| s.stop()).collect();
    let stopped = stopped.join("; ");

    // Figures.
    let starts: Vec<Instant> = {
        let mut v = vec![t0; args.n];
        for c in &done {
            v[c.seq] = c.start;
        }
        v
    };
    let first_start = done.iter().map(|c| c.start).min().unwrap_or(t0);
    let errors: Vec<&Call> = done.iter().filter(|c| c.error.is_some()).collect();
    let mut api_lat: Vec<Duration> = done.iter().map(|c| c.end - c.start).collect();
    api_lat.sort();

    let arrivals =
        std::mem::take(&mut *receiver.arrivals.lock().unwrap_or_else(|e| e.into_inner()));
    let mut seen: HashMap<(u32, u64), usize> = HashMap::with_capacity(arrivals.len());
    let mut unparsed = 0usize;
    let mut lat: Vec<Duration> = Vec::with_capacity(arrivals.len());
    let mut last_arrival = first_start;
    for a in &arrivals {
        let Some(seq) = a.seq.filter(|s| (*s as usize) < args.n) else {
            unparsed += 1;
            continue;
        };
        let n = seen.entry((a.hook, seq)).or_default();
        *n += 1;
        if *n > 1 {
            continue;
        }
        lat.push(a.at.saturating_duration_since(starts[seq as usize]));
        last_arrival = last_arrival.max(a.at);
    }
    lat.sort();
    let unique = seen.len();
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    let ok_calls = done.iter().filter(|c| c.error.is_none()).count();
    let missing = (ok_calls * args.webhooks).saturating_sub(unique);

    let api_secs = (api_end - first_start).as_secs_f64();
    let e2e_secs = (last_arrival - first_start).as_secs_f64();
    let load_secs = (last_arrival.max(api_end) - first_start).as_secs_f64();

    println!();
    println!("== bookhook bench ==");
    println!(
        "database             {}, {} instance(s)",
        if args.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        args.instances
    );
    match args.rate {
        Some(r) => println!(
            "mode                 paced {r}/s, cap {} in flight; {} booking(s) x {} webhook(s)",
            args.concurrency, args.n, args.webhooks
        ),
        None => println!(
            "mode                 closed loop, {} in flight; {} booking(s) x {} webhook(s)",
            args.concurrency, args.n, args.webhooks
        ),
    }
    println!(
        "API                  {} calls in {:.2} s = {:.0} bookings/s; errors {}",
        done.len(),
        api_secs,
        done.len() as f64 / api_secs.max(1e-9),
        errors.len()
    );
    println!(
        "API latency          p50 {}  p90 {}  p99 {}  max {}",
        ms(pct(&api_lat, 50.0)),
        ms(pct(&api_lat, 90.0)),
        ms(pct(&api_lat, 99.0)),
        ms(api_lat.last().copied().unwrap_or_default())
    );
    println!(
        "group commit         {created:.0} bookings in {commits:.0} transactions ({:.1} per commit)",
        created / commits.max(1.0)
    );
    println!(
        "deliveries           {unique} of {expected} in {:.2} s = {:.0} deliveries/s end-to-end; missing {missing}, duplicates {duplicates}{}",
        e2e_secs,
        unique as f64 / e2e_secs.max(1e-9),
        if unparsed > 0 { format!(", without meta.seq {unparsed}") } else { String::new() }
    );
    println!(
        "API call -> receiver p50 {}  p90 {}  p99 {}  max {}",
        ms(pct(&lat, 50.0)),
        ms(pct(&lat, 90.0)),
        ms(pct(&lat, 99.0)),
        ms(lat.last().copied().unwrap_or_default())
    );
    match cpu_server_after {
        Some(after) => println!(
            "server CPU           {:.2} s during the load ({:.0}% of one core over {:.2} s), {:.2} s in all (all instances)",
            after - cpu_server_before,
            100.0 * (after - cpu_server_before) / load_secs.max(1e-9),
            load_secs,
            after
        ),
        None => println!("server CPU           (not readable)"),
    }
    println!(
        "bench CPU            {:.2} s during the load ({:.0}% of one core; client and receiver)",
        cpu_self_after - cpu_self_before,
        100.0 * (cpu_self_after - cpu_self_before) / load_secs.max(1e-9)
    );
    if let (Some((b0, t0)), Some((b1, t1))) = (machine_before, machine_after) {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        println!(
            "machine CPU          {:.0}% of {cores} cores busy during the load (server, database, bench and anything else)",
            100.0 * (b1 - b0) as f64 / (t1 - t0).max(1) as f64
        );
    }
    println!(
        "server memory        peak {} (VmHWM), {} at the end (VmRSS; the largest instance)",
        peak.map(|m| format!("{m:.1} MiB"))
            .unwrap_or_else(|| "?".into()),
        rss.map(|m| format!("{m:.1} MiB"))
            .unwrap_or_else(|| "?".into())
    );
    println!("server               {stopped}");

    for c in errors.iter().take(5) {
        println!(
            "error                booking {}: {}",
            c.seq,
            c.error.as_deref().unwrap_or_default()
        );
    }
    if timed_out {
        let mut absent: Vec<String> = Vec::new();
        'outer: for seq in 0..args.n as u64 {
            for k in 0..args.webhooks as u32 {
                if !seen.contains_key(&(k, seq)) {
                    absent.push(format!("{seq}/hook {k}"));
                    if absent.len() >= 10 {
                        break 'outer;
                    }
                }
            }
        }
        println!(
            "timeout              after {} s only {} of {expected} deliveries had arrived; first missing: {}",
            args.timeout,
            unique,
            absent.join(", ")
        );
        println!("server /metrics at the timeout:\n{metrics}");
    }
    let ok = errors.is_empty() && missing == 0 && unique == expected;
    println!("result               {}", if ok { "OK" } else { "FAILED" });
    Ok(ok)
}
