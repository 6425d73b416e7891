//! Background jobs beside the worker: bulk replays of failed messages (resumable, in batches)
//! and retention (old attempts and finished messages purged in batches).

use crate::store::{now_ms, Db};
use sqlx::Row;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: i64 = 200;

/// Starts a replay of every failed message of this webhook created since `since`.
/// Returns the job id, or `None` when there is nothing to replay.
pub async fn start_replay(
    db: &Db,
    app_id: i64,
    webhook_id: &str,
    since: i64,
) -> sqlx::Result<Option<i64>> {
    let mut tx = crate::store::begin_write(db).await?;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS max_id FROM deliveries \
         WHERE webhook_id = $1 AND app_id = $2 AND status = 'failed' AND created_at >= $3",
    )
    .bind(webhook_id)
    .bind(app_id)
    .bind(since)
    .fetch_one(&mut *tx)
    .await?;
    let (n, max_id): (i64, i64) = (row.get("n"), row.get("max_id"));
    if n == 0 {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO replays (app_id, webhook_id, since, total, max_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(app_id)
    .bind(webhook_id)
    .bind(since)
    .bind(n)
    .bind(max_id)
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// One batch of each running replay: its next failed messages go back to pending, due now,
/// and the job's cursor and count move in the same transaction. Returns messages re-queued.
pub async fn replay_step(db: &Db) -> sqlx::Result<i64> {
    let jobs: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, webhook_id, since, cursor, max_id FROM replays WHERE status = 'running' ORDER BY id",
    )
    .fetch_all(db)
    .await?;
    let mut moved = 0;
    for (id, webhook, since, _, max_id) in jobs {
        let mut tx = crate::store::begin_write(db).await?;
        // Re-read the cursor under the lock: another instance (or step) may have moved it
        // since the list was read, and each batch must be taken once.
        let lock = crate::store::for_update(&tx);
        let cursor: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT cursor FROM replays WHERE id = $1 AND status = 'running'{lock}"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(cursor) = cursor else {
            continue;
        };
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM deliveries WHERE webhook_id = $1 AND status = 'failed' AND created_at >= $2 \
             AND id > $3 AND id <= $4 ORDER BY id LIMIT $5",
        )
        .bind(&webhook)
        .bind(since)
        .bind(cursor)
        .bind(max_id)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let now = now_ms();
        if let Some(last) = ids.last() {
            let marks = crate::store::marks(3, ids.len());
            let sql = format!(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $2 \
                 WHERE id IN ({marks}) AND status = 'failed'"
            );
            let mut q = sqlx::query(&sql).bind(now).bind(now);
            for d in &ids {
                q = q.bind(d);
            }
            q.execute(&mut *tx).await?;
            sqlx::query("UPDATE replays SET cursor = $1, done = done + $2 WHERE id = $3")
                .bind(last)
                .bind(ids.len() as i64)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            moved += ids.len() as i64;
        }
        if (ids.len() as i64) < BATCH {
            sqlx::query("UPDATE replays SET status = 'finished', finished_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(moved)
}

/// Deletes, in batches, attempts older than `cutoff` and finished (delivered or failed)
/// messages last touched before it, and inspector requests older than it. Pending messages
/// are never purged. Returns rows deleted.
pub async fn purge(db: &Db, cutoff: i64) -> sqlx::Result<u64> {
    let statements = [
        "DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE started_at < $1 LIMIT 1000)",
        "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE status IN ('delivered', 'failed') \
         AND updated_at < $1 LIMIT 1000)",
        "DELETE FROM bin_requests WHERE id IN (SELECT id FROM bin_requests WHERE received_at < $1 LIMIT 1000)",
    ];
    let mut total = 0;
    for sql in statements {
        loop {
            let n = sqlx::query(sql)
                .bind(cutoff)
                .execute(db)
                .await?
                .rows_affected();
            total += n;
            if n < 1000 {
                break;
            }
            // Let other writers in between batches.
            tokio::task::yield_now().await;
        }
    }
    Ok(total)
}

/// Runs replays as they come (every second while any runs) and retention once an hour.
pub async fn run(
    db: Db,
    retention: Duration,
    notifier: crate::notify::Notifier,
    stop: CancellationToken,
) {
    let mut last_purge = 0i64;
    loop {
        match replay_step(&db).await {
            Ok(0) => {}
            Ok(_) => notifier.wake_worker(),
            Err(e) => tracing::error!(error = %e, "bulk replay step failed"),
        }
        let now = now_ms();
        if now - last_purge > 3_600_000 {
            last_purge = now;
            match purge(&db, now - retention.as_millis() as i64).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "retention purged old attempts and messages"),
                Err(e) => tracing::error!(error = %e, "retention purge failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.cancelled() => return,
        }
    }
}
