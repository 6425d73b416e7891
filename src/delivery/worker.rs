//! The delivery worker: claims due messages under a lease, signs and POSTs them concurrently
//! (a global bound, a per-endpoint bound, an optional per-endpoint rate), and records each
//! batch of attempts with the next state of its messages in one transaction.
//!
//! `step` runs one claim → send → record round and is what tests drive; `run` is the same
//! pieces pipelined, woken at once by committed transitions and by due retries.

use super::metrics::Metrics;
use super::retry::{self, Outcome, RetrySchedule};
use super::signing;
use crate::domain::webhook::{Host, TargetPolicy, WebhookUrl};
use crate::store::deliveries::{self as sd, AttemptRecord, Claimed, Endpoint, HealthChanges};
use crate::store::{now_ms, Db};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// Response bodies are kept up to this many bytes (Svix keeps 20,000).
pub const MAX_RESPONSE_BODY: usize = 20 * 1024;

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

/// A round claims up to this many times the per-endpoint bound for one endpoint: they are sent
/// as that endpoint's requests finish, without a claim (a turn at the database's single
/// writer) for each handful. Claims stay bounded by the global bound.
const CLAIM_AHEAD: usize = 4;

/// Per-endpoint token bucket for the optional rate limit.
struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Worker {
    db: Db,
    client: reqwest::Client,
    policy: TargetPolicy,
    pub cfg: WorkerConfig,
    pub wake: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    /// Messages claimed and not yet sent on, per endpoint.
    in_flight: Mutex<HashMap<String, usize>>,
    /// Requests being made, per endpoint: at most `max_per_endpoint` at once.
    sending: Mutex<HashMap<String, Arc<Semaphore>>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Messages in flight at once, across all endpoints: `max_in_flight` permits, held from
    /// claim (or hand-off) until the attempt is sent on to be recorded.
    slots: Arc<Semaphore>,
    /// Set while `run` runs and is not stopping: only then are new messages handed to it.
    running: AtomicBool,
    /// What the last claim round left due and unclaimed: new messages to these endpoints are
    /// not handed over, so they do not overtake older ones.
    behind: Mutex<Behind>,
    /// New messages handed over by the transactions that wrote them (see [`Handoff`]).
    handed: mpsc::UnboundedSender<Handed>,
    handed_rx: Mutex<Option<mpsc::UnboundedReceiver<Handed>>>,
    /// Told the app ids of each recorded batch, for the live delivery log.
    pub changes: Option<tokio::sync::broadcast::Sender<i64>>,
    /// The other instances on the same PostgreSQL database, told the same.
    pub peers: Option<Arc<crate::peers::Peers>>,
}

/// New messages handed to the worker by one transaction, each with its room in flight.
type Handed = Vec<(Claimed, OwnedSemaphorePermit)>;

