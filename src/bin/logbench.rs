//! `make bench-log`: seeds a fresh database with a large delivery log (default 250,000 messages
//! and 1,000,000 attempts) and times the log's queries: the first page and filtered pages.

use bookhook::domain::log::LogFilter;
use bookhook::store::{self, log};
use std::time::Instant;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: i64| -> i64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let messages = arg("--messages", 250_000);
    let per = arg("--attempts-per-message", 4);
    let dir = tempfile::tempdir()?;
    let db = store::Db::open(
        &format!("sqlite://{}", dir.path().join("log.db").display()),
        8,
        store::secrets::Secrets::ephemeral(),
    )
    .await?;
    let app = store::create_app(&db, "Bench", "bench")
        .await?
        .expect("a fresh app");
    let now = store::now_ms();
    for (i, id) in ["wh_a", "wh_b"].iter().enumerate() {
        sqlx::query("INSERT INTO webhooks (id, app_id, name, url, secret, created_at, updated_at) VALUES ($1, $2, $3, 'https://example.com/', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', $4, $5)")
            .bind(id).bind(app.id).bind(format!("hook {i}")).bind(now).bind(now).execute(&db).await?;
    }
    println!(
        "seeding {messages} messages with {per} attempts each ({} attempts)…",
        messages * per
    );
    let started = Instant::now();
    let graphs = [
        "instant",
        "confirm_decline",
        "instant_payment",
        "group_owner",
        "group_customer",
        "group_customer_payment",
    ];
    let states = [
        "confirmed",
        "tentative",
        "paid",
        "cancelled",
        "completed",
        "unpaid",
    ];
    let mut next = 0i64;
    while next < messages {
        let mut tx = store::begin_write(&db).await?;
        for i in next..(next + 10_000).min(messages) {
            let status = match i % 100 {
                0 => "failed",
                1..=3 => "pending",
                _ => "delivered",
            };
            let created = now - (messages - i) * 10_000;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO deliveries (msg_id, app_id, webhook_id, booking_id, graph, state, action, payload, status, attempts, next_attempt_at, last_status_code, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'confirm', '{}', $7, $8, $9, 200, $10, $11) RETURNING id")
                .bind(format!("msg_{i:027}")).bind(app.id).bind(if i % 2 == 0 { "wh_a" } else { "wh_b" })
                .bind(format!("booking-{}", i / 3)).bind(graphs[(i % 6) as usize]).bind(states[(i / 6 % 6) as usize])
                .bind(status).bind(per).bind(created).bind(created).bind(created)
                .fetch_one(&mut *tx).await?;
            for a in 1..=per {
                sqlx::query("INSERT INTO attempts (delivery_id, app_id, webhook_id, attempt, trigger, outcome, started_at, duration_ms, request_url, request_headers, response_status) \
                     VALUES ($1, $2, 'wh_a', $3, 'scheduled', 'failed', $4, 12, 'https://example.com/', '[]', 500)")
                    .bind(id).bind(app.id).bind(a).bind(created + a).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        next += 10_000;
    }
    sqlx::query("ANALYZE").execute(&db).await?;
    println!("seeded in {:.1} s", started.elapsed().as_secs_f64());

    let mid: i64 = messages / 2;
    let cases: Vec<(&str, LogFilter, Option<i64>)> = vec![
        ("first page", LogFilter::default(), None),
        (
            "a page deep in the log (keyset)",
            LogFilter::default(),
            Some(mid),
        ),
        (
            "status = failed",
            LogFilter {
                status: "failed".into(),
                ..Default::default()
            },
            None,
        ),
        (
            "status = retrying",
            LogFilter {
                status: "retrying".into(),
                ..Default::default()
            },
            None,
        ),
        (
            "webhook",
            LogFilter {
                webhook: "wh_b".into(),
                ..Default::default()
            },
            None,
        ),
        (
            "graph + state",
            LogFilter {
                graph: "instant_payment".into(),
                state: "unpaid".into(),
                ..Default::default()
            },
            None,
        ),
        (
            "booking id",
            LogFilter {
                booking: format!("booking-{}", mid / 3),
                ..Default::default()
            },
            None,
        ),
        (
            "time range",
            LogFilter {
                from: now - messages * 10_000 / 2,
                to: now - messages * 10_000 / 3,
                ..Default::default()
            },
            None,
        ),
        (
            "failed + webhook + graph",
            LogFilter {
                status: "failed".into(),
                webhook: "wh_a".into(),
                graph: "instant".into(),
                ..Default::default()
            },
            None,
        ),
    ];
    println!(
        "{:<36} {:>9} {:>9} {:>6}",
        "query (50 rows, newest first)", "median", "max", "rows"
    );
    for (name, f, before) in cases {
        let mut times = vec![];
        let mut rows = 0;
        for _ in 0..21 {
            let t = Instant::now();
            rows = log::messages(&db, app.id, &f, before, 51).await?.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{name:<36} {:>7.2}ms {:>7.2}ms {rows:>6}",
            times[10], times[20]
        );
    }
    Ok(())
}
