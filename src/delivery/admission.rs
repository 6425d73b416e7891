//! Admission: which due messages the worker claims within its bounds and rate limits, and the room a hand-off takes.

use super::trace::{Distinct, Ids};
use crate::store::deliveries::{self as sd, Claimed, Endpoint};
use crate::store::Db;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A round claims up to this many times the per-endpoint bound for one endpoint: they are sent
/// as that endpoint's requests finish, without a claim (a turn at the database's single
/// writer) for each handful. Claims stay bounded by the global bound.
const CLAIM_AHEAD: usize = 4;

/// What the worker has taken on, per endpoint and in all, and the room it has left.
pub(super) struct Admission {
    db: Db,
    /// Messages in flight at once to one endpoint.
    max_per_endpoint: usize,
    /// How long a claim lasts (see [`Admission::lease_ms`]).
    timeout: Duration,
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
}

/// Per-endpoint token bucket for the optional rate limit.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Endpoints with due messages that a claim round did not take.
#[derive(Default)]
struct Behind {
    /// The round saw as many candidates as it asked for: there may be more, of any endpoint.
    all: bool,
    hooks: HashSet<String>,
}

/// The worker goes on past a panic of another holder of these locks: the counts it left are
/// still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Admission {
    pub(super) fn new(
        db: Db,
        max_in_flight: usize,
        max_per_endpoint: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            db,
            max_per_endpoint,
            timeout,
            in_flight: Mutex::new(HashMap::new()),
            sending: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(max_in_flight)),
            running: AtomicBool::new(false),
            behind: Mutex::new(Behind::default()),
        }
    }

    /// The room in flight across all endpoints.
    pub(super) fn slots(&self) -> &Arc<Semaphore> {
        &self.slots
    }

    /// Whether new messages may be handed over (see [`Admission::room`]).
    pub(super) fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::SeqCst);
    }

    /// Claims up to `limit` due messages, respecting the per-endpoint bound and rate limits.
    #[tracing::instrument(
        name = "claim",
        level = "debug",
        skip_all,
        fields(limit, messages = tracing::field::Empty, webhooks = tracing::field::Empty)
    )]
    pub(super) async fn claim(
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
            *lock(&self.behind) = Behind::default();
            return Ok((vec![], HashMap::new()));
        }
        let mut hook_ids: Vec<String> = candidates.iter().map(|c| c.1.clone()).collect();
        hook_ids.sort();
        hook_ids.dedup();
        let endpoints = sd::endpoints(&self.db, &hook_ids).await?;
        let chosen = self.choose(&candidates, &endpoints, limit, asked);
        let claimed = match sd::claim(&self.db, &chosen, now, now + self.lease_ms()).await {
            Ok(c) => c,
            Err(e) => {
                self.release_ids(&candidates, &chosen);
                return Err(e.into());
            }
        };
        // Release the slots of candidates another worker took first.
        let got: HashSet<i64> = claimed.iter().map(|c| c.id).collect();
        let lost: Vec<i64> = chosen
            .iter()
            .copied()
            .filter(|id| !got.contains(id))
            .collect();
        self.release_ids(&candidates, &lost);
        let span = tracing::Span::current();
        if !span.is_disabled() {
            span.record(
                "messages",
                tracing::field::debug(Ids(claimed.iter().map(|c| c.id))),
            );
            span.record(
                "webhooks",
                tracing::field::debug(Distinct(claimed.iter().map(|c| c.webhook_id.as_str()))),
            );
        }
        Ok((claimed, endpoints))
    }

    /// Picks, oldest due first, up to `limit` of these candidates whose endpoint is within its
    /// bound and has a token, and counts them in flight; notes which endpoints were left behind.
    fn choose(
        &self,
        candidates: &[(i64, String)],
        endpoints: &HashMap<String, Endpoint>,
        limit: usize,
        asked: usize,
    ) -> Vec<i64> {
        let a = self;
        let mut chosen = Vec::with_capacity(limit);
        let mut in_flight = lock(&a.in_flight);
        let mut buckets = lock(&a.buckets);
        let mut taken: HashMap<&str, usize> = HashMap::new();
        for (id, hook) in candidates {
            if chosen.len() >= limit {
                break;
            }
            let busy = in_flight.get(hook).copied().unwrap_or(0)
                + taken.get(hook.as_str()).copied().unwrap_or(0);
            if busy >= self.max_per_endpoint * CLAIM_AHEAD {
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
        let taken_ids: HashSet<i64> = chosen.iter().copied().collect();
        let left: HashSet<String> = candidates
            .iter()
            .filter(|(id, _)| !taken_ids.contains(id))
            .map(|(_, hook)| hook.clone())
            .collect();
        *lock(&a.behind) = Behind {
            all: candidates.len() >= asked,
            hooks: left,
        };
        // Count them in flight before the claim commits, so a concurrent round does not
        // overshoot the per-endpoint bound.
        for (hook, n) in taken {
            *in_flight.entry(hook.to_string()).or_default() += n;
        }
        chosen
    }

    fn release_ids(&self, candidates: &[(i64, String)], ids: &[i64]) {
        let mut in_flight = lock(&self.in_flight);
        for id in ids {
            if let Some((_, hook)) = candidates.iter().find(|c| c.0 == *id) {
                if let Some(n) = in_flight.get_mut(hook) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }

    /// Frees the room of one message to this endpoint: it was sent on, or not taken after all.
    pub(super) fn release(&self, hook: &str) {
        let mut in_flight = lock(&self.in_flight);
        if let Some(n) = in_flight.get_mut(hook) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                in_flight.remove(hook);
                // Nothing of this endpoint is claimed: no one holds or waits for its gate.
                lock(&self.sending).remove(hook);
            }
        }
    }

    /// The gate of this endpoint's requests: a permit of it is held while one is made.
    pub(super) fn gate(&self, hook: &str) -> Arc<Semaphore> {
        lock(&self.sending)
            .entry(hook.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.max_per_endpoint)))
            .clone()
    }

    /// Room for one more message to this endpoint, held until it is sent: only while `run`
    /// runs, within both bounds that claims respect.
    pub(super) fn room(&self, webhook_id: &str) -> Option<OwnedSemaphorePermit> {
        let a = self;
        if !a.running.load(Ordering::SeqCst) {
            return None;
        }
        {
            let behind = lock(&a.behind);
            if behind.all || behind.hooks.contains(webhook_id) {
                return None;
            }
        }
        let mut in_flight = lock(&a.in_flight);
        let busy = in_flight.get(webhook_id).copied().unwrap_or(0);
        if busy >= self.max_per_endpoint * CLAIM_AHEAD {
            return None;
        }
        let permit = a.slots.clone().try_acquire_owned().ok()?;
        *in_flight.entry(webhook_id.to_string()).or_default() += 1;
        Some(permit)
    }

    /// A claim outlives the longest wait for it to be sent and recorded by a wide margin, so
    /// only a dead worker's claims expire: up to `CLAIM_AHEAD` rounds of requests to its
    /// endpoint may come first, each at most the timeout.
    pub(super) fn lease_ms(&self) -> i64 {
        (self.timeout.as_millis() as i64) * (CLAIM_AHEAD as i64 + 1) + 10_000
    }
}