/// Endpoints with due messages that a claim round did not take.
#[derive(Default)]
struct Behind {
    /// The round saw as many candidates as it asked for: there may be more, of any endpoint.
    all: bool,
    hooks: std::collections::HashSet<String>,
}

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
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let client = super::client::build(policy.clone(), cfg.timeout)?;
        let (handed, handed_rx) = mpsc::unbounded_channel();
        Ok(Self {
            db,
            client,
            policy,
            slots: Arc::new(Semaphore::new(cfg.max_in_flight)),
            cfg,
            wake,
            metrics,
            in_flight: Mutex::new(HashMap::new()),
            sending: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            running: AtomicBool::new(false),
            behind: Mutex::new(Behind::default()),
            handed,
            handed_rx: Mutex::new(Some(handed_rx)),
            changes: None,
            peers: None,
        })
    }

    /// Claims up to `limit` due messages, respecting the per-endpoint bound and rate limits.
    async fn claim(
        &self,
        now: i64,
        limit: usize,
    ) -> anyhow::Result<(Vec<Claimed>, HashMap<String, Endpoint>)> {
        if limit == 0 {
            return Ok((vec![], HashMap::new()));
        }
        let asked = limit * 4;
        let candidates = sd::candidates(&self.db, now, asked as i64).await?;
        if candidates.is_empty() {
            *self.behind.lock().unwrap_or_else(|e| e.into_inner()) = Behind::default();
            return Ok((vec![], HashMap::new()));
        }
        let mut hook_ids: Vec<String> = candidates.iter().map(|c| c.1.clone()).collect();
        hook_ids.sort();
        hook_ids.dedup();
        let endpoints = sd::endpoints(&self.db, &hook_ids).await?;
        let mut chosen = Vec::with_capacity(limit);
        {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            let mut taken: HashMap<&str, usize> = HashMap::new();
            for (id, hook) in &candidates {
                if chosen.len() >= limit {
                    break;
                }
                let busy = in_flight.get(hook).copied().unwrap_or(0)
                    + taken.get(hook.as_str()).copied().unwrap_or(0);
                if busy >= self.cfg.max_per_endpoint * CLAIM_AHEAD {
                    continue;
                }
                if let Some(rate) = endpoints.get(hook).and_then(|e| e.rate_limit_per_second) {
                    let rate = rate.max(1) as f64;
                    let b = buckets.entry(hook.clone()).or_insert(Bucket {
                        tokens: rate,
                        at: Instant::now(),
                    });
                    let elapsed = b.at.elapsed().as_secs_f64();
                    b.tokens = (b.tokens + elapsed * rate).min(rate);
                    b.at = Instant::now();
                    if b.tokens < 1.0 {
                        continue;
                    }
                    b.tokens -= 1.0;
                }
                *taken.entry(hook.as_str()).or_default() += 1;
                chosen.push(*id);
            }
            drop(buckets);
            let taken_ids: std::collections::HashSet<i64> = chosen.iter().copied().collect();
            let left: std::collections::HashSet<String> = candidates
                .iter()
                .filter(|(id, _)| !taken_ids.contains(id))
                .map(|(_, hook)| hook.clone())
                .collect();
            *self.behind.lock().unwrap_or_else(|e| e.into_inner()) = Behind {
                all: candidates.len() >= asked,
                hooks: left,
            };
            // Count them in flight before the claim commits, so a concurrent round does not
            // overshoot the per-endpoint bound.
            for (hook, n) in taken {
                *in_flight.entry(hook.to_string()).or_default() += n;
            }
        }
        let claimed = match sd::claim(&self.db, &chosen, now, now + self.lease_ms()).await {
            Ok(c) => c,
            Err(e) => {
                self.release_ids(&candidates, &chosen);
                return Err(e.into());
            }
        };
        // Release the slots of candidates another worker took first.
        let got: std::collections::HashSet<i64> = claimed.iter().map(|c| c.id).collect();
        let lost: Vec<i64> = chosen
            .iter()
            .copied()
            .filter(|id| !got.contains(id))
            .collect();
        self.release_ids(&candidates, &lost);
        Ok((claimed, endpoints))
    }

    fn release_ids(&self, candidates: &[(i64, String)], ids: &[i64]) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            if let Some((_, hook)) = candidates.iter().find(|c| c.0 == *id) {
                if let Some(n) = in_flight.get_mut(hook) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }

    /// Tells live delivery logs which apps changed (once per app per batch).
    pub fn announce(&self, apps: impl IntoIterator<Item = i64>) {
        if let Some(tx) = &self.changes {
            let mut seen: Vec<i64> = apps.into_iter().collect();
            seen.sort_unstable();
            seen.dedup();
            for app in seen {
                let _ = tx.send(app);
                if let Some(p) = &self.peers {
                    p.tell(app, false);
                }
            }
        }
    }

    fn release(&self, hook: &str) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = in_flight.get_mut(hook) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                in_flight.remove(hook);
                // Nothing of this endpoint is claimed: no one holds or waits for its gate.
                self.sending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(hook);
            }
        }
    }

    /// Sends a claimed message once its endpoint has a free request slot, then releases its
    /// claim slot.
    async fn send_claimed(
        &self,
        c: &Claimed,
        e: Option<&Endpoint>,
        trigger: &'static str,
        now: Option<i64>,
    ) -> Sent {
        let gate = self
            .sending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(c.webhook_id.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.cfg.max_per_endpoint)))
            .clone();
        let permit = gate.acquire_owned().await;
        let s = self
            .attempt(c, e, trigger, now.unwrap_or_else(now_ms))
            .await;
        drop(permit);
        self.release(&c.webhook_id);
        s
    }

    /// A claim outlives the longest wait for it to be sent and recorded by a wide margin, so
    /// only a dead worker's claims expire: up to `CLAIM_AHEAD` rounds of requests to its
    /// endpoint may come first, each at most the timeout.
    fn lease_ms(&self) -> i64 {
        (self.cfg.timeout.as_millis() as i64) * (CLAIM_AHEAD as i64 + 1) + 10_000
    }

    /// Sends one message once and says what happened; never fails.
    pub async fn attempt(
        &self,
        c: &Claimed,
        e: Option<&Endpoint>,
        trigger: &'static str,
        now: i64,
    ) -> Sent {
        let started_at = now_ms();
        let started = Instant::now();
        let attempt_no = c.attempts + 1;
        let Some(e) = e else {
            return Sent::error(
                c,
                trigger,
                attempt_no,
                started_at,
                String::new(),
                "[]".into(),
                "the webhook no longer exists".into(),
            );
        };
        let ts = started_at / 1000;
        let mut secrets = vec![e.secret.as_str()];
        if let (Some(p), Some(until)) = (&e.previous_secret, e.previous_secret_expires_at) {
            if until > now {
                secrets.push(p);
            }
        }
        let body = c.payload.as_bytes();
        let sig = match signing::signature_header(&secrets, &c.msg_id, ts, body) {
            Ok(s) => s,
            Err(err) => {
                return Sent::error(
                    c,
                    trigger,
                    attempt_no,
                    started_at,
                    e.url.clone(),
                    "[]".into(),
                    format!("signing failed: {err}"),
                );
            }
        };
        let headers: Vec<(&str, String)> = vec![
            ("content-type", "application/json".into()),
            (
                "user-agent",
                concat!("bookhook/", env!("CARGO_PKG_VERSION")).into(),
            ),
            ("webhook-id", c.msg_id.clone()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", sig),
            (
                "x-timekit-signature",
                signing::timekit_signature(&e.secret, body),
            ),
        ];
        let req_headers = serde_json::to_string(&headers).unwrap_or_default();
        // IP literals never reach the resolver, so they are checked here.
        if let Ok(u) = WebhookUrl::parse(&e.url) {
            if let Host::Ip(ip) = u.host() {
                if !self.policy.allows(ip) && !self.policy.is_own_inspector(&u) {
                    return Sent::error(
                        c,
                        trigger,
                        attempt_no,
                        started_at,
                        e.url.clone(),
                        req_headers,
                        format!("{} ({ip})", super::client::REFUSED),
                    );
                }
            }
        }
        let mut req = self.client.post(&e.url).body(c.payload.clone());
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        let result = req.send().await;
        let mut sent = Sent {
            record: AttemptRecord {
                delivery_id: c.id,
                app_id: c.app_id,
                webhook_id: c.webhook_id.clone(),
                attempt: attempt_no,
                trigger,
                outcome: "failed",
                started_at,
                duration_ms: 0,
                request_url: e.url.clone(),
                request_headers: req_headers,
                response_status: None,
                response_headers: None,
                response_body: None,
                error: None,
                next_status: "pending",
                next_attempt_at: None,
            },
            retry_after: None,
            duration: Duration::ZERO,
        };
        match result {
            Ok(res) => {
                let status = res.status().as_u16();
                sent.record.response_status = Some(status as i64);
                let hdrs: Vec<(String, String)> = res
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                sent.retry_after = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry::parse_retry_after(v, std::time::SystemTime::now()));
                sent.record.response_headers = serde_json::to_string(&hdrs).ok();
                let (body, err) = read_limited(res, MAX_RESPONSE_BODY).await;
                sent.record.response_body = Some(body);
                sent.record.error = err;
                sent.record.outcome = match retry::classify(Some(status)) {
                    Outcome::Delivered => "delivered",
                    Outcome::Gone => "gone",
                    Outcome::Failed => "failed",
                };
                if sent.record.outcome == "failed" && sent.record.error.is_none() {
                    sent.record.error = Some(if (300..400).contains(&status) {
                        format!("HTTP {status}: redirects are not followed")
                    } else {
                        format!("HTTP {status}")
                    });
                }
            }
            Err(err) => {
                sent.record.error = Some(describe(&err));
            }
        }
        sent.duration = started.elapsed();
        sent.record.duration_ms = sent.duration.as_millis() as i64;
        sent
    }

    /// Decides each message's next state and the endpoints' health, and writes it all.
    async fn record(&self, sent: Vec<Sent>, now: i64) -> anyhow::Result<usize> {
        if sent.is_empty() {
            return Ok(0);
        }
        // Only endpoints that failed now can have been failing long enough to be disabled.
        let mut hooks: Vec<String> = sent
            .iter()
            .filter(|s| s.record.outcome == "failed")
            .map(|s| s.record.webhook_id.clone())
            .collect();
        hooks.sort();
        hooks.dedup();
        let failing = sd::failing_since(&self.db, &hooks).await?;
        let mut health = HealthChanges::default();
        let mut delivered = 0;
        let mut records = Vec::with_capacity(sent.len());
        for mut s in sent {
            let r = &mut s.record;
            self.metrics.observe(r.outcome, s.duration);
            match r.outcome {
                "delivered" => {
                    delivered += 1;
                    r.next_status = "delivered";
                    r.next_attempt_at = None;
                    health.recovered.push(r.webhook_id.clone());
                }
                "gone" => {
                    // Held, not failed: re-enabling the webhook delivers it.
                    r.next_status = "pending";
                    r.next_attempt_at = Some(now);
                    health.disable.push((r.webhook_id.clone(), "gone"));
                }
                _ => {
                    match self.cfg.schedule.delay_after(r.attempt as u32) {
                        Some(scheduled) => {
                            let scheduled = retry::jitter(scheduled);
                            let honoured = r
                                .response_status
                                .is_some_and(|st| retry::honours_retry_after(st as u16));
                            let delay =
                                retry::next_delay(scheduled, s.retry_after.filter(|_| honoured));
                            r.next_status = "pending";
                            r.next_attempt_at = Some(now + delay.as_millis() as i64);
                        }
                        None => {
                            r.next_status = "failed";
                            r.next_attempt_at = None;
                        }
                    }
                    health.failing.push(r.webhook_id.clone());
                    let since = failing.get(&r.webhook_id).copied().unwrap_or(now);
                    if now - since >= self.cfg.disable_after.as_millis() as i64 {
                        health.disable.push((r.webhook_id.clone(), "failing"));
                    }
                }
            }
            records.push(s.record);
        }
        // A success in the batch wins over failures of the same endpoint in it.
        health.failing.retain(|h| !health.recovered.contains(h));
        health.recovered.dedup();
        health.failing.dedup();
        health.disable.dedup();
        sd::record(&self.db, &records, &health, now).await?;
        self.announce(records.iter().map(|r| r.app_id));
        Ok(delivered)
    }

    /// One round: claim what is due at `now`, send it all, record it all.
    pub async fn step(&self, now: i64) -> anyhow::Result<StepOutcome> {
        let (claimed, endpoints) = self.claim(now, self.cfg.max_in_flight).await?;
        let sends = claimed
            .iter()
            .map(|c| self.send_claimed(c, endpoints.get(&c.webhook_id), "scheduled", Some(now)));
        let sent: Vec<Sent> = futures::future::join_all(sends).await;
        let attempted = sent.len();
        let delivered = self.record(sent, now).await?;
        Ok(StepOutcome {
            attempted,
            delivered,
        })
    }

    /// The pipelined loop: claims while there is room, sends each message on its own task,
    /// and records finished attempts in batches. On `stop` it claims nothing more, lets the
    /// attempts in flight finish and records them before returning.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let slots = self.slots.clone();
        let (tx, mut rx) = mpsc::unbounded_channel::<Sent>();
        let recorder = {
            let me = self.clone();
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(512);
                while rx.recv_many(&mut buf, 1024).await > 0 {
                    let batch = std::mem::take(&mut buf);
                    let n = batch.len();
                    if let Err(e) = me.record(batch, now_ms()).await {
                        tracing::error!(error = %e, attempts = n, "recording attempts failed; their claims expire and they are retried");
                    }
                    // Ordered endpoints and freed slots may have made more messages due.
                    me.wake.notify_one();
                }
            })
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
        self.running.store(true, Ordering::SeqCst);
        loop {
            if stop.is_cancelled() {
                break;
            }
            let room = slots.available_permits();
            let claimed = if room == 0 {
                Ok((vec![], HashMap::new()))
            } else {
                self.claim(now_ms(), room).await
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
                    tracing::error!(error = %e, "claiming deliveries failed");
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
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                _ = stop.cancelled() => break,
            }
        }
        // Finish what is in flight: every slot back means every attempt has been sent on.
        self.running.store(false, Ordering::SeqCst);
        let _ = handed.await;
        let _ = slots.acquire_many(self.cfg.max_in_flight as u32).await;
        drop(tx);
        let _ = recorder.await;
        tracing::info!("delivery worker stopped");
    }
}

