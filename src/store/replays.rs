//! SQL of bulk replays: the replay jobs (their range, cursor and progress) and moving a
//! webhook's failed messages back to pending. Writers take a connection inside the caller's
//! transaction.

use super::{Conn, Db};
use sqlx::Row;

/// How many failed messages of this app's webhook were created since `since`, and the
/// highest of their ids (0 when there are none).
pub async fn count_failed(
    conn: &mut Conn,
    app_id: i64,
    webhook_id: &str,
    since: i64,
) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS max_id FROM deliveries \
         WHERE webhook_id = $1 AND app_id = $2 AND status = 'failed' AND created_at >= $3",
    )
    .bind(webhook_id)
    .bind(app_id)
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok((row.get("n"), row.get("max_id")))
}

/// A new running job over `total` messages with ids up to `max_id`; returns its id.
pub async fn insert_job(
    conn: &mut Conn,
    app_id: i64,
    webhook_id: &str,
    since: i64,
    total: i64,
    max_id: i64,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO replays (app_id, webhook_id, since, total, max_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(app_id)
    .bind(webhook_id)
    .bind(since)
    .bind(total)
    .bind(max_id)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// A running job: which messages it replays (the webhook's failed messages created since
/// `since`, with ids up to `max_id`).
#[derive(Clone, Debug)]
pub struct ReplayJob {
    pub id: i64,
    pub app_id: i64,
    pub webhook_id: String,
    pub since: i64,
    pub max_id: i64,
}

/// The running jobs, oldest first.
pub async fn running(db: &Db) -> sqlx::Result<Vec<ReplayJob>> {
    let jobs: Vec<(i64, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT id, app_id, webhook_id, since, max_id FROM replays WHERE status = 'running' ORDER BY id",
    )
    .fetch_all(db)
    .await?;
    Ok(jobs
        .into_iter()
        .map(|(id, app_id, webhook_id, since, max_id)| ReplayJob {
            id,
            app_id,
            webhook_id,
            since,
            max_id,
        })
        .collect())
}

/// The cursor of a job still running (the last message id it re-queued), locked until the
/// transaction ends on PostgreSQL; `None` when the job has finished.
pub async fn lock_cursor(conn: &mut Conn, job_id: i64) -> sqlx::Result<Option<i64>> {
    let lock = super::for_update(conn);
    sqlx::query_scalar(&format!(
        "SELECT cursor FROM replays WHERE id = $1 AND status = 'running'{lock}"
    ))
    .bind(job_id)
    .fetch_optional(conn)
    .await
}

/// The next failed messages of the job after `cursor`, at most `limit`, by id.
pub async fn next_failed(
    conn: &mut Conn,
    job: &ReplayJob,
    cursor: i64,
    limit: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM deliveries WHERE webhook_id = $1 AND status = 'failed' AND created_at >= $2 \
         AND id > $3 AND id <= $4 ORDER BY id LIMIT $5",
    )
    .bind(&job.webhook_id)
    .bind(job.since)
    .bind(cursor)
    .bind(job.max_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// These messages, those still failed, go back to pending, due at `now`.
pub async fn requeue(conn: &mut Conn, ids: &[i64], now: i64) -> sqlx::Result<()> {
    let marks = super::marks(3, ids.len());
    let sql = format!(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $2 \
         WHERE id IN ({marks}) AND status = 'failed'"
    );
    let mut q = sqlx::query(&sql).bind(now).bind(now);
    for d in ids {
        q = q.bind(d);
    }
    q.execute(conn).await.map(drop)
}

/// The job has re-queued `n` more messages, up to the id `cursor`.
pub async fn advance(conn: &mut Conn, job_id: i64, cursor: i64, n: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE replays SET cursor = $1, done = done + $2 WHERE id = $3")
        .bind(cursor)
        .bind(n)
        .bind(job_id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn finish(conn: &mut Conn, job_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE replays SET status = 'finished', finished_at = $1 WHERE id = $2")
        .bind(now)
        .bind(job_id)
        .execute(conn)
        .await
        .map(drop)
}

/// A job's progress, as the webhook's health shows it.
pub struct ReplayProgress {
    pub total: i64,
    pub done: i64,
    pub finished: bool,
    pub since: i64,
}

/// The progress of this webhook's latest job, if it ever had one.
pub async fn latest(db: &Db, webhook_id: &str) -> sqlx::Result<Option<ReplayProgress>> {
    Ok(sqlx::query(
        "SELECT total, done, status, since FROM replays WHERE webhook_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(webhook_id)
    .fetch_optional(db)
    .await?
    .map(|r| ReplayProgress {
        total: r.get("total"),
        done: r.get("done"),
        finished: r.get::<&str, _>("status") == "finished",
        since: r.get("since"),
    }))
}
