//! Several instances on one PostgreSQL database tell each other about commits with
//! `LISTEN/NOTIFY`: a transition committed on one instance wakes the delivery workers of all,
//! and a recorded attempt refreshes live delivery logs whichever instance a browser is on.
//! On SQLite there is one instance and nothing to tell.

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, Notify};
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "bookhook_changes";

/// What an instance tells the others: this app's deliveries changed; `wake` when there may be
/// new messages to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Event {
    app_id: i64,
    wake: bool,
}

/// The sending side, held by the server and the worker.
#[derive(Debug)]
pub struct Peers {
    tx: mpsc::Sender<Event>,
}

impl Peers {
    /// Tells the other instances (never blocks; under a burst, events are merged).
    pub fn tell(&self, app_id: i64, wake: bool) {
        let _ = self.tx.try_send(Event { app_id, wake });
    }
}

/// `<instance>:<app_id>:<w|l>`
fn encode(instance: &str, e: Event) -> String {
    format!("{instance}:{}:{}", e.app_id, if e.wake { 'w' } else { 'l' })
}

fn decode(payload: &str) -> Option<(&str, Event)> {
    let mut parts = payload.splitn(3, ':');
    let instance = parts.next()?;
    let app_id = parts.next()?.parse().ok()?;
    let wake = match parts.next()? {
        "w" => true,
        "l" => false,
        _ => return None,
    };
    Some((instance, Event { app_id, wake }))
}

/// Starts the notifier and the listener of this instance. Events from other instances wake
/// `wake` and go to `changes` as if they had happened here.
pub async fn start(
    database_url: &str,
    wake: Arc<Notify>,
    changes: broadcast::Sender<i64>,
    stop: CancellationToken,
) -> anyhow::Result<Arc<Peers>> {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await?;
    let instance = crate::auth::generate_msg_id();
    let (tx, rx) = mpsc::channel(4096);
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    tokio::spawn(notify_loop(pool, instance.clone(), rx, stop.clone()));
    tokio::spawn(listen_loop(listener, instance, wake, changes, stop));
    Ok(Arc::new(Peers { tx }))
}

async fn notify_loop(
    pool: PgPool,
    instance: String,
    mut rx: mpsc::Receiver<Event>,
    stop: CancellationToken,
) {
    let mut buf = Vec::with_capacity(256);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut buf, 256) => if n == 0 { return },
            _ = stop.cancelled() => return,
        }
        // One notification per app and kind per round, all in one statement.
        buf.sort_by_key(|e| (e.app_id, e.wake));
        buf.dedup();
        let payloads: Vec<String> = buf.drain(..).map(|e| encode(&instance, e)).collect();
        match crate::store::notify::notify_all(&pool, CHANNEL, &payloads).await {
            // The others still find new messages within their worker's one-second poll; an
            // unavailable database is logged once per episode by the store.
            Err(e) if !crate::store::is_unavailable(&e) => {
                tracing::warn!(error = %e, "notifying the other instances failed")
            }
            _ => {}
        }
    }
}

async fn listen_loop(
    mut listener: PgListener,
    instance: String,
    wake: Arc<Notify>,
    changes: broadcast::Sender<i64>,
    stop: CancellationToken,
) {
    loop {
        let n = tokio::select! {
            n = listener.recv() => n,
            _ = stop.cancelled() => return,
        };
        match n {
            Ok(n) => {
                if let Some((from, e)) = decode(n.payload()) {
                    if from != instance {
                        if e.wake {
                            wake.notify_one();
                        }
                        let _ = changes.send(e.app_id);
                    }
                }
            }
            Err(e) => {
                // The listener reconnects on the next recv; what was sent meanwhile is caught
                // up by waking the worker once.
                if !crate::store::is_unavailable(&e) {
                    tracing::warn!(error = %e, "listening for the other instances failed");
                }
                wake.notify_one();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_junk_is_ignored() {
        let e = Event {
            app_id: 42,
            wake: true,
        };
        assert_eq!(decode(&encode("msg_abc", e)), Some(("msg_abc", e)));
        let l = Event {
            app_id: 7,
            wake: false,
        };
        assert_eq!(decode(&encode("i", l)), Some(("i", l)));
        for junk in ["", "a", "a:b:w", "a:1:x", "a:1"] {
            assert_eq!(decode(junk), None, "{junk}");
        }
    }
}
