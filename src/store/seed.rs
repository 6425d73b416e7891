//! SQL of seeding a database for the log benchmark (`make bench-log`): webhooks, messages,
//! attempts and the bookings' customers written straight in, without the engine or the worker.

use super::write::write_slot;
use super::{Conn, Db};

/// A webhook of this app posting to `https://example.com/`, with a fixed secret.
pub async fn insert_webhook(
    db: &Db,
    id: &str,
    app_id: i64,
    name: &str,
    now: i64,
) -> sqlx::Result<()> {
    let mut slot = write_slot(db).await?;
    sqlx::query("INSERT INTO webhooks (id, app_id, name, url, secret, created_at, updated_at) VALUES ($1, $2, $3, 'https://example.com/', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', $4, $5)")
        .bind(id)
        .bind(app_id)
        .bind(name)
        .bind(now)
        .bind(now)
        .execute(&mut *slot)
        .await
        .map(drop)
}

/// A message as the benchmark seeds it: a `confirm` with an empty payload, last answered 200.
pub struct SeedMessage<'a> {
    pub msg_id: &'a str,
    pub app_id: i64,
    pub webhook_id: &'a str,
    pub booking_id: &'a str,
    pub graph: &'a str,
    pub state: &'a str,
    pub status: &'a str,
    pub attempts: i64,
    /// Also its next attempt time and its last update.
    pub created_at: i64,
}

/// Inserts the message; returns its id.
pub async fn insert_message(conn: &mut Conn, m: &SeedMessage<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO deliveries (msg_id, app_id, webhook_id, booking_id, graph, state, action, payload, status, attempts, next_attempt_at, last_status_code, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'confirm', '{}', $7, $8, $9, 200, $10, $11) RETURNING id")
        .bind(m.msg_id).bind(m.app_id).bind(m.webhook_id)
        .bind(m.booking_id).bind(m.graph).bind(m.state)
        .bind(m.status).bind(m.attempts).bind(m.created_at).bind(m.created_at).bind(m.created_at)
        .fetch_one(conn)
        .await
}

/// A failed scheduled attempt (HTTP 500 in 12 ms) of the message `delivery_id`, recorded
/// under the webhook `wh_a`.
pub async fn insert_attempt(
    conn: &mut Conn,
    delivery_id: i64,
    app_id: i64,
    attempt: i64,
    started_at: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO attempts (delivery_id, app_id, webhook_id, attempt, trigger, outcome, started_at, duration_ms, request_url, request_headers, response_status) \
         VALUES ($1, $2, 'wh_a', $3, 'scheduled', 'failed', $4, 12, 'https://example.com/', '[]', 500)")
        .bind(delivery_id)
        .bind(app_id)
        .bind(attempt)
        .bind(started_at)
        .execute(conn)
        .await
        .map(drop)
}

/// A resource of this app, for the seeded bookings.
pub async fn insert_resource(db: &Db, id: &str, app_id: i64, now: i64) -> sqlx::Result<()> {
    let mut slot = write_slot(db).await?;
    sqlx::query("INSERT INTO resources (id, app_id, name, timezone, created_at, updated_at) VALUES ($1, $2, 'Studio', 'UTC', $3, $4)")
        .bind(id)
        .bind(app_id)
        .bind(now)
        .bind(now)
        .execute(&mut *slot)
        .await
        .map(drop)
}

/// A confirmed instant booking on `resource_id` with one customer of this email.
pub async fn insert_booking_with_customer(
    conn: &mut Conn,
    app_id: i64,
    resource_id: &str,
    booking_id: &str,
    email: &str,
    created_at: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO bookings (id, app_id, resource_id, graph, state, start_at, end_at, created_at, updated_at) \
         VALUES ($1, $2, $3, 'instant', 'confirmed', $4, $5, $6, $7)")
        .bind(booking_id).bind(app_id).bind(resource_id)
        .bind(created_at).bind(created_at + 3_600_000).bind(created_at).bind(created_at)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO customers (id, booking_id, name, email, created_at, updated_at) \
         VALUES ($1, $2, 'Customer', $3, $4, $5)",
    )
    .bind(format!("c-{booking_id}"))
    .bind(booking_id)
    .bind(email)
    .bind(created_at)
    .bind(created_at)
    .execute(&mut *conn)
    .await
    .map(drop)
}

/// Refreshes the planner's statistics after the seeding.
pub async fn analyze(db: &Db) -> sqlx::Result<()> {
    sqlx::query("ANALYZE").execute(db).await.map(drop)
}
