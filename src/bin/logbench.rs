//! `make bench-log`: seeds a fresh database with a large delivery log (default 250,000 messages
//! and 1,000,000 attempts, three messages per booking, each booking with a customer) and times
//! the log's queries: the first page and filtered pages.

use bookhook::domain::log::LogFilter;
use bookhook::store::{self, log, seed};
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
        std::time::Duration::from_secs(2),
        store::secrets::Secrets::ephemeral(),
    )
    .await?;
    let app = store::create_app(&db, "Bench", "bench")
        .await?
        .expect("a fresh app");
    let now = store::now_ms();
    for (i, id) in ["wh_a", "wh_b"].iter().enumerate() {
        seed::insert_webhook(&db, id, app.id, &format!("hook {i}"), now).await?;
    }
    seed::insert_resource(&db, "studio", app.id, now).await?;
    // Booking ids in the shape bookhook writes (a UUID), so the log's box takes them.
    let booking = |n: i64| format!("00000000-0000-7000-8000-{n:012}");
    let email = |n: i64| format!("customer-{n}@example.com");
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
            let m = seed::SeedMessage {
                msg_id: &format!("msg_{i:027}"),
                app_id: app.id,
                webhook_id: if i % 2 == 0 { "wh_a" } else { "wh_b" },
                booking_id: &booking(i / 3),
                graph: graphs[(i % 6) as usize],
                state: states[(i / 6 % 6) as usize],
                status,
                attempts: per,
                created_at: created,
            };
            let id = seed::insert_message(&mut tx, &m).await?;
            for a in 1..=per {
                seed::insert_attempt(&mut tx, id, app.id, a, created + a).await?;
            }
        }
        tx.commit().await?;
        next += 10_000;
    }
    // The bookings and their customers after the messages, in their own transactions, so the
    // messages' pages lie as they did before the log's box needed customers (else the filters
    // that read many messages measure the seeding's interleaving, not their query).
    let bookings = (messages + 2) / 3;
    let mut next = 0i64;
    while next < bookings {
        let mut tx = store::begin_write(&db).await?;
        for n in next..(next + 10_000).min(bookings) {
            let created = now - (messages - n * 3) * 10_000;
            seed::insert_booking_with_customer(
                &mut tx,
                app.id,
                "studio",
                &booking(n),
                &email(n),
                created,
            )
            .await?;
        }
        tx.commit().await?;
        next += 10_000;
    }
    seed::analyze(&db).await?;
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
                booking: booking(mid / 3),
                ..Default::default()
            },
            None,
        ),
        (
            "box: a customer's email",
            LogFilter {
                text: email(mid / 3).to_uppercase(),
                ..Default::default()
            },
            None,
        ),
        (
            "box: a booking id",
            LogFilter {
                text: booking(mid / 3),
                ..Default::default()
            },
            None,
        ),
        (
            "box: a message id",
            LogFilter {
                text: format!("msg_{mid:027}"),
                ..Default::default()
            },
            None,
        ),
        (
            "box: an unknown email + status",
            LogFilter {
                text: "nobody@example.com".into(),
                status: "failed".into(),
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