impl Worker {
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
                        self.send_group(group, &tx).await;
                    }
                    return;
                }
            };
            match group {
                Some(group) => self.send_group(group, &tx).await,
                None => return,
            }
        }
    }

    async fn send_group(self: &Arc<Self>, group: Handed, tx: &mpsc::UnboundedSender<Sent>) {
        let mut hooks: Vec<String> = group.iter().map(|(c, _)| c.webhook_id.clone()).collect();
        hooks.sort();
        hooks.dedup();
        // Read now, not when the message was written: an edit in between (a new URL, a
        // rotated secret) applies, as it would to a claimed message.
        let endpoints = match sd::endpoints(&self.db, &hooks).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, messages = group.len(), "reading the endpoints of new messages failed; their claims expire and they are sent then");
                for (c, _) in &group {
                    self.release(&c.webhook_id);
                }
                return;
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

    /// Room for one more message to this endpoint, held until it is sent: only while `run`
    /// runs, within both bounds that claims respect.
    fn reserve(&self, webhook_id: &str) -> Option<OwnedSemaphorePermit> {
        if !self.running.load(Ordering::SeqCst) {
            return None;
        }
        {
            let behind = self.behind.lock().unwrap_or_else(|e| e.into_inner());
            if behind.all || behind.hooks.contains(webhook_id) {
                return None;
            }
        }
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let busy = in_flight.get(webhook_id).copied().unwrap_or(0);
        if busy >= self.cfg.max_per_endpoint * CLAIM_AHEAD {
            return None;
        }
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        *in_flight.entry(webhook_id.to_string()).or_default() += 1;
        Some(permit)
    }
}

