//! SQL of a webhook's health: its recent attempts, since when it fails, and the messages it
//! holds while disabled.

use super::Db;
use sqlx::Row;

/// One attempt, as the health figures count it.
pub struct AttemptSample {
    pub started_at: i64,
    pub duration_ms: i64,
    pub delivered: bool,
}

/// The webhook's attempts started at `from` or later, newest first, at most 20,000.
pub async fn attempts_since(
    db: &Db,
    webhook_id: &str,
    from: i64,
) -> sqlx::Result<Vec<AttemptSample>> {
    let rows = sqlx::query(
        "SELECT started_at, duration_ms, outcome FROM attempts WHERE webhook_id = $1 AND started_at >= $2 \
         ORDER BY started_at DESC LIMIT 20000",
    )
    .bind(webhook_id)
    .bind(from)
    .fetch_all(db)
    .await?;
    Ok(rows
        .iter()
        .map(|r| AttemptSample {
            started_at: r.get("started_at"),
            duration_ms: r.get("duration_ms"),
            delivered: r.get::<&str, _>("outcome") == "delivered",
        })
        .collect())
}

/// Since when the webhook fails (`None` while it succeeds); an error when it does not exist.
pub async fn failing_since(db: &Db, webhook_id: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT failing_since FROM webhooks WHERE id = $1")
        .bind(webhook_id)
        .fetch_one(db)
        .await
}

/// How many of the webhook's messages wait to be sent (pending or being sent).
pub async fn waiting(db: &Db, webhook_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE webhook_id = $1 AND status IN ('pending', 'delivering')",
    )
    .bind(webhook_id)
    .fetch_one(db)
    .await
}
