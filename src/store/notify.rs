//! SQL of telling the other instances on the same PostgreSQL database: `pg_notify` on their
//! channel.

use sqlx::postgres::PgPool;

/// Sends each payload as one notification on `channel`, all in one statement.
pub async fn notify_all(pool: &PgPool, channel: &str, payloads: &[String]) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
        .bind(channel)
        .bind(payloads)
        .execute(pool)
        .await
        .map(drop)
}
