//! Background jobs beside the worker: steps of bulk replays of failed messages (see
//! `engine::replay`) and retention (see `store::retention`).

use crate::store::{now_ms, Db};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs replays as they come (every second while any runs) and retention once an hour.
pub async fn run(
    db: Db,
    retention: Duration,
    notifier: crate::notify::Notifier,
    stop: CancellationToken,
) {
    let mut last_purge = 0i64;
    loop {
        match crate::engine::replay::step(&db).await {
            Ok(0) => {}
            Ok(_) => notifier.wake_worker(),
            Err(e) => tracing::error!(error = %e, "bulk replay step failed"),
        }
        let now = now_ms();
        if now - last_purge > 3_600_000 {
            last_purge = now;
            match crate::store::retention::purge(&db, now - retention.as_millis() as i64).await {
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