/// New messages claimed for this process's worker in the transaction that writes them, so
/// they are sent as soon as it commits, without the worker looking for them and claiming
/// them: one less write per message at the database's single writer, and no wait for a
/// claim round. Only messages to webhooks that are neither ordered nor rate-limited are
/// taken, and only while the worker has room for them within its bounds; the rest are written
/// pending and claimed as usual. A taken message is written `delivering` under the usual
/// lease, so if this process dies before sending it, it is sent once the lease expires.
pub struct Handoff {
    worker: Option<Arc<Worker>>,
    lease_until: i64,
    taken: Vec<(Claimed, OwnedSemaphorePermit)>,
}

impl Handoff {
    /// Takes messages for this worker, when it is running.
    pub fn to(worker: &Arc<Worker>) -> Self {
        Self {
            lease_until: now_ms() + worker.lease_ms(),
            worker: Some(worker.clone()),
            taken: Vec::new(),
        }
    }

    /// Takes nothing: every message is written pending.
    pub fn none() -> Self {
        Self {
            worker: None,
            lease_until: 0,
            taken: Vec::new(),
        }
    }

    /// Takes this new message if the worker has room for it, and says until when it is then
    /// claimed (the message must be written with that lease, returning its id and msg_id).
    pub fn take(
        &mut self,
        msg_id: &str,
        app_id: i64,
        webhook_id: &str,
        payload: &str,
    ) -> Option<i64> {
        let permit = self.worker.as_ref()?.reserve(webhook_id)?;
        self.taken.push((
            Claimed {
                id: 0,
                msg_id: msg_id.to_string(),
                app_id,
                webhook_id: webhook_id.to_string(),
                payload: payload.to_string(),
                attempts: 0,
                is_test: false,
            },
            permit,
        ));
        Some(self.lease_until)
    }

