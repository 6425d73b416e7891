//! The record stage: each attempted message's next state and its endpoint's health, written with the attempts at once.

use super::attempt::Sent;
use super::retry::{self, Attempted, Health, RetrySchedule};
use super::trace::{Distinct, Ids};
use crate::domain::delivery::{DeliveryStatus, Outcome};
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::store::deliveries::{self as sd, AttemptRecord, HealthChanges};
use crate::store::Db;
use std::sync::Arc;
use std::time::Duration;

/// What recording needs: where to write, the rules that decide, and whom to tell.
pub(super) struct Recorder {
    pub(super) db: Db,
    pub(super) schedule: RetrySchedule,
    /// A webhook with nothing but failures for this long is disabled.
    pub(super) disable_after: Duration,
    pub(super) metrics: Arc<Metrics>,
    pub(super) notifier: Notifier,
}

/// A batch of attempts decided and not yet written: what [`Recorder::write_round`] writes, as
/// often as it takes.
pub(super) struct Round {
    records: Vec<AttemptRecord>,
    health: HealthChanges,
    delivered: usize,
    now: i64,
}

impl Round {
    pub(super) fn attempts(&self) -> usize {
        self.records.len()
    }
}

impl Recorder {
    /// Decides the next state of each claimed message and the endpoints' health, and writes it
    /// all in one transaction. Returns how many were delivered.
    #[tracing::instrument(
        name = "record",
        level = "debug",
        skip_all,
        fields(
            attempts = sent.len(),
            messages = ?Ids(sent.iter().map(|s| s.record.delivery_id)),
            webhooks = ?Distinct(sent.iter().map(|s| s.record.webhook_id.as_str())),
        )
    )]
    pub(super) async fn record(&self, sent: Vec<Sent>, now: i64) -> anyhow::Result<usize> {
        let round = self.decide(sent, now).await;
        self.write_round(&round).await?;
        Ok(round.delivered)
    }

    /// Writes a decided round (again, after a failure: nothing of it was kept) and tells the
    /// live logs. Returns how many were delivered.
    pub(super) async fn write_round(&self, round: &Round) -> anyhow::Result<usize> {
        if round.records.is_empty() {
            return Ok(0);
        }
        self.write(&round.records, &round.health, round.now).await?;
        Ok(round.delivered)
    }

    /// Decides the next state of each claimed message and the endpoints' health; counts the
    /// attempts in the metrics, once, however often the round must be written.
    pub(super) async fn decide(&self, sent: Vec<Sent>, now: i64) -> Round {
        if sent.is_empty() {
            return Round {
                records: vec![],
                health: HealthChanges::default(),
                delivered: 0,
                now,
            };
        }
        // Only endpoints that failed now can have been failing long enough to be disabled.
        let mut hooks: Vec<String> = sent
            .iter()
            .filter(|s| s.record.outcome == Outcome::Failed)
            .map(|s| s.record.webhook_id.clone())
            .collect();
        hooks.sort();
        hooks.dedup();
        // When this cannot be read (the database is down), the round is decided as if none of
        // them were failing yet: their failure run still starts or goes on when it is written,
        // and a webhook due to be disabled is disabled by its next failure instead.
        let failing = sd::failing_since(&self.db, &hooks)
            .await
            .unwrap_or_default();
        let mut health = HealthChanges::default();
        let mut delivered = 0;
        let mut records = Vec::with_capacity(sent.len());
        for s in sent {
            let since = failing.get(&s.record.webhook_id).copied();
            // A claimed message was pending (or claimed by a worker that died).
            let (r, effect) = self.settle(s, DeliveryStatus::Pending, since, now);
            note(&mut health, &r.webhook_id, effect);
            if r.outcome == Outcome::Delivered {
                delivered += 1;
            }
            records.push(r);
        }
        // A success in the batch wins over failures of the same endpoint in it.
        health.failing.retain(|h| !health.recovered.contains(h));
        health.recovered.dedup();
        health.failing.dedup();
        health.disable.dedup();
        Round {
            records,
            health,
            delivered,
            now,
        }
    }

    /// Decides what a manual attempt does to its message, which had status `before`, and
    /// writes it.
    #[tracing::instrument(
        name = "record",
        level = "debug",
        skip_all,
        fields(message = sent.record.delivery_id, webhook = %sent.record.webhook_id)
    )]
    pub(super) async fn record_manual(
        &self,
        sent: Sent,
        before: DeliveryStatus,
        now: i64,
    ) -> anyhow::Result<AttemptRecord> {
        // How long its webhook has been failing does not matter to a manual attempt.
        let (r, effect) = self.settle(sent, before, None, now);
        let mut health = HealthChanges::default();
        note(&mut health, &r.webhook_id, effect);
        self.write(std::slice::from_ref(&r), &health, now).await?;
        Ok(r)
    }

    /// Counts an attempt and decides what it leads to (see [`retry::next_state`]): its record
    /// with its message's next state, and what it does to its webhook.
    fn settle(
        &self,
        s: Sent,
        before: DeliveryStatus,
        failing_since: Option<i64>,
        now: i64,
    ) -> (AttemptRecord, Health) {
        let mut r = s.record;
        self.metrics.observe(r.outcome.as_str(), s.duration);
        let attempted = Attempted {
            outcome: r.outcome,
            trigger: r.trigger,
            attempt: r.attempt as u32,
            response_status: r.response_status.map(|st| st as u16),
            retry_after: s.retry_after,
            status_before: before,
            failing_since,
        };
        let next = retry::next_state(
            &attempted,
            &self.schedule,
            self.disable_after,
            now,
            rand::random::<f64>(),
        );
        r.next_status = next.status;
        r.next_attempt_at = next.attempt_at;
        (r, next.webhook)
    }

    /// Writes attempts, their messages' next state and the endpoints' health in one
    /// transaction, then tells the live logs.
    async fn write(
        &self,
        records: &[AttemptRecord],
        health: &HealthChanges,
        now: i64,
    ) -> anyhow::Result<()> {
        sd::record(&self.db, records, health, now).await?;
        self.notifier.log_changed(records.iter().map(|r| r.app_id));
        Ok(())
    }
}

/// Adds what an attempt does to its webhook to a batch's health changes.
fn note(health: &mut HealthChanges, hook: &str, effect: Health) {
    match effect {
        Health::Unchanged => {}
        Health::Recovered => health.recovered.push(hook.to_owned()),
        Health::Failing { disable } => {
            health.failing.push(hook.to_owned());
            if disable {
                health.disable.push((hook.to_owned(), "failing"));
            }
        }
        Health::Gone => health.disable.push((hook.to_owned(), "gone")),
    }
}
