//! One announcement of change: after a commit that wrote messages or attempts, the notifier
//! wakes the delivery worker, tells the live pages (delivery logs, inspector) of the app, and
//! tells the other instances on the same PostgreSQL database, which do the same on their side.

use crate::peers::{self, Peers};
use std::sync::Arc;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

/// Cloning it shares the same channels.
#[derive(Clone)]
pub struct Notifier {
    wake: Arc<Notify>,
    changes: broadcast::Sender<i64>,
    /// The other instances on the same PostgreSQL database (none on SQLite).
    peers: Option<Arc<Peers>>,
}

impl Notifier {
    /// A notifier for this process alone (SQLite, or a worker driven by a test).
    pub fn local() -> Self {
        let (changes, _) = broadcast::channel(1024);
        Self {
            wake: Arc::new(Notify::new()),
            changes,
            peers: None,
        }
    }

    /// A notifier that also tells, and hears from, the other instances on this PostgreSQL
    /// database (`LISTEN/NOTIFY`) until `stop`.
    pub async fn shared(database_url: &str, stop: CancellationToken) -> anyhow::Result<Self> {
        let mut n = Self::local();
        n.peers = Some(peers::start(database_url, n.wake.clone(), n.changes.clone(), stop).await?);
        Ok(n)
    }

    /// Messages were committed for this app (a booking's transition, a replay, a test event):
    /// the workers here and on the other instances look for them at once, and the app's live
    /// pages refresh.
    pub fn messages_written(&self, app_id: i64) {
        self.wake.notify_one();
        self.tell(app_id, true);
    }

    /// Attempts were recorded, requests captured or messages removed for these apps: their
    /// live pages refresh, here and on the other instances (once per app).
    pub fn log_changed(&self, apps: impl IntoIterator<Item = i64>) {
        let mut apps: Vec<i64> = apps.into_iter().collect();
        apps.sort_unstable();
        apps.dedup();
        for app_id in apps {
            self.tell(app_id, false);
        }
    }

    /// Wakes this process's worker only: room came free, or retries became due.
    pub fn wake_worker(&self) {
        self.wake.notify_one();
    }

    /// Waits until the worker is woken.
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    /// The app ids whose live pages must refresh, as they come.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.changes.subscribe()
    }

    fn tell(&self, app_id: i64, wake: bool) {
        let _ = self.changes.send(app_id);
        if let Some(p) = &self.peers {
            p.tell(app_id, wake);
        }
    }
}