    /// After the commit: hands the worker every taken message among these rows (`id`,
    /// `msg_id`, as the inserts returned them). A taken message that was not written (its
    /// booking was refused) frees its room.
    pub fn committed(mut self, rows: &[crate::store::DbRow]) {
        use sqlx::Row;
        let Some(worker) = self.worker.clone() else {
            return;
        };
        if self.taken.is_empty() {
            return;
        }
        let ids: HashMap<String, i64> = rows
            .iter()
            .filter_map(|r| Some((r.try_get("msg_id").ok()?, r.try_get("id").ok()?)))
            .collect();
        let mut group = Vec::with_capacity(self.taken.len());
        for (mut c, permit) in std::mem::take(&mut self.taken) {
            match ids.get(&c.msg_id) {
                Some(&id) => {
                    c.id = id;
                    group.push((c, permit));
                }
                None => worker.release(&c.webhook_id),
            }
        }
        if group.is_empty() {
            return;
        }
        if let Err(mpsc::error::SendError(group)) = worker.handed.send(group) {
            // The worker has stopped: the messages wait for their lease to expire.
            for (c, _) in &group {
                worker.release(&c.webhook_id);
            }
        }
    }
}

impl Drop for Handoff {
    /// Not committed: the room taken is freed (the permits free themselves).
    fn drop(&mut self) {
        if let Some(worker) = &self.worker {
            for (c, _) in &self.taken {
                worker.release(&c.webhook_id);
            }
        }
    }
}

