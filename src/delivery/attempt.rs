//! The attempt: signs one message, POSTs it to its endpoint, and reads the response into an attempt record.

use super::retry;
use super::signing;
use crate::domain::delivery::{DeliveryStatus, Outcome, Trigger};
use crate::domain::webhook::{Host, TargetPolicy, WebhookUrl};
use crate::store::deliveries::{AttemptRecord, Claimed, Endpoint};
use crate::store::now_ms;
use futures::StreamExt;
use std::time::{Duration, Instant};

/// Response bodies are kept up to this many bytes (Svix keeps 20,000).
pub const MAX_RESPONSE_BODY: usize = 20 * 1024;

/// One finished attempt on its way to be recorded. Its record's next state (`next_status`,
/// `next_attempt_at`) is the record stage's to decide; until then it says pending, unscheduled.
pub struct Sent {
    pub record: AttemptRecord,
    pub retry_after: Option<Duration>,
    pub duration: Duration,
}

/// What an attempt needs: the HTTP client (its resolver checks every address it connects to)
/// and the policy of where webhooks may point.
pub(super) struct Attempter {
    pub(super) client: reqwest::Client,
    pub(super) policy: TargetPolicy,
}

impl Attempter {
    /// Sends one message once and says what happened; never fails.
    #[tracing::instrument(
        name = "attempt",
        level = "debug",
        skip_all,
        fields(message = c.id, msg_id = %c.msg_id, webhook = %c.webhook_id, trigger = trigger.as_str())
    )]
    pub(super) async fn attempt(
        &self,
        c: &Claimed,
        e: Option<&Endpoint>,
        trigger: Trigger,
        now: i64,
    ) -> Sent {
        let started_at = now_ms();
        let started = Instant::now();
        let attempt_no = c.attempts + 1;
        let unanswered = |url: &str, headers: String| {
            Sent::unanswered(c, trigger, attempt_no, started_at, url.to_owned(), headers)
        };
        let Some(e) = e else {
            return unanswered("", "[]".into()).because("the webhook no longer exists".into());
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
                return unanswered(&e.url, "[]".into()).because(format!("signing failed: {err}"));
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
        if let Some(refused) = self.refused_ip(&e.url) {
            return unanswered(&e.url, req_headers).because(refused);
        }
        let mut req = self.client.post(&e.url).body(c.payload.clone());
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        let result = req.send().await;
        let mut sent = unanswered(&e.url, req_headers);
        match result {
            Ok(res) => sent.read_response(res).await,
            Err(err) => sent.record.error = Some(describe(&err)),
        }
        sent.duration = started.elapsed();
        sent.record.duration_ms = sent.duration.as_millis() as i64;
        sent
    }

    /// Why a request to this URL is refused before it is made: IP literals never reach the
    /// resolver, where names are checked, so they are checked here.
    fn refused_ip(&self, url: &str) -> Option<String> {
        let u = WebhookUrl::parse(url).ok()?;
        let Host::Ip(ip) = u.host() else {
            return None;
        };
        (!self.policy.allows(ip) && !self.policy.is_own_inspector(&u))
            .then(|| format!("{} ({ip})", super::client::REFUSED))
    }
}

impl Sent {
    /// An attempt with no response (yet): failed, and taking no time.
    fn unanswered(
        c: &Claimed,
        trigger: Trigger,
        attempt: i64,
        started_at: i64,
        request_url: String,
        request_headers: String,
    ) -> Self {
        Sent {
            record: AttemptRecord {
                delivery_id: c.id,
                app_id: c.app_id,
                webhook_id: c.webhook_id.clone(),
                attempt,
                trigger,
                outcome: Outcome::Failed,
                started_at,
                duration_ms: 0,
                request_url,
                request_headers,
                response_status: None,
                response_headers: None,
                response_body: None,
                error: None,
                next_status: DeliveryStatus::Pending,
                next_attempt_at: None,
            },
            retry_after: None,
            duration: Duration::ZERO,
        }
    }

    fn because(mut self, error: String) -> Self {
        self.record.error = Some(error);
        self
    }

    /// Takes in the response: its status, headers, `Retry-After` and the start of its body.
    async fn read_response(&mut self, res: reqwest::Response) {
        let r = &mut self.record;
        let status = res.status().as_u16();
        r.response_status = Some(status as i64);
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
        self.retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, std::time::SystemTime::now()));
        r.response_headers = serde_json::to_string(&hdrs).ok();
        let (body, err) = read_limited(res, MAX_RESPONSE_BODY).await;
        r.response_body = Some(body);
        r.error = err;
        r.outcome = retry::classify(Some(status));
        if r.outcome == Outcome::Failed && r.error.is_none() {
            r.error = Some(if (300..400).contains(&status) {
                format!("HTTP {status}: redirects are not followed")
            } else {
                format!("HTTP {status}")
            });
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
