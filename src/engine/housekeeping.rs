//! Background work beside the scheduler: the steps of bulk replays of failed messages (see
//! `replay`) and retention (see `store::retention`), each announced like any other write.

use super::Engine;
use crate::store::{self, now_ms};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Engine {
    /// Runs replays as they come (every second while any runs) and retention once an hour,
    /// until `stop`.
    pub async fn run_housekeeping(&self, retention: Duration, stop: CancellationToken) {
        let mut last_purge = 0i64;
        loop {
            if let Err(e) = self.replay_step().await {
                tracing::error!(error = %e, "bulk replay step failed");
            }
            let now = now_ms();
            if now - last_purge > 3_600_000 {
                last_purge = now;
                if let Err(e) = self.purge(now - retention.as_millis() as i64).await {
                    tracing::error!(error = %e, "retention purge failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// One step of each running replay; the messages it re-queued go out at once.
    pub async fn replay_step(&self) -> sqlx::Result<i64> {
        let mut moved = 0;
        for (app_id, n) in super::replay::step(&self.db).await? {
            moved += n;
            self.notifier.messages_written(app_id);
        }
        Ok(moved)
    }

    /// Deletes what is older than `cutoff` (finished messages, attempts, captured requests);
    /// every app's live pages refresh when anything went.
    async fn purge(&self, cutoff: i64) -> sqlx::Result<()> {
        let n = store::retention::purge(&self.db, cutoff).await?;
        if n > 0 {
            tracing::info!(rows = n, "retention purged old attempts and messages");
            let apps = store::list_apps(&self.db).await?;
            self.notifier.log_changed(apps.iter().map(|a| a.id));
        }
        Ok(())
    }
}
