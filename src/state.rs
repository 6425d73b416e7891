//! The server's shared state: what every handler, server function and task is given.

use crate::auth::LoginThrottle;
use crate::config::Settings;
use crate::delivery::worker::Worker;
use crate::engine::Engine;
use crate::metrics::Metrics;
use crate::notify::Notifier;
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
    pub metrics: Arc<Metrics>,
    /// The delivery worker (it runs only with `delivery_enabled`; manual redeliveries use it
    /// either way).
    pub worker: Arc<Worker>,
    /// Announces committed changes: wakes the worker, refreshes live pages, tells the other
    /// instances.
    pub notifier: Notifier,
    /// The use cases.
    pub engine: Engine,
    /// Where this server's request inspector is reached (its listen address; 127.0.0.1 when
    /// listening on all interfaces).
    pub inspector_addr: SocketAddr,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}
