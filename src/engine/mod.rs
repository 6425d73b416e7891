//! The use cases: creating a booking and applying its actions (each one transaction that moves
//! the state, writes the booking log and the outbox), the scheduler that applies due timeouts
//! and auto-completes, managing webhooks, replays and housekeeping. The API, the panel and the
//! scheduler call them the same way, through [`Engine`]; the submodules hold how each is done.

pub mod bookings;
pub mod check;
pub mod commit;
pub mod error;
pub mod handoff;
pub mod replay;
pub mod webhooks;

pub use bookings::{available_actions, booking_out, Actor, NewBooking, NewCustomer};
pub use error::EngineError;

use crate::domain::booking::BookingOut;
use crate::domain::graph::Action;
use crate::domain::subscription::SecretOut;
use crate::domain::webhook::TargetPolicy;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::store::webhooks::WebhookRow;
use crate::store::{self, now_ms, AppRow, Db};
use handoff::Sender;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use webhooks::WebhookInput;

/// The use cases over one database. Each one that writes messages commits them, then
/// announces them (the worker sends them, live logs refresh). Cloning it shares the same
/// group-commit writer.
#[derive(Clone)]
pub struct Engine {
    db: Db,
    notifier: Notifier,
    bookings: commit::Committer,
    /// Where webhooks may point.
    policy: TargetPolicy,
}

impl Engine {
    /// New bookings' messages go straight to `sender` (the worker) while it has room for
    /// them (see [`handoff`]).
    pub fn new(
        db: Db,
        notifier: Notifier,
        metrics: Arc<Metrics>,
        sender: Option<Arc<dyn Sender>>,
        policy: TargetPolicy,
    ) -> Self {
        Self {
            bookings: commit::Committer::start(db.clone(), metrics, sender),
            db,
            notifier,
            policy,
        }
    }

    /// Creates a booking in its graph's first state (in the next group's transaction).
    pub async fn create_booking(
        &self,
        app: &AppRow,
        nb: NewBooking,
        actor: &Actor,
    ) -> Result<BookingOut, EngineError> {
        let out = self.bookings.create_booking(app, nb, actor).await?;
        self.notifier.messages_written(app.id);
        Ok(out)
    }

    /// Applies `action` to a booking of this app; returns the booking afterwards.
    /// `details` is the action's body (`{"message": …}` for decline, `{"payment_id": …}` for pay).
    pub async fn apply_action(
        &self,
        app_id: i64,
        booking_id: &str,
        action: Action,
        details: Map<String, Value>,
        actor: &Actor,
    ) -> Result<BookingOut, EngineError> {
        let out =
            bookings::apply_action(&self.db, app_id, booking_id, action, details, actor).await?;
        self.notifier.messages_written(app_id);
        Ok(out)
    }

    /// Replaces a booking's meta (no transition, no message).
    pub async fn update_meta(
        &self,
        app_id: i64,
        booking_id: &str,
        meta: Map<String, Value>,
    ) -> Result<BookingOut, EngineError> {
        bookings::update_meta(&self.db, app_id, booking_id, meta).await
    }

    /// Deletes a booking in a final state.
    pub async fn delete_booking(&self, app_id: i64, booking_id: &str) -> Result<(), EngineError> {
        bookings::delete_booking(&self.db, app_id, booking_id).await
    }

    /// One scheduler step: applies every engine action due at `now` (at most `limit`), each in
    /// its own transaction, and announces them. Returns how many were applied.
    pub async fn run_due(&self, now: i64, limit: i64) -> Result<usize, EngineError> {
        let apps = bookings::run_due(&self.db, now, limit).await?;
        for app_id in dedup(apps.clone()) {
            self.notifier.messages_written(app_id);
        }
        Ok(apps.len())
    }

