//! The delivery worker against a real local receiver: signatures, outcomes, the retry
//! schedule on a clock the test controls, endpoint health, rate limits, ordering and SSRF.

use crate::helpers::*;
use crate::receiver::{Receiver, Reply};
use bookhook::delivery::worker::{Worker, WorkerConfig};
use bookhook::domain::webhook::TargetPolicy;
use bookhook::store::now_ms;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

struct Setup {
    app: TestApp,
    api: Api,
    resource: String,
    rx: Receiver,
    hook: Value,
}

/// An app whose webhook (instant → confirmed) points at a fresh receiver; with `live` the
/// server's own worker runs, else the test drives a worker step by step.
async fn setup(live: bool) -> Setup {
    let (app, api) = spawn_app_for_receivers(live).await;
    let resource = api.resource().await;
    let rx = Receiver::start().await;
    let (st, hook) = api
        .post(
            "/webhooks",
            json!({"url": rx.url("/hook"), "events": [{"graph": "instant", "state": "confirmed"}]}),
        )
        .await;
    assert_eq!(st, 201, "{hook}");
    Setup {
        app,
        api,
        resource,
        rx,
        hook: hook["data"].clone(),
    }
}

fn worker(app: &TestApp, cfg: WorkerConfig, policy: TargetPolicy) -> Worker {
    Worker::new(
        app.db.clone(),
        policy,
        cfg,
        app.state.notifier.clone(),
        app.state.metrics.clone(),
    )
    .unwrap()
}

fn local() -> TargetPolicy {
    TargetPolicy::parse_list("127.0.0.0/8").unwrap()
}

