//! The delivery worker: the `Worker` value, `step` (one claim → attempt → record round) and the pipelined `run`.
//!
//! Each stage has its file: [admission](super::admission) claims due messages within the
//! global bound, the per-endpoint bound and the optional per-endpoint rate, and gives room to
//! messages handed over by the transactions that write them; [attempt](super::attempt) signs
//! and POSTs one message; [record](super::record) writes a batch of attempts with the next
//! state of their messages (see [`super::retry::next_state`]) in one transaction. `step` is
//! what tests drive; `run` is woken at once by committed transitions and by due retries.

use super::admission::Admission;
use super::attempt::Attempter;
pub use super::attempt::{Sent, MAX_RESPONSE_BODY};
use super::record::{Recorder, Round};
use super::retry::RetrySchedule;
use crate::domain::delivery::Trigger;
use crate::domain::webhook::TargetPolicy;
use crate::engine::handoff::{NewMessage, Room, Sender};
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::store::deliveries::{self as sd, AttemptRecord, Claimed, Endpoint};
use crate::store::{now_ms, Db};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;

/// While the database cannot be written, what could not be written is tried again after this
/// pause, doubled each time up to [`RETRY_MAX`]: a database that returns is heard within a
/// second (on PostgreSQL each try also waits up to the settings' `database_wait_secs` for a
/// connection, and takes one the moment the server accepts it).
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(1);

/// On shutdown, rounds not yet written are tried this long before their messages are left to
/// their lease.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Whether a failure of the worker's is the database being unavailable (the store's one rule);
/// the store logs those once per episode, so the worker does not log them again.
fn unavailable(e: &anyhow::Error) -> bool {
    e.downcast_ref::<sqlx::Error>()
        .is_some_and(crate::store::is_unavailable)
}

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub schedule: RetrySchedule,
    pub timeout: Duration,
    /// Messages in flight at once, across all endpoints.
    pub max_in_flight: usize,
    /// Messages in flight at once to one endpoint.
    pub max_per_endpoint: usize,
    /// A webhook with nothing but failures for this long is disabled.
    pub disable_after: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            schedule: RetrySchedule::default(),
            timeout: Duration::from_secs(15),
            max_in_flight: 256,
            max_per_endpoint: 32,
            disable_after: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

pub struct Worker {
    db: Db,
    cfg: WorkerConfig,
    /// Wakes the worker.
    notifier: Notifier,
    /// What is in flight and the room left: the admission stage.
    admission: Admission,
    /// The attempt stage.
    attempter: Attempter,
    /// The record stage.
    recorder: Recorder,
    /// New messages handed over by the transactions that wrote them (see [`Sender`]).
    handed: mpsc::UnboundedSender<Handed>,
    handed_rx: Mutex<Option<mpsc::UnboundedReceiver<Handed>>>,
}

/// New messages handed to the worker by one transaction, each with its room in flight.
type Handed = Vec<(Claimed, OwnedSemaphorePermit)>;

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StepOutcome {
    pub attempted: usize,
    pub delivered: usize,
}

impl Worker {
    pub fn new(
        db: Db,
        policy: TargetPolicy,
        cfg: WorkerConfig,
        notifier: Notifier,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let client = super::client::build(policy.clone(), cfg.timeout)?;
        let (handed, handed_rx) = mpsc::unbounded_channel();
        Ok(Self {
            admission: Admission::new(
                db.clone(),
                cfg.max_in_flight,
                cfg.max_per_endpoint,
                cfg.timeout,
            ),
            attempter: Attempter { client, policy },
            recorder: Recorder {
                db: db.clone(),
                schedule: cfg.schedule.clone(),
                disable_after: cfg.disable_after,
                metrics,
                notifier: notifier.clone(),
            },
            db,
            cfg,
            notifier,
            handed,
            handed_rx: Mutex::new(Some(handed_rx)),
        })
    }

    /// Sends a claimed message once its endpoint has a free request slot, then releases its
    /// claim slot.
    async fn send_claimed(
        &self,
        c: &Claimed,
        e: Option<&Endpoint>,
        trigger: Trigger,
        now: Option<i64>,
    ) -> Sent {
        let gate = self.admission.gate(&c.webhook_id);
        let permit = gate.acquire_owned().await;
        let s = self
            .attempter
            .attempt(c, e, trigger, now.unwrap_or_else(now_ms))
            .await;
        drop(permit);
        self.admission.release(&c.webhook_id);
        s
    }

    /// One round: claim what is due at `now`, send it all, record it all.
    pub async fn step(&self, now: i64) -> anyhow::Result<StepOutcome> {
        let (claimed, endpoints) = self.admission.claim(now, self.cfg.max_in_flight).await?;
        let sends = claimed
            .iter()
            .map(|c| self.send_claimed(c, endpoints.get(&c.webhook_id), trigger_of(c), Some(now)));
        let sent: Vec<Sent> = futures::future::join_all(sends).await;
        let attempted = sent.len();
        let delivered = self.recorder.record(sent, now).await?;
        Ok(StepOutcome {
            attempted,
            delivered,
        })
    }

