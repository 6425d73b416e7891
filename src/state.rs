//! The server's shared state: what every handler, server function and task is given.

use crate::auth::LoginThrottle;
use crate::config::Settings;
use crate::delivery::metrics::Metrics;
use crate::delivery::worker::Worker;
use crate::engine::commit::Committer;
use crate::store::Db;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub throttle: Arc<LoginThrottle>,
    /// Woken after a commit that wrote deliveries, so the worker sends them at once.
    pub wake: Arc<tokio::sync::Notify>,
    pub metrics: Arc<Metrics>,
    /// The delivery worker (it runs only with `delivery_enabled`; manual redeliveries use it
    /// either way).
    pub worker: Arc<Worker>,
    /// Ids of apps whose delivery log just changed, for the live log.
    pub changes: tokio::sync::broadcast::Sender<i64>,
    /// Where this server's request inspector is reached (its listen address; 127.0.0.1 when
    /// listening on all interfaces).
    pub inspector_addr: SocketAddr,
    /// The other instances on the same PostgreSQL database (none on SQLite).
    pub peers: Option<Arc<crate::peers::Peers>>,
    /// Creates bookings in shared transactions (group commit).
    pub bookings: Committer,
}

impl AppState {
    /// After a commit that may have written deliveries for this app: wake the worker and the
    /// app's live delivery logs.
    pub fn committed(&self, app_id: i64) {
        self.wake.notify_one();
        let _ = self.changes.send(app_id);
        if let Some(p) = &self.peers {
            p.tell(app_id, true);
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}