impl Setup {
    async fn book(&self) -> String {
        self.api.booking(&self.resource, "instant", json!({})).await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
    fn hook_id(&self) -> &str {
        self.hook["id"].as_str().unwrap()
    }
    async fn delivery(&self) -> (String, i64, Option<i64>, Option<i64>) {
        sqlx::query_as("SELECT status, attempts, next_attempt_at, last_status_code FROM deliveries ORDER BY id DESC LIMIT 1")
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }
    async fn attempts(&self) -> Vec<(i64, String, Option<i64>, Option<String>, String)> {
        sqlx::query_as(
            "SELECT attempt, outcome, response_status, error, trigger FROM attempts ORDER BY id",
        )
        .fetch_all(&self.app.db)
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn a_transition_is_delivered_at_once_signed_both_ways() {
    let s = setup(true).await;
    let booking = s.book().await;
    let got = s.rx.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(
        got.len(),
        1,
        "the running worker delivers without being asked"
    );
    let r = &got[0];
    assert_eq!(r.path, "/hook");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("user-agent").unwrap().starts_with("bookhook/"));
    let id = r.header("webhook-id").unwrap();
    assert!(id.starts_with("msg_"));
    let ts: i64 = r.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!((ts - now_ms() / 1000).abs() < 10);
    let payload: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(payload["id"], booking);
    assert_eq!(payload["state"], "confirmed");
    assert!(
        payload["customers"].is_array()
            && payload["event"].is_object()
            && payload["calendar"].is_object()
    );

    let (_, secret) = s
        .api
        .get(&format!("/webhooks/{}/secret", s.hook_id()))
        .await;
    let secret = secret["data"]["secret"].as_str().unwrap();
    bookhook::delivery::signing::verify(
        secret,
        id,
        ts,
        &r.body,
        r.header("webhook-signature").unwrap(),
        now_ms() / 1000,
    )
    .expect("the Standard Webhooks signature verifies");
    assert_eq!(
        r.header("x-timekit-signature").unwrap(),
        bookhook::delivery::signing::timekit_signature(secret, &r.body)
    );

    // Recorded: delivered, one attempt with the request and the response.
    let mut status = String::new();
    for _ in 0..100 {
        status = s.delivery().await.0;
        if status == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, "delivered");
    let (url, headers, code, body): (String, String, i64, String) = sqlx::query_as(
        "SELECT request_url, request_headers, response_status, response_body FROM attempts",
    )
    .fetch_one(&s.app.db)
    .await
    .unwrap();
    assert_eq!(url, s.rx.url("/hook"));
    assert!(headers.contains("webhook-signature"));
    assert_eq!((code, body.as_str()), (200, "ok"));
    assert!(
        !headers.contains(secret),
        "the secret itself is never recorded"
    );
}

#[tokio::test]
async fn the_official_standardwebhooks_library_verifies_real_deliveries() {
    let s = setup(true).await;
    s.book().await;
    s.book().await;
    // During a rotation deliveries carry both signatures; each verifies with its own secret.
    let (_, old) = s
        .api
        .get(&format!("/webhooks/{}/secret", s.hook_id()))
        .await;
    let (_, rotated) = s
        .api
        .post(
            &format!("/webhooks/{}/rotate-secret", s.hook_id()),
            json!({}),
        )
        .await;
    s.book().await;
    let got = s.rx.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 3);
    let cases = [
        (&got[0], old["data"]["secret"].as_str().unwrap()),
        (&got[1], old["data"]["secret"].as_str().unwrap()),
        (&got[2], rotated["data"]["secret"].as_str().unwrap()),
        (&got[2], old["data"]["secret"].as_str().unwrap()),
    ];
    assert_eq!(
        got[2]
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    for (r, secret) in cases {
        let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
d = json.load(sys.stdin)
Webhook(d["secret"]).verify(d["body"], d["headers"])
print("verified")
"#;
        let input = json!({
            "secret": secret,
            "body": String::from_utf8(r.body.clone()).unwrap(),
            "headers": {
                "webhook-id": r.header("webhook-id"),
                "webhook-timestamp": r.header("webhook-timestamp"),
                "webhook-signature": r.header("webhook-signature"),
            },
        });
        let mut child = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("verified"),
            "standardwebhooks refused it (is `pip install standardwebhooks` done?): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn failures_follow_the_retry_schedule_until_the_message_fails() {
    let s = setup(false).await;
    s.rx.always(Reply::Status(500));
    let w = worker(&s.app, WorkerConfig::default(), local());
    s.book().await;
    let mut now = now_ms();
    let schedule = [
        5_000i64, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ];
    for (i, delay) in schedule.iter().enumerate() {
        assert_eq!(w.step(now).await.unwrap().attempted, 1, "attempt {}", i + 1);
        let (status, attempts, next, code) = s.delivery().await;
        assert_eq!(
            (status.as_str(), attempts, code),
            ("pending", i as i64 + 1, Some(500))
        );
        let wait = next.unwrap() - now;
        assert!(
            (delay * 8 / 10..=delay * 12 / 10).contains(&wait),
            "after attempt {} the wait is {wait} ms, not {delay} ms ± 20 %",
            i + 1
        );
        // Not before its time.
        assert_eq!(w.step(now + wait - 1).await.unwrap().attempted, 0);
        now += wait;
    }
    assert_eq!(w.step(now).await.unwrap().attempted, 1, "attempt 8");
    let (status, attempts, _, _) = s.delivery().await;
    assert_eq!((status.as_str(), attempts), ("failed", 8));
    assert_eq!(
        w.step(now + 100 * 3_600_000).await.unwrap().attempted,
        0,
        "failed is final"
    );
    assert_eq!(s.rx.received().len(), 8);
    let ids: std::collections::HashSet<_> =
        s.rx.received()
            .iter()
            .map(|r| r.header("webhook-id").unwrap().to_string())
            .collect();
    assert_eq!(ids.len(), 1, "every retry carries the same webhook-id");
}

#[tokio::test]
async fn retry_after_is_honoured_within_one_to_two_times_the_schedule() {
    let s = setup(false).await;
    let w = worker(&s.app, WorkerConfig::default(), local());
    s.rx.script([Reply::WithHeader(429, "retry-after", "3600".into())]);
    s.book().await;
    let now = now_ms();
    w.step(now).await.unwrap();
    let wait = s.delivery().await.2.unwrap() - now;
    assert!(
        (8_000..=12_000).contains(&wait),
        "a long Retry-After stretches at most to 2x: {wait}"
    );

    s.rx.script([Reply::WithHeader(503, "retry-after", "0".into())]);
    w.step(now + wait).await.unwrap();
    let wait2 = s.delivery().await.2.unwrap() - (now + wait);
    assert!(
        (240_000..=360_000).contains(&wait2),
        "a short Retry-After never shortens: {wait2}"
    );

    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(400));
    s.rx.script([Reply::WithHeader(429, "retry-after", date)]);
    let t3 = now + wait + wait2;
    w.step(t3).await.unwrap();
    let wait3 = s.delivery().await.2.unwrap() - t3;
    assert!(
        (1_440_000..=2_160_000).contains(&wait3),
        "an HTTP date within the bounds: {wait3}"
    );
}

#[tokio::test]
async fn gone_disables_the_webhook_and_re_enabling_delivers_what_waited() {
    let s = setup(false).await;
    let w = worker(&s.app, WorkerConfig::default(), local());
    s.rx.script([Reply::Status(410)]);
    s.book().await;
    let now = now_ms();
    w.step(now).await.unwrap();
    let (_, hook) = s.api.get(&format!("/webhooks/{}", s.hook_id())).await;
    assert_eq!(hook["data"]["enabled"], false);
    assert_eq!(hook["data"]["disabled_reason"], "gone");
    assert_eq!(
        w.step(now + 3_600_000).await.unwrap().attempted,
        0,
        "held while disabled"
    );
    s.book().await;
    assert_eq!(
        s.app.count("deliveries").await,
        1,
        "a disabled webhook gets no new messages"
    );

    s.api
        .put(
            &format!("/webhooks/{}", s.hook_id()),
            json!({"enabled": true}),
        )
        .await;
    let out = w.step(now_ms()).await.unwrap();
    assert_eq!(
        (out.attempted, out.delivered),
        (1, 1),
        "the held message is delivered"
    );
    assert_eq!(s.attempts().await[0].1, "gone");
}

#[tokio::test]
async fn a_webhook_failing_for_five_days_is_disabled_and_keeps_its_messages() {
    let s = setup(false).await;
    s.rx.always(Reply::Status(500));
    let w = worker(&s.app, WorkerConfig::default(), local());
    s.book().await;
    let t0 = now_ms();
    w.step(t0).await.unwrap();
    let next = s.delivery().await.2.unwrap();
    w.step(next).await.unwrap();
    let (_, hook) = s.api.get(&format!("/webhooks/{}", s.hook_id())).await;
    assert_eq!(
        hook["data"]["enabled"], true,
        "a few failures do not disable it"
    );

    s.book().await;
    let five_days = t0 + 5 * 24 * 3_600_000 + 1;
    w.step(five_days).await.unwrap();
    let (_, hook) = s.api.get(&format!("/webhooks/{}", s.hook_id())).await;
    assert_eq!(hook["data"]["enabled"], false);
    assert_eq!(hook["data"]["disabled_reason"], "failing");
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
            .fetch_one(&s.app.db)
            .await
            .unwrap();
    assert_eq!(pending, 2, "its messages are kept, not attempted");

    // A success resets the run of failures.
    s.rx.always(Reply::Status(200));
    s.api
        .put(
            &format!("/webhooks/{}", s.hook_id()),
            json!({"enabled": true}),
        )
        .await;
    let out = w.step(five_days + 365 * 24 * 3_600_000).await.unwrap();
    assert_eq!(out.delivered, 2);
}

#[tokio::test]
async fn redirects_are_not_followed_and_errors_are_recorded() {
    let s = setup(false).await;
    let cfg = WorkerConfig {
        timeout: Duration::from_millis(500),
        ..WorkerConfig::default()
    };
    let w = worker(&s.app, cfg, local());
    s.rx.script([
        Reply::WithHeader(302, "location", s.rx.url("/elsewhere")),
        Reply::Hang(Duration::from_secs(2)),
        Reply::Reset,
        Reply::Status(404),
    ]);
    s.book().await;
    let mut now = now_ms();
    for i in 0..4 {
        let out = w.step(now).await.unwrap();
        assert_eq!(out.attempted, 1, "step {i}: {:?}", s.delivery().await);
        now = s.delivery().await.2.unwrap();
    }
    let a = s.attempts().await;
    assert_eq!(a.len(), 4, "{a:?}");
    assert_eq!((a[0].1.as_str(), a[0].2), ("failed", Some(302)));
    assert!(a[0]
        .3
        .as_deref()
        .unwrap()
        .contains("redirects are not followed"));
    assert_eq!((a[1].1.as_str(), a[1].2), ("failed", None));
    assert!(
        a[1].3.as_deref().unwrap().contains("timed out"),
        "{:?}",
        a[1].3
    );
    assert_eq!(a[2].1, "failed");
    assert!(a[2].3.is_some());
    assert_eq!((a[3].1.as_str(), a[3].2), ("failed", Some(404)));
    assert!(
        s.rx.received().iter().all(|r| r.path == "/hook"),
        "the redirect target was never called"
    );
    assert!(a.iter().all(|x| x.4 == "scheduled"));
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_at_connect_time() {
    // The webhook was saved while 127.0.0.0/8 was allowed; the worker's policy allows nothing,
    // as if the name had changed its answer after it was checked.
    let s = setup(false).await;
    s.api
        .put(
            &format!("/webhooks/{}", s.hook_id()),
            json!({"url": format!("http://localhost:{}/hook", s.rx.port)}),
        )
        .await;
    let w = worker(&s.app, WorkerConfig::default(), TargetPolicy::default());
    s.book().await;
    w.step(now_ms()).await.unwrap();
    let a = s.attempts().await;
    assert_eq!(a[0].1, "failed");
    assert!(
        a[0].3.as_deref().unwrap().contains("non-public"),
        "{:?}",
        a[0].3
    );

    s.api
        .put(
            &format!("/webhooks/{}", s.hook_id()),
            json!({"url": s.rx.url("/hook")}),
        )
        .await;
    s.book().await;
    w.step(now_ms() + 3_600_000).await.unwrap();
    assert!(s.rx.received().is_empty(), "an IP literal is refused too");
}

#[tokio::test]
async fn a_rate_limited_endpoint_gets_no_more_than_its_rate() {
    let s = setup(false).await;
    s.api
        .put(
            &format!("/webhooks/{}", s.hook_id()),
            json!({"rate_limit_per_second": 3}),
        )
        .await;
    let w = worker(&s.app, WorkerConfig::default(), local());
    for _ in 0..10 {
        s.book().await;
    }
    assert_eq!(w.step(now_ms()).await.unwrap().attempted, 3);
    assert_eq!(
        w.step(now_ms()).await.unwrap().attempted,
        0,
        "the bucket is empty"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let n = w.step(now_ms()).await.unwrap().attempted;
    assert!((1..=3).contains(&n), "refilled at 3/s: {n}");
}

#[tokio::test]
async fn an_ordered_endpoint_gets_the_next_message_only_after_the_previous() {
    let s = setup(false).await;
    s.api
        .put(
            &format!("/webhooks/{}", s.hook_id()),
            json!({"ordered": true}),
        )
        .await;
    let w = worker(&s.app, WorkerConfig::default(), local());
    s.rx.script([Reply::Status(500)]);
    let first = s.book().await;
    let second = s.book().await;
    let now = now_ms();
    assert_eq!(w.step(now).await.unwrap().attempted, 1, "one at a time");
    assert_eq!(
        w.step(now + 1_000).await.unwrap().attempted,
        0,
        "the second waits for the first's retry"
    );
    let retry_at: i64 =
        sqlx::query_scalar("SELECT next_attempt_at FROM deliveries ORDER BY id LIMIT 1")
            .fetch_one(&s.app.db)
            .await
            .unwrap();
    assert_eq!(w.step(retry_at).await.unwrap().delivered, 1);
    assert_eq!(w.step(retry_at).await.unwrap().delivered, 1);
    let order: Vec<String> =
        s.rx.received()
            .iter()
            .map(|r| {
                serde_json::from_slice::<Value>(&r.body).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
    assert_eq!(order, vec![first.clone(), first, second]);
}

/// A round claims ahead of an endpoint's bound, but never sends it more requests at once than
/// the bound, nor claims more than the global bound.
#[tokio::test]
async fn an_endpoint_never_has_more_requests_at_once_than_its_bound() {
    let s = setup(false).await;
    let cfg = WorkerConfig {
        max_in_flight: 10,
        max_per_endpoint: 3,
        ..WorkerConfig::default()
    };
    let w = worker(&s.app, cfg, local());
    s.rx.always(Reply::Hang(Duration::from_millis(150)));
    for _ in 0..12 {
        s.book().await;
    }
    let started = std::time::Instant::now();
    let round = w.step(now_ms()).await.unwrap();
    assert_eq!(
        (round.attempted, round.delivered),
        (10, 10),
        "the global bound"
    );
    assert_eq!(s.rx.peak_concurrency(), 3, "the endpoint's bound");
    // 10 requests, 3 at a time, 150 ms each: four waves.
    assert!(started.elapsed() >= Duration::from_millis(4 * 150));
    assert_eq!(w.step(now_ms()).await.unwrap().delivered, 2);
    assert_eq!(s.rx.peak_concurrency(), 3);
}

#[tokio::test]
async fn metrics_count_outcomes_and_pending_messages() {
    let s = setup(false).await;
    let w = worker(&s.app, WorkerConfig::default(), local());
    s.rx.script([Reply::Status(500)]);
    s.book().await;
    s.book().await;
    w.step(now_ms()).await.unwrap();
    let text = reqwest::get(s.app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("bookhook_attempts_total{outcome=\"delivered\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("bookhook_attempts_total{outcome=\"failed\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("bookhook_deliveries{status=\"pending\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("bookhook_attempt_duration_seconds_count 2"),
        "{text}"
    );
    assert!(text.contains("bookhook_oldest_pending_age_seconds"));
}

#[tokio::test]
async fn shutdown_lets_the_attempts_in_flight_finish_and_records_them() {
    let s = setup(false).await;
    let w = Arc::new(worker(&s.app, WorkerConfig::default(), local()));
    s.rx.script([Reply::Hang(Duration::from_millis(600))]);
    s.book().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(w.clone().run(stop.clone()));
    s.rx.wait_for(1, Duration::from_secs(5)).await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        s.delivery().await.0,
        "delivered",
        "the answer that came after the signal was recorded"
    );
}

// ---------------------------------------------------------------------------------------------
// The delivery log, redelivery and test events, through the panel's server functions.

async fn list(s: &Setup, filter: Value, before: Option<i64>) -> Value {
    let res = s
        .app
        .client
        .post(s.app.url("/api/list_messages"))
        .form(&flatten("demo", &filter, before))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    res.json().await.unwrap()
}

/// Server functions take form-encoded arguments; the filter is a nested struct.
fn flatten(app: &str, f: &Value, before: Option<i64>) -> Vec<(String, String)> {
    let mut v = vec![("app".to_string(), app.to_string())];
    for k in ["webhook", "status", "graph", "state", "booking"] {
        v.push((
            format!("filter[{k}]"),
            f[k].as_str().unwrap_or("").to_string(),
        ));
    }
    for k in ["from", "to"] {
        v.push((
            format!("filter[{k}]"),
            f[k].as_i64().unwrap_or(0).to_string(),
        ));
    }
    if let Some(b) = before {
        v.push(("before".into(), b.to_string()));
    }
    v
}

#[tokio::test]
async fn the_log_filters_and_pages_newest_first_by_key() {
    let s = setup(false).await;
    let (_, declined) = s
        .api
        .post("/webhooks", json!({"name": "declines", "url": s.rx.url("/d"), "events": [{"graph": "confirm_decline", "state": "declined"}]}))
        .await;
    let declined_id = declined["data"]["id"].as_str().unwrap().to_string();
    for _ in 0..5 {
        s.book().await;
    }
    let cd = s
        .api
        .booking(&s.resource, "confirm_decline", json!({}))
        .await;
    let cd_id = cd["id"].as_str().unwrap().to_string();
    s.api.act(&cd_id, "decline").await;
    // The first message sent fails once: it is "retrying"; the rest are delivered.
    s.rx.script([Reply::Status(500)]);
    let w = worker(&s.app, WorkerConfig::default(), local());
    w.step(now_ms()).await.unwrap();

    let all = list(&s, json!({}), None).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    let ids: Vec<i64> = items.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert_eq!(items[0]["graph"], "confirm_decline");
    assert_eq!(items[0]["booking_id"], cd_id);

    async fn count(s: &Setup, f: Value) -> usize {
        list(s, f, None).await["items"].as_array().unwrap().len()
    }
    assert_eq!(count(&s, json!({"webhook": declined_id})).await, 1);
    assert_eq!(count(&s, json!({"graph": "instant"})).await, 5);
    assert_eq!(count(&s, json!({"state": "declined"})).await, 1);
    assert_eq!(count(&s, json!({"booking": cd_id})).await, 1);
    assert_eq!(count(&s, json!({"status": "retrying"})).await, 1);
    assert_eq!(count(&s, json!({"status": "delivered"})).await, 5);
    assert_eq!(count(&s, json!({"status": "failed"})).await, 0);
    assert_eq!(count(&s, json!({"from": now_ms() + 60_000})).await, 0);
    assert_eq!(count(&s, json!({"to": now_ms() + 60_000})).await, 6);

    // Keyset paging: 50 a page; here, page through with a smaller page by hand-made cursors.
    let older = list(&s, json!({}), Some(ids[2])).await;
    let older_ids: Vec<i64> = older["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(older_ids, ids[3..].to_vec());
    assert!(older["next_before"].is_null());

    // Disabling the webhook shows its open message as held.
    s.api
        .put(
            &format!("/webhooks/{}", s.hook_id()),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(count(&s, json!({"status": "held"})).await, 1);
    assert_eq!(count(&s, json!({"status": "retrying"})).await, 0);
}

#[tokio::test]
async fn a_message_is_redelivered_by_hand_even_after_it_failed() {
    let s = setup(false).await;
    let schedule = bookhook::delivery::retry::RetrySchedule::parse("1s").unwrap();
    let w = worker(
        &s.app,
        WorkerConfig {
            schedule,
            ..WorkerConfig::default()
        },
        local(),
    );
    s.rx.script([Reply::Status(500), Reply::Status(503)]);
    s.book().await;
    let now = now_ms();
    w.step(now).await.unwrap();
    w.step(now + 2_000).await.unwrap();
    assert_eq!(s.delivery().await.0, "failed");
    let msg: String = sqlx::query_scalar("SELECT msg_id FROM deliveries")
        .fetch_one(&s.app.db)
        .await
        .unwrap();

    let d = s
        .app
        .call_ok("redeliver", &[("app", "demo"), ("msg_id", &msg)])
        .await;
    assert_eq!(d["message"]["status"], "delivered");
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[2]["trigger"], "manual");
    assert_eq!(attempts[2]["outcome"], "delivered");
    assert_eq!(attempts[2]["response_status"], 200);
    assert!(
        d["payload"].as_str().unwrap().contains("\n  \"id\""),
        "pretty JSON"
    );
    let got = s.rx.received();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[2].header("webhook-id"),
        Some(msg.as_str()),
        "same message id as the original"
    );

    // Another app cannot see or redeliver it; anonymous callers get nothing.
    let (st, _) = error_of(
        s.app
            .call("get_message", &[("app", "nope"), ("msg_id", &msg)])
            .await,
    )
    .await;
    assert_eq!(st, 404);
    let other = s
        .app
        .call("create_app", &[("name", "Other"), ("slug", "other")])
        .await;
    assert!(other.status().is_success());
    let (st, _) = error_of(
        s.app
            .call("get_message", &[("app", "other"), ("msg_id", &msg)])
            .await,
    )
    .await;
    assert_eq!(st, 404);
    let (st, _) = error_of(
        s.app
            .call("redeliver", &[("app", "other"), ("msg_id", &msg)])
            .await,
    )
    .await;
    assert_eq!(st, 404);
    let anon = new_client();
    let (st, _) = error_of(
        s.app
            .call_with(&anon, "redeliver", &[("app", "demo"), ("msg_id", &msg)])
            .await,
    )
    .await;
    assert_eq!(st, 401);
    assert_eq!(s.rx.received().len(), 3);
}

#[tokio::test]
async fn a_test_event_goes_through_the_real_pipeline_marked_as_a_test() {
    let s = setup(true).await;
    let msg = s
        .app
        .call_ok(
            "send_test_event",
            &[
                ("app", "demo"),
                ("id", s.hook_id()),
                ("graph", "instant_payment"),
                ("state", "unpaid"),
            ],
        )
        .await;
    let msg = msg.as_str().unwrap().to_string();
    let got = s.rx.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        (body["graph"].as_str(), body["state"].as_str()),
        (Some("instant_payment"), Some("unpaid"))
    );
    assert_eq!(got[0].header("webhook-id"), Some(msg.as_str()));
    let mut trigger = String::new();
    for _ in 0..100 {
        if let Some(t) = sqlx::query_scalar::<_, String>("SELECT trigger FROM attempts")
            .fetch_optional(&s.app.db)
            .await
            .unwrap()
        {
            trigger = t;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(trigger, "test");
    let (st, e) = error_of(
        s.app
            .call(
                "send_test_event",
                &[
                    ("app", "demo"),
                    ("id", s.hook_id()),
                    ("graph", "instant"),
                    ("state", "unpaid"),
                ],
            )
            .await,
    )
    .await;
    assert_eq!((st, e["field"].as_str()), (400, Some("state")));
}

/// `step` is the same stages as `run`: a test event it sends is recorded as a test too.
#[tokio::test]
async fn a_test_event_sent_by_a_step_is_recorded_as_a_test() {
    let s = setup(false).await;
    let w = worker(&s.app, WorkerConfig::default(), local());
    s.app
        .call_ok(
            "send_test_event",
            &[
                ("app", "demo"),
                ("id", s.hook_id()),
                ("graph", "instant"),
                ("state", "confirmed"),
            ],
        )
        .await;
    s.book().await;
    assert_eq!(w.step(now_ms()).await.unwrap().delivered, 2);
    let triggers: Vec<String> = s.attempts().await.into_iter().map(|a| a.4).collect();
    assert_eq!(triggers, ["test", "scheduled"]);
}

#[tokio::test]
async fn the_live_log_streams_a_change_when_a_delivery_is_recorded() {
    let s = setup(true).await;
    let mut res = s
        .app
        .client
        .get(s.app.url("/apps/demo/deliveries/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    s.book().await;
    let chunk = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let c = res.chunk().await.unwrap().unwrap();
            let t = String::from_utf8_lossy(&c).to_string();
            if t.contains("changed") {
                return t;
            }
        }
    })
    .await
    .expect("an event arrives");
    assert!(chunk.contains("data: changed"));
    let anon = new_client();
    let res = anon
        .get(s.app.url("/apps/demo/deliveries/live"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200, "anonymous callers get no stream");
}

// ---------------------------------------------------------------------------------------------
// The request inspector

#[tokio::test]
async fn a_bin_records_requests_and_checks_the_signature_of_its_webhook() {
    // The default SSRF policy (nothing private allowed): the bin works anyway.
    let dir = tempfile::tempdir().unwrap();
    let mut st = test_settings(dir.path());
    st.delivery_enabled = true;
    let app = spawn_app_with(st, dir).await;
    app.setup_admin().await;
    let bin = app
        .call_ok("create_bin", &[("app", "demo"), ("name", "seed")])
        .await;
    let bin = bin.as_str().unwrap().to_string();
    assert_eq!(bin.len(), 32, "an unguessable token");
    let d = app
        .call_ok("get_bin", &[("app", "demo"), ("bin", &bin)])
        .await;
    let url = d["bin"]["url"].as_str().unwrap().to_string();
    assert!(url.ends_with(&format!("/inspect/{bin}")));

    // Anything sent to it is recorded.
    let res = reqwest::Client::new()
        .put(format!("{url}/deep/path?x=1"))
        .header("x-custom", "yes")
        .body("{\"hello\": \"world\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let d = app
        .call_ok("get_bin", &[("app", "demo"), ("bin", &bin)])
        .await;
    let r = &d["requests"][0];
    assert_eq!(r["method"], "PUT");
    assert_eq!(r["path"], format!("/inspect/{bin}/deep/path?x=1"));
    assert!(
        r["body"]
            .as_str()
            .unwrap()
            .contains("\n  \"hello\": \"world\""),
        "pretty JSON"
    );
    assert!(
        r["signature"].is_null(),
        "no linked webhook, nothing to check"
    );
    assert_eq!(
        reqwest::get(app.url("/inspect/notabin"))
            .await
            .unwrap()
            .status(),
        404
    );

    // One click makes a webhook that points here; a booking transition arrives signed.
    let hook = app
        .call_ok("webhook_for_bin", &[("app", "demo"), ("bin", &bin)])
        .await;
    assert!(hook.is_string());
    let api = app.api_for("demo").await;
    let res_id = api.resource().await;
    api.booking(&res_id, "instant", json!({})).await;
    let mut sig = Value::Null;
    for _ in 0..200 {
        let d = app
            .call_ok("get_bin", &[("app", "demo"), ("bin", &bin)])
            .await;
        if d["requests"].as_array().unwrap().len() >= 2 {
            sig = d["requests"][0]["signature"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        sig,
        json!({"Ok": null}),
        "the delivery reached the bin with a valid signature"
    );

    // Another app does not see it; other private addresses stay refused.
    app.call_ok("create_app", &[("name", "Other"), ("slug", "other")])
        .await;
    let (s, _) = error_of(
        app.call("get_bin", &[("app", "other"), ("bin", &bin)])
            .await,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = error_of(
        app.call("delete_bin", &[("app", "other"), ("bin", &bin)])
            .await,
    )
    .await;
    assert_eq!(s, 404);
    let (s, e) = api
        .post("/webhooks", json!({"url": format!("{}/elsewhere", app.base), "events": [{"graph": "instant", "state": "confirmed"}]}))
        .await;
    assert_eq!(
        s, 422,
        "only the inspector's own paths are let through: {e}"
    );
    app.call_ok("delete_bin", &[("app", "demo"), ("bin", &bin)])
        .await;
    assert_eq!(
        reqwest::Client::new()
            .post(&url)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn a_bin_keeps_only_its_last_hundred_requests() {
    let app = spawn_app().await;
    app.setup_admin().await;
    let bin = app
        .call_ok("create_bin", &[("app", "demo"), ("name", "")])
        .await;
    let url = format!("{}/inspect/{}", app.base, bin.as_str().unwrap());
    let c = reqwest::Client::new();
    for i in 0..105 {
        c.post(&url).body(format!("{i}")).send().await.unwrap();
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bin_requests")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 100);
    let oldest: Vec<u8> = sqlx::query_scalar("SELECT body FROM bin_requests ORDER BY id LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(oldest, b"5");
}

// ---------------------------------------------------------------------------------------------
// Bulk replay, retention, health

#[tokio::test]
async fn a_bulk_replay_requeues_failed_messages_in_batches_and_survives_a_restart() {
    use bookhook::engine::replay;
    let s = setup(false).await;
    let schedule = bookhook::delivery::retry::RetrySchedule::parse("1s").unwrap();
    let wide = WorkerConfig {
        schedule,
        max_in_flight: 1000,
        max_per_endpoint: 1000,
        ..WorkerConfig::default()
    };
    let w = worker(&s.app, wide.clone(), local());
    s.rx.always(Reply::Status(500));
    for _ in 0..250 {
        s.book().await;
    }
    let now = now_ms();
    w.step(now).await.unwrap();
    w.step(now + 2_000).await.unwrap();
    let failed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'failed'")
        .fetch_one(&s.app.db)
        .await
        .unwrap();
    assert_eq!(failed, 250);

    let job = replay::start(&s.app.db, 1, s.hook_id(), 0)
        .await
        .unwrap()
        .unwrap();
    // The server's housekeeping runs steps too; either way the job moves 200 at a time.
    let moved = s.app.state.engine.replay_step().await.unwrap();
    assert!(moved == 200 || moved == 0, "{moved}");
    let progress = |db: bookhook::store::Db| async move {
        sqlx::query_as::<_, (i64, i64, String)>(
            "SELECT total, done, status FROM replays WHERE id = $1",
        )
        .bind(job)
        .fetch_one(&db)
        .await
        .unwrap()
    };
    let (total, done, _) = progress(s.app.db.clone()).await;
    assert_eq!(total, 250);
    assert!(done == 200 || done == 250, "batches of 200: {done}");
    // A new process finishes the job from its cursor.
    let settings = (*s.app.state.settings).clone();
    s.app.stop.cancel();
    let again = spawn_app_with(settings, tempfile::tempdir().unwrap()).await;
    let mut state = (0, 0, String::new());
    for _ in 0..100 {
        again.state.engine.replay_step().await.unwrap();
        state = progress(again.db.clone()).await;
        if state.2 == "finished" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!((state.1, state.2.as_str()), (250, "finished"));
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")
            .fetch_one(&again.db)
            .await
            .unwrap();
    let by: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
            .fetch_all(&again.db)
            .await
            .unwrap();
    assert_eq!(pending, 250, "every failed message is due again: {by:?}");
    s.rx.always(Reply::Status(200));
    let w2 = worker(&again, wide, local());
    assert_eq!(w2.step(now_ms()).await.unwrap().delivered, 250);
    assert_eq!(
        replay::start(&again.db, 1, s.hook_id(), 0).await.unwrap(),
        None,
        "nothing left to replay"
    );
}

#[tokio::test]
async fn the_panel_starts_a_replay_and_reports_health() {
    let s = setup(true).await;
    s.rx.script([Reply::Status(500)]);
    s.book().await;
    s.book().await;
    let mut h = Value::Null;
    for _ in 0..100 {
        h = s
            .app
            .call_ok("webhook_health", &[("app", "demo"), ("id", s.hook_id())])
            .await;
        if h["hours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[0].as_i64().unwrap() + x[1].as_i64().unwrap())
            .sum::<i64>()
            >= 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(h["hours"].as_array().unwrap().len(), 24);
    assert_eq!(h["success_rate"], 0.5);
    assert!(h["p50_ms"].is_i64() && h["p95_ms"].is_i64());
    assert!(h["state"] == "healthy" || h["state"] == "failing", "{h}");
    let (st, e) = error_of(
        s.app
            .call(
                "replay_failed",
                &[("app", "demo"), ("id", s.hook_id()), ("since", "")],
            )
            .await,
    )
    .await;
    assert_eq!(
        (st, e["field"].as_str()),
        (409, Some("since")),
        "nothing has failed for good"
    );
    let (st, e) = error_of(
        s.app
            .call(
                "replay_failed",
                &[("app", "demo"), ("id", s.hook_id()), ("since", "soon")],
            )
            .await,
    )
    .await;
    assert_eq!((st, e["field"].as_str()), (400, Some("since")));
}

/// The panel's replay goes through the engine; the server's own housekeeping moves the job
/// and wakes the worker, which sends the message again.
#[tokio::test]
async fn a_replay_started_from_the_panel_is_sent_again_by_the_server() {
    let s = setup(true).await;
    s.rx.script([Reply::Status(500)]);
    s.book().await;
    s.rx.wait_for(1, Duration::from_secs(10)).await;
    // Failed for good, as after its last retry (the first retry is 5 s away).
    let mut failed = 0;
    for _ in 0..200 {
        failed = sqlx::query(
            "UPDATE deliveries SET status = 'failed' WHERE status = 'pending' AND attempts = 1",
        )
        .execute(&s.app.db)
        .await
        .unwrap()
        .rows_affected();
        if failed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        failed,
        1,
        "the attempt is recorded: {:?}",
        s.delivery().await
    );
    let (st, _) = error_of(
        s.app
            .call(
                "replay_failed",
                &[("app", "demo"), ("id", "wh_nope"), ("since", "soon")],
            )
            .await,
    )
    .await;
    assert_eq!(st, 404, "the webhook is checked before the time");
    let job = s
        .app
        .call_ok(
            "replay_failed",
            &[
                ("app", "demo"),
                ("id", s.hook_id()),
                ("since", "2020-01-01T00:00"),
            ],
        )
        .await;
    assert!(job.as_i64().is_some_and(|j| j > 0), "{job}");
    let got = s.rx.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "sent again");
    let mut h = Value::Null;
    for _ in 0..200 {
        h = s
            .app
            .call_ok("webhook_health", &[("app", "demo"), ("id", s.hook_id())])
            .await;
        if s.delivery().await.0 == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.delivery().await.0, "delivered");
    assert_eq!(
        h["replay"],
        json!({"total": 1, "done": 1, "finished": true, "since": 1_577_836_800_000i64}),
        "{h}"
    );
}

#[tokio::test]
async fn retention_purges_old_attempts_and_finished_messages_but_never_pending_ones() {
    use bookhook::store::retention::purge;
    let s = setup(false).await;
    let w = worker(&s.app, WorkerConfig::default(), local());
    s.rx.script([Reply::Status(500)]);
    s.book().await; // will be retrying (pending)
    s.book().await; // delivered
    w.step(now_ms()).await.unwrap();
    let deleted = purge(&s.app.db, now_ms() + 1_000).await.unwrap();
    assert_eq!(deleted, 3, "two attempts and the delivered message");
    let left: Vec<String> = sqlx::query_scalar("SELECT status FROM deliveries")
        .fetch_all(&s.app.db)
        .await
        .unwrap();
    assert_eq!(left, vec!["pending"]);
    assert_eq!(
        purge(&s.app.db, now_ms() - 60_000).await.unwrap(),
        0,
        "nothing younger than the cutoff"
    );
}

/// A new message to a plain webhook goes to the running worker in the transaction that writes
/// it (written `delivering` under a lease) and is sent at once, with no claim round: the
/// worker is not woken here. A message to an ordered webhook is written pending and waits
/// for a claim; with the worker stopped, every message is written pending.
#[tokio::test]
async fn a_new_message_goes_straight_to_the_running_worker() {
    let s = setup(false).await;
    let (st, ordered) = s
        .api
        .post(
            "/webhooks",
            json!({"url": s.rx.url("/ordered"), "ordered": true,
                   "events": [{"graph": "instant", "state": "confirmed"}]}),
        )
        .await;
    assert_eq!(st, 201, "{ordered}");
    let ordered = ordered["data"]["id"].as_str().unwrap().to_string();
    let w = Arc::new(worker(&s.app, WorkerConfig::default(), local()));
    // A notifier of its own: nothing wakes `w`, which must get the new messages handed over.
    let engine = bookhook::engine::Engine::new(
        s.app.db.clone(),
        bookhook::notify::Notifier::local(),
        s.app.state.metrics.clone(),
        Some(w.clone() as Arc<dyn bookhook::engine::handoff::Sender>),
        local(),
    );
    let demo = bookhook::store::app_by_slug(&s.app.db, "demo")
        .await
        .unwrap()
        .unwrap();
    let actor = bookhook::engine::Actor::api_key(1, "test");
    let book = || async {
        let body = booking_body(&s.resource, "instant", json!({}));
        let nb = bookhook::api::bookings::check_booking(serde_json::from_value(body).unwrap())
            .ok()
            .unwrap();
        engine.create_booking(&demo, nb, &actor).await.unwrap().id
    };
    let statuses = |booking: String| {
        let db = s.app.db.clone();
        async move {
            let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
                "SELECT webhook_id, status, lease_until FROM deliveries WHERE booking_id = $1 ORDER BY webhook_id",
            )
            .bind(booking)
            .fetch_all(&db)
            .await
            .unwrap();
            rows.into_iter()
                .map(|(hook, status, lease)| (hook, (status, lease.is_some())))
                .collect::<std::collections::HashMap<_, _>>()
        }
    };

    let first = book().await;
    let rows = statuses(first).await;
    assert_eq!(
        rows[s.hook_id()],
        ("pending".to_string(), false),
        "no worker runs"
    );
    assert_eq!(rows[&ordered], ("pending".to_string(), false));

    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(w.clone().run(stop.clone()));
    // The first two are claimed and sent; then the worker waits (up to a second) for work.
    s.rx.wait_for(2, Duration::from_secs(10)).await;
    for _ in 0..500 {
        let done: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'")
                .fetch_one(&s.app.db)
                .await
                .unwrap();
        if done == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;

    let sent_at = std::time::Instant::now();
    let second = book().await;
    let rows = statuses(second.clone()).await;
    assert_eq!(rows[s.hook_id()].0, "delivering", "handed over as written");
    assert!(rows[s.hook_id()].1, "under a lease");
    assert_eq!(
        rows[&ordered],
        ("pending".to_string(), false),
        "waits for a claim"
    );
    let arrived = loop {
        let got = s.rx.received();
        let hit = got.iter().find(|r| {
            r.path == "/hook"
                && serde_json::from_slice::<Value>(&r.body).unwrap()["id"] == json!(second)
        });
        if let Some(r) = hit {
            break r.at;
        }
        assert!(sent_at.elapsed() < Duration::from_secs(10), "never sent");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(
        arrived - sent_at < Duration::from_millis(500),
        "sent without waiting for a claim round: {:?}",
        arrived - sent_at
    );
    // The ordered one follows on a claim round; everything ends delivered.
    s.rx.wait_for(4, Duration::from_secs(10)).await;
    stop.cancel();
    running.await.unwrap();
    let delivered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'")
            .fetch_one(&s.app.db)
            .await
            .unwrap();
    assert_eq!(delivered, 4);
}

/// The delivery log through the API: a booking's message, its payload and its attempt, and the
/// filters refusing what they do not know.
#[tokio::test]
async fn the_api_reads_the_delivery_log() {
    let s = setup(true).await;
    let booking = s.book().await;
    s.rx.wait_for(1, Duration::from_secs(10)).await;
    let mut page = json!(null);
    for _ in 0..200 {
        page = s
            .api
            .get(&format!(
                "/deliveries?booking_id={booking}&status=delivered"
            ))
            .await
            .1;
        if page["data"].as_array().is_some_and(|d| d.len() == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let msg = &page["data"][0];
    assert_eq!(msg["webhook_id"], s.hook_id(), "{page}");
    assert_eq!(msg["state"], "confirmed");
    assert_eq!(page["next_before"], Value::Null);
    let msg_id = msg["msg_id"].as_str().unwrap();
    let (st, d) = s.api.get(&format!("/deliveries/{msg_id}")).await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["data"]["payload"]["id"], booking.as_str());
    let attempts = d["data"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["outcome"], "delivered");
    assert_eq!(attempts[0]["response_status"], 200);
    let received = &s.rx.received()[0];
    assert_eq!(received.header("webhook-id"), Some(msg_id));

    let (st, e) = s.api.get("/deliveries?status=lost").await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (400, Some("status")),
        "{e}"
    );
    let (st, e) = s.api.get("/deliveries?limit=0").await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (400, Some("limit")),
        "{e}"
    );
    assert_eq!(s.api.get("/deliveries/msg_nope").await.0, 404);
    let other = s.app.api_for("other").await;
    assert_eq!(other.get(&format!("/deliveries/{msg_id}")).await.0, 404);
    assert_eq!(other.get("/deliveries").await.1["data"], json!([]));
}
