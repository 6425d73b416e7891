//! SQL of retention: purging, in batches, old attempts, finished messages and captured
//! inspector requests.

use super::write::write_slot;
use super::Db;

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
            let mut slot = write_slot(db).await?;
            let n = sqlx::query(sql)
                .bind(cutoff)
                .execute(&mut *slot)
                .await?
                .rows_affected();
            drop(slot);
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
