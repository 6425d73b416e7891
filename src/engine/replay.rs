//! Replaying failed messages: a bulk replay of a webhook's failed messages starts as a job,
//! then runs in batches from the background loop, resumable across restarts and instances.

use super::error::EngineError;
use crate::store::replays::{self as sr, ReplayJob};
use crate::store::{begin_write, now_ms, Db};

/// Messages a job moves per step, each batch in one transaction.
const BATCH: i64 = 200;

pub(super) fn parse_since(since: &str) -> Result<i64, EngineError> {
    let since = since.trim();
    if since.is_empty() {
        return Ok(0);
    }
    crate::domain::booking::parse_time(&format!("{since}:00Z"))
        .or_else(|| crate::domain::booking::parse_time(since))
        .ok_or_else(|| {
            EngineError::invalid("since", "Give a date and time, e.g. 2026-11-28T09:00.")
        })
}

/// Starts a replay of every failed message of this webhook created since `since` (ms).
/// Returns the job id, or `None` when there is nothing to replay.
pub async fn start(
    db: &Db,
    app_id: i64,
    webhook_id: &str,
    since: i64,
) -> sqlx::Result<Option<i64>> {
    let mut tx = begin_write(db).await?;
    let (n, max_id) = sr::count_failed(&mut tx, app_id, webhook_id, since).await?;
    if n == 0 {
        return Ok(None);
    }
    let id = sr::insert_job(&mut tx, app_id, webhook_id, since, n, max_id, now_ms()).await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// One batch of each running replay: its next failed messages go back to pending, due now,
/// and the job's cursor and count move in the same transaction. Returns the messages
/// re-queued, by app (apps with none left out).
pub async fn step(db: &Db) -> sqlx::Result<Vec<(i64, i64)>> {
    let mut moved = Vec::new();
    for job in sr::running(db).await? {
        let n = step_job(db, &job).await?;
        if n > 0 {
            moved.push((job.app_id, n));
        }
    }
    Ok(moved)
}

async fn step_job(db: &Db, job: &ReplayJob) -> sqlx::Result<i64> {
    let mut tx = begin_write(db).await?;
    // Re-read the cursor under the lock: another instance (or step) may have moved it since
    // the list was read, and each batch must be taken once.
    let Some(cursor) = sr::lock_cursor(&mut tx, job.id).await? else {
        return Ok(0);
    };
    let ids = sr::next_failed(&mut tx, job, cursor, BATCH).await?;
    let now = now_ms();
    if let Some(&last) = ids.last() {
        sr::requeue(&mut tx, &ids, now).await?;
        sr::advance(&mut tx, job.id, last, ids.len() as i64).await?;
    }
    if (ids.len() as i64) < BATCH {
        sr::finish(&mut tx, job.id, now).await?;
    }
    tx.commit().await?;
    Ok(ids.len() as i64)
}