fn trigger_of(c: &Claimed) -> &'static str {
    if c.is_test {
        "test"
    } else {
        "scheduled"
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
        let Some((c, previous)) = crate::store::log::claim_for_manual(
            &self.db,
            app_id,
            msg_id,
            now,
            now + self.lease_ms(),
        )
        .await?
        else {
            return Ok(None);
        };
        let endpoints = sd::endpoints(&self.db, std::slice::from_ref(&c.webhook_id)).await?;
        let sent = self
            .attempt(&c, endpoints.get(&c.webhook_id), "manual", now)
            .await;
        self.metrics.observe(sent.record.outcome, sent.duration);
        let mut r = sent.record;
        let mut health = HealthChanges::default();
        if r.outcome == "delivered" {
            r.next_status = "delivered";
            health.recovered.push(r.webhook_id.clone());
        } else {
            r.next_status = match previous.as_str() {
                "delivered" => "delivered",
                "failed" => "failed",
                _ => "pending",
            };
        }
        r.next_attempt_at = None;
        sd::record(&self.db, std::slice::from_ref(&r), &health, now).await?;
        self.announce([r.app_id]);
        Ok(Some(r))
    }
}

/// One finished attempt on its way to be recorded.
pub struct Sent {
    pub record: AttemptRecord,
    pub retry_after: Option<Duration>,
    pub duration: Duration,
}

impl Sent {
    fn error(
        c: &Claimed,
        trigger: &'static str,
        attempt: i64,
        started_at: i64,
        url: String,
        headers: String,
        error: String,
    ) -> Self {
        Sent {
            record: AttemptRecord {
                delivery_id: c.id,
                app_id: c.app_id,
                webhook_id: c.webhook_id.clone(),
                attempt,
                trigger,
                outcome: "failed",
                started_at,
                duration_ms: 0,
                request_url: url,
                request_headers: headers,
                response_status: None,
                response_headers: None,
                response_body: None,
                error: Some(error),
                next_status: "pending",
                next_attempt_at: None,
            },
            retry_after: None,
            duration: Duration::ZERO,
        }
    }
}

/// Reads at most `limit` bytes of the body; the rest is not read at all.
async fn read_limited(res: reqwest::Response, limit: usize) -> (String, Option<String>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                let room = limit - buf.len();
                buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
                if buf.len() >= limit {
                    break;
                }
            }
            Err(e) => {
                return (
                    String::from_utf8_lossy(&buf).into_owned(),
                    Some(describe(&e)),
                )
            }
        }
    }
    (String::from_utf8_lossy(&buf).into_owned(), None)
}

/// A person-readable cause of a failed request, with the chain of sources.
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the response body could not be read"
    } else {
        "the request failed"
    };
    let mut msg = kind.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