    /// The pipelined loop: claims while there is room, sends each message on its own task,
    /// and records finished attempts in batches. On `stop` it claims nothing more, lets the
    /// attempts in flight finish and records them before returning.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let slots = self.admission.slots().clone();
        let (tx, rx) = mpsc::unbounded_channel::<Sent>();
        let recorder = {
            let me = self.clone();
            tokio::spawn(async move { me.record_rounds(rx).await })
        };
        let handed = {
            let me = self.clone();
            let tx = tx.clone();
            let stop = stop.clone();
            let rx = self
                .handed_rx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            tokio::spawn(async move {
                if let Some(rx) = rx {
                    me.send_handed(rx, tx, stop).await;
                }
            })
        };
        self.admission.set_running(true);
        loop {
            if stop.is_cancelled() {
                break;
            }
            let room = slots.available_permits();
            let claimed = if room == 0 {
                Ok((vec![], HashMap::new()))
            } else {
                self.admission.claim(now_ms(), room).await
            };
            let full = match claimed {
                Ok((claimed, endpoints)) => {
                    let n = claimed.len();
                    for c in claimed {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let e = endpoints.get(&c.webhook_id).cloned();
                        self.spawn_send(c, e, permit, &tx);
                    }
                    n > 0 && n >= room
                }
                Err(e) => {
                    if !unavailable(&e) {
                        tracing::error!(error = %e, "claiming deliveries failed");
                    }
                    false
                }
            };
            if full {
                // Room ran out: wait for a slot, then claim again.
                tokio::select! {
                    _ = slots.acquire() => {}
                    _ = stop.cancelled() => break,
                }
                continue;
            }
            let wait = match sd::next_due(&self.db).await {
                Ok(Some(t)) => (t - now_ms()).clamp(5, 1_000),
                _ => 1_000,
            };
            tokio::select! {
                _ = self.notifier.woken() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                _ = stop.cancelled() => break,
            }
        }
        // Finish what is in flight: every slot back means every attempt has been sent on.
        self.admission.set_running(false);
        let _ = handed.await;
        let _ = slots.acquire_many(self.cfg.max_in_flight as u32).await;
        drop(tx);
        let _ = recorder.await;
        tracing::info!("delivery worker stopped");
    }
}

impl Worker {
    /// Records finished attempts in batches (rounds). A round that could not be written because
    /// the database is unavailable (full, down) is kept and written again, oldest first, as
    /// soon as the database takes it, so its messages never wait for their lease to expire
    /// because of an outage this process saw and survived. A round refused for another reason
    /// (a bug) is dropped, logged: its claims expire and its messages are sent again.
    async fn record_rounds(&self, mut rx: mpsc::UnboundedReceiver<Sent>) {
        let mut buf = Vec::with_capacity(512);
        let mut unwritten: VecDeque<Round> = VecDeque::new();
        let mut pause = RETRY_FIRST;
        // Set when every sender is gone (the worker is stopping).
        let mut closed: Option<Instant> = None;
        loop {
            match (unwritten.is_empty(), closed.is_some()) {
                (true, true) => break,
                (true, false) => {
                    if rx.recv_many(&mut buf, 1024).await == 0 {
                        break;
                    }
                }
                (false, false) => tokio::select! {
                    n = rx.recv_many(&mut buf, 1024) => if n == 0 { closed = Some(Instant::now()) },
                    _ = tokio::time::sleep(pause) => {}
                },
                (false, true) => tokio::time::sleep(pause).await,
            }
            if !buf.is_empty() {
                let round = self
                    .recorder
                    .decide(std::mem::take(&mut buf), now_ms())
                    .await;
                unwritten.push_back(round);
            }
            while let Some(round) = unwritten.front() {
                match self.recorder.write_round(round).await {
                    Ok(_) => {
                        unwritten.pop_front();
                        pause = RETRY_FIRST;
                    }
                    Err(e) if unavailable(&e) => {
                        pause = (pause * 2).min(RETRY_MAX);
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, attempts = round.attempts(), "recording attempts failed; their claims expire and they are retried");
                        unwritten.pop_front();
                    }
                }
            }
            // Ordered endpoints and freed slots may have made more messages due.
            self.notifier.wake_worker();
            if closed.is_some_and(|t| t.elapsed() > SHUTDOWN_GRACE) && !unwritten.is_empty() {
                let attempts: usize = unwritten.iter().map(Round::attempts).sum();
                tracing::error!(attempts, "stopping with attempts the database did not take; their claims expire and they are retried");
                break;
            }
        }
    }

    /// Sends the messages handed over by committed transactions, each on its own task as
    /// claimed ones are. On `stop` it sends what was handed over before it and returns.
    async fn send_handed(
        self: &Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<Handed>,
        tx: mpsc::UnboundedSender<Sent>,
        stop: CancellationToken,
    ) {
        loop {
            let group = tokio::select! {
                g = rx.recv() => g,
                _ = stop.cancelled() => {
                    // Nothing more is accepted; what is queued is still sent.
                    rx.close();
                    while let Some(group) = rx.recv().await {
                        self.send_group(group, &tx, &stop).await;
                    }
                    return;
                }
            };
            match group {
                Some(group) => self.send_group(group, &tx, &stop).await,
                None => return,
            }
        }
    }

    async fn send_group(
        self: &Arc<Self>,
        group: Handed,
        tx: &mpsc::UnboundedSender<Sent>,
        stop: &CancellationToken,
    ) {
        let mut hooks: Vec<String> = group.iter().map(|(c, _)| c.webhook_id.clone()).collect();
        hooks.sort();
        hooks.dedup();
        // Read now, not when the message was written: an edit in between (a new URL, a
        // rotated secret) applies, as it would to a claimed message. While the database is
        // unavailable the messages keep their room and are sent as soon as it answers.
        let mut pause = RETRY_FIRST;
        let endpoints = loop {
            match sd::endpoints(&self.db, &hooks).await {
                Ok(e) => break e,
                Err(e) if crate::store::is_unavailable(&e) && !stop.is_cancelled() => {
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.cancelled() => {}
                    }
                    pause = (pause * 2).min(RETRY_MAX);
                }
                Err(e) => {
                    if !crate::store::is_unavailable(&e) {
                        tracing::error!(error = %e, messages = group.len(), "reading the endpoints of new messages failed; their claims expire and they are sent then");
                    }
                    for (c, _) in &group {
                        self.admission.release(&c.webhook_id);
                    }
                    return;
                }
            }
        };
        for (c, permit) in group {
            let e = endpoints.get(&c.webhook_id).cloned();
            self.spawn_send(c, e, permit, tx);
        }
    }

    /// Sends a claimed message on a task of its own and passes the attempt on to be recorded;
    /// its room in flight is freed then.
    fn spawn_send(
        self: &Arc<Self>,
        c: Claimed,
        e: Option<Endpoint>,
        permit: OwnedSemaphorePermit,
        tx: &mpsc::UnboundedSender<Sent>,
    ) {
        let me = self.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let s = me.send_claimed(&c, e.as_ref(), trigger_of(&c), None).await;
            let _ = tx.send(s);
            drop(permit);
        });
    }
}