    /// The scheduler loop: runs due actions, then sleeps until the next is due (at most 5 s).
    pub async fn run_scheduler(&self, stop: tokio_util::sync::CancellationToken) {
        loop {
            // An unavailable database is logged once per episode by the store.
            match self.run_due(now_ms(), 500).await {
                Ok(_) | Err(EngineError::Unavailable) => {}
                Err(e) => tracing::error!(error = %e, "applying due booking actions failed"),
            }
            let wait = match store::bookings::next_due_at(&self.db).await {
                Ok(Some(t)) => (t - now_ms()).clamp(10, 5_000),
                _ => 5_000,
            };
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(wait as u64)) => {}
                _ = stop.cancelled() => return,
            }
        }
    }

    /// Creates a webhook of this app, its fields checked as every create is.
    pub async fn create_webhook(
        &self,
        app_id: i64,
        input: WebhookInput,
    ) -> Result<WebhookRow, EngineError> {
        webhooks::create(&self.db, &self.policy, app_id, input).await
    }

    /// Changes the fields given of a webhook of this app.
    pub async fn update_webhook(
        &self,
        app_id: i64,
        id: &str,
        input: WebhookInput,
    ) -> Result<WebhookRow, EngineError> {
        webhooks::update(&self.db, &self.policy, app_id, id, input).await
    }

    /// Re-enables a disabled webhook; the messages it held are sent now.
    pub async fn enable_webhook(&self, app_id: i64, id: &str) -> Result<WebhookRow, EngineError> {
        let input = WebhookInput {
            enabled: Some(true),
            ..Default::default()
        };
        let h = webhooks::update(&self.db, &self.policy, app_id, id, input).await?;
        self.notifier.messages_written(app_id);
        Ok(h)
    }

    pub async fn delete_webhook(&self, app_id: i64, id: &str) -> Result<(), EngineError> {
        webhooks::delete(&self.db, app_id, id).await
    }

    /// A new signing secret; the old one keeps signing beside it for 24 hours.
    pub async fn rotate_secret(&self, app_id: i64, id: &str) -> Result<SecretOut, EngineError> {
        webhooks::rotate_secret(&self.db, app_id, id).await
    }

    /// Sends a test event to a webhook through the real pipeline; returns its message id.
    pub async fn send_test(
        &self,
        app_id: i64,
        id: &str,
        graph: &str,
        state: &str,
    ) -> Result<String, EngineError> {
        let msg_id = webhooks::send_test(&self.db, app_id, id, graph, state).await?;
        self.notifier.messages_written(app_id);
        Ok(msg_id)
    }

    /// Replays every failed message of this webhook created since `since`: a time as
    /// `YYYY-MM-DDTHH:MM` read as UTC (what a `datetime-local` field sends) or RFC 3339; empty
    /// for all time. The job runs in the background ([`step`]) and survives restarts. Returns
    /// the job id, or `None` when there is nothing to replay.
    pub async fn replay_failed(
        &self,
        app_id: i64,
        webhook_id: &str,
        since: &str,
    ) -> Result<Option<i64>, EngineError> {
        webhooks::get(&self.db, app_id, webhook_id).await?;
        let since = replay::parse_since(since)?;
        Ok(replay::start(&self.db, app_id, webhook_id, since).await?)
    }

    /// Runs replays as they come (every second while any runs) and retention once an hour,
    /// until `stop`.
    pub async fn run_housekeeping(&self, retention: Duration, stop: CancellationToken) {
        let mut last_purge = 0i64;
        loop {
            // An unavailable database is logged once per episode by the store.
            match self.replay_step().await {
                Err(e) if !store::is_unavailable(&e) => {
                    tracing::error!(error = %e, "bulk replay step failed")
                }
                _ => {}
            }
            let now = now_ms();
            if now - last_purge > 3_600_000 {
                last_purge = now;
                match self.purge(now - retention.as_millis() as i64).await {
                    Err(e) if !store::is_unavailable(&e) => {
                        tracing::error!(error = %e, "retention purge failed")
                    }
                    _ => {}
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
        for (app_id, n) in replay::step(&self.db).await? {
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

fn dedup(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}