/// The engine hands this worker the messages its transactions claimed for it (see
/// `engine::handoff`): room is the worker's own bounds, held from the transaction until the
/// message has been sent.
impl Sender for Worker {
    fn reserve(&self, webhook_id: &str) -> Option<Room> {
        Some(Box::new(self.admission.room(webhook_id)?))
    }

    fn lease_until(&self) -> i64 {
        now_ms() + self.admission.lease_ms()
    }

    fn send(&self, messages: Vec<(NewMessage, Room)>) {
        let mut group: Handed = Vec::with_capacity(messages.len());
        for (m, room) in messages {
            let hook = m.webhook_id.clone();
            match room.downcast::<OwnedSemaphorePermit>() {
                Ok(permit) => group.push((
                    Claimed {
                        id: m.id,
                        msg_id: m.msg_id,
                        app_id: m.app_id,
                        webhook_id: m.webhook_id,
                        payload: m.payload,
                        attempts: 0,
                        is_test: false,
                    },
                    *permit,
                )),
                // Room this worker did not give: the message waits for its lease.
                Err(_) => self.admission.release(&hook),
            }
        }
        if let Err(mpsc::error::SendError(group)) = self.handed.send(group) {
            // The worker has stopped: the messages wait for their lease to expire.
            for (c, _) in &group {
                self.admission.release(&c.webhook_id);
            }
        }
    }

    fn release(&self, webhook_id: &str, room: Room) {
        drop(room);
        self.admission.release(webhook_id);
    }
}

fn trigger_of(c: &Claimed) -> Trigger {
    if c.is_test {
        Trigger::Test
    } else {
        Trigger::Scheduled
    }
}

impl Worker {
    /// Redeliver now: one manual attempt of a message of this app, whatever its status (even
    /// failed), unless it is being sent at this moment. A success marks it delivered; a failure
    /// leaves its status and schedule as they were. `None`: no such message, or in flight.
    pub async fn redeliver(
        &self,
        app_id: i64,
        msg_id: &str,
    ) -> anyhow::Result<Option<AttemptRecord>> {
        let now = now_ms();
        let Some((c, before)) = crate::store::log::claim_for_manual(
            &self.db,
            app_id,
            msg_id,
            now,
            now + self.admission.lease_ms(),
        )
        .await?
        else {
            return Ok(None);
        };
        let endpoints = sd::endpoints(&self.db, std::slice::from_ref(&c.webhook_id)).await?;
        let sent = self
            .attempter
            .attempt(&c, endpoints.get(&c.webhook_id), Trigger::Manual, now)
            .await;
        self.recorder
            .record_manual(sent, before, now)
            .await
            .map(Some)
    }
}
