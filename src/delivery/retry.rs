//! When to try a delivery again: the schedule, jitter, `Retry-After`, what a response means, and
//! what an attempt leads to for its message and its webhook.

pub use crate::domain::delivery::Outcome;
use crate::domain::delivery::{DeliveryStatus, Trigger};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// The longest single delay a schedule may hold: longer ones are likely typos (`10d` for `10h`).
pub const MAX_DELAY: Duration = Duration::from_secs(7 * DAY);

/// The delays between attempts; the first attempt is immediate and not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    /// Svix's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — 8 attempts over about 27.6 hours.
    fn default() -> Self {
        let secs = [
            5,
            5 * MINUTE,
            30 * MINUTE,
            2 * HOUR,
            5 * HOUR,
            10 * HOUR,
            10 * HOUR,
        ];
        Self {
            delays: secs.into_iter().map(Duration::from_secs).collect(),
        }
    }
}

impl RetrySchedule {
    /// Reads a comma-separated list such as `5s, 5m, 30m, 2h, 5h, 10h, 10h` (units ms, s, m, h,
    /// d; whole numbers; whitespace ignored). Each delay must be positive and at most 7 days.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("a retry schedule needs at least one delay".to_owned());
        }
        let delays = s
            .split(',')
            .enumerate()
            .map(|(i, entry)| {
                parse_delay(entry)
                    .map_err(|why| format!("retry delay {} ({:?}): {why}", i + 1, entry.trim()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { delays })
    }

    /// Every attempt, the first one included.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len()).map_or(u32::MAX, |n| n.saturating_add(1))
    }

    /// The delay to wait after attempt number `attempt` (1-based) failed; `None` once the schedule
    /// is exhausted, when the message is failed for good (and for the meaningless attempt 0).
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
        self.delays.get(index).copied()
    }

    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }
}

impl FromStr for RetrySchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Writes the schedule back in the form [`RetrySchedule::parse`] reads, each delay in its largest
/// exact unit, so a saved or displayed schedule looks like what the operator typed.
impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, delay) in self.delays.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let ms = delay.as_millis();
            let (n, unit) = [(DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (1, "s")]
                .into_iter()
                .map(|(secs, unit)| (u128::from(secs) * 1000, unit))
                .find(|(unit_ms, _)| ms % unit_ms == 0)
                .map_or((ms, "ms"), |(unit_ms, unit)| (ms / unit_ms, unit));
            write!(f, "{n}{unit}")?;
        }
        Ok(())
    }
}

fn parse_delay(entry: &str) -> Result<Duration, String> {
    let compact: String = entry.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err("empty".to_owned());
    }
    let digits_end = compact
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(compact.len());
    let (number, unit) = compact.split_at(digits_end);
    if number.is_empty() {
        return Err("expected a whole number followed by ms, s, m, h or d".to_owned());
    }
    let n: u64 = number
        .parse()
        .map_err(|_| "the number is too large".to_owned())?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => MINUTE * 1000,
        "h" => HOUR * 1000,
        "d" => DAY * 1000,
        "" => return Err("missing unit (ms, s, m, h or d)".to_owned()),
        other => return Err(format!("unknown unit {other:?} (use ms, s, m, h or d)")),
    };
    let delay = n
        .checked_mul(unit_ms)
        .map(Duration::from_millis)
        .filter(|d| *d <= MAX_DELAY)
        .ok_or_else(|| "longer than 7 days".to_owned())?;
    if delay.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(delay)
}

/// `delay` scaled by a factor in [0.8, 1.2), `unit` in [0, 1) mapping linearly onto it.
///
/// Pure so that tests choose `unit`; values outside [0, 1] are clamped and NaN counts as 0.5.
pub fn jittered(delay: Duration, unit: f64) -> Duration {
    let unit = if unit.is_nan() {
        0.5
    } else {
        unit.clamp(0.0, 1.0)
    };
    let factor = 0.8 + 0.4 * unit;
    Duration::try_from_secs_f64(delay.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// ±20 % random jitter, so that messages failed together by one outage do not all retry at once.
pub fn jitter(delay: Duration) -> Duration {
    jittered(delay, rand::random::<f64>())
}

/// Reads a `Retry-After` value: delta-seconds, or an HTTP date (a past one means "now").
/// Anything else, negative numbers included, is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The delay actually waited: `Retry-After` is honoured only within [scheduled, 2 × scheduled],
/// so a receiver can neither make us hammer it sooner nor park its messages indefinitely.
pub fn next_delay(scheduled: Duration, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(asked) => asked.clamp(scheduled, scheduled.saturating_mul(2)),
        None => scheduled,
    }
}

/// The statuses whose `Retry-After` header is taken into account.
pub fn honours_retry_after(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Classifies an attempt by its response status; `None` is a connection or TLS error or a timeout.
pub fn classify(status: Option<u16>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(410) => Outcome::Gone,
        _ => Outcome::Failed,
    }
}

/// What the decision after an attempt reads of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempted {
    pub outcome: Outcome,
    pub trigger: Trigger,
    /// The attempt's number, the first being 1 (beyond the schedule after a replay or a
    /// manual attempt).
    pub attempt: u32,
    /// The response's status; `None` when there was no response.
    pub response_status: Option<u16>,
    /// The response's `Retry-After`, as read.
    pub retry_after: Option<Duration>,
    /// The message's status when it was taken for this attempt: a manual attempt that does not
    /// deliver it leaves it so. Claimed messages were pending (or claimed by a worker that died).
    pub status_before: DeliveryStatus,
    /// Since when (Unix ms) the webhook has had nothing but failures; `None`: it is not failing.
    pub failing_since: Option<i64>,
}

/// What an attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Next {
    /// The message's status from now on.
    pub status: DeliveryStatus,
    /// When it is tried next (Unix ms); `None` leaves the stored time as it was.
    pub attempt_at: Option<i64>,
    pub webhook: Health,
}

/// What an attempt does to its webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Nothing: a manual attempt that did not deliver says nothing the schedule acts on.
    Unchanged,
    /// It answered 2xx: its run of failures ends.
    Recovered,
    /// It failed: its run of failures goes on (or starts now); with `disable`, the run has
    /// lasted `disable_after` and the webhook is disabled, its messages held.
    Failing { disable: bool },
    /// It answered 410 Gone: it is disabled at once.
    Gone,
}

/// What happens to a message after an attempt, and to its webhook, at `now` (Unix ms).
///
/// A failed scheduled (or test) attempt is retried after the schedule's next delay, jittered by
/// `jitter` (in [0, 1), see [`jittered`]) and stretched by `Retry-After` only for the statuses
/// that honour it, within [`next_delay`]'s bounds; once the schedule is exhausted it fails for
/// good. 410 Gone holds the message pending, due at once, for when its webhook is enabled again.
/// A manual attempt touches neither schedule nor health unless it delivers.
pub fn next_state(
    a: &Attempted,
    schedule: &RetrySchedule,
    disable_after: Duration,
    now: i64,
    jitter: f64,
) -> Next {
    use DeliveryStatus::{Delivered, Failed, Pending};
    match (a.outcome, a.trigger) {
        (Outcome::Delivered, _) => Next {
            status: Delivered,
            attempt_at: None,
            webhook: Health::Recovered,
        },
        (Outcome::Failed | Outcome::Gone, Trigger::Manual) => Next {
            status: match a.status_before {
                Delivered => Delivered,
                Failed => Failed,
                DeliveryStatus::Pending | DeliveryStatus::Delivering => Pending,
            },
            attempt_at: None,
            webhook: Health::Unchanged,
        },
        (Outcome::Gone, Trigger::Scheduled | Trigger::Test) => Next {
            status: Pending,
            attempt_at: Some(now),
            webhook: Health::Gone,
        },
        (Outcome::Failed, Trigger::Scheduled | Trigger::Test) => {
            let (status, attempt_at) = match schedule.delay_after(a.attempt) {
                Some(scheduled) => {
                    let scheduled = jittered(scheduled, jitter);
                    let honoured = a.response_status.is_some_and(honours_retry_after);
                    let delay = next_delay(scheduled, a.retry_after.filter(|_| honoured));
                    (Pending, Some(now + delay.as_millis() as i64))
                }
                None => (Failed, None),
            };
            let since = a.failing_since.unwrap_or(now);
            Next {
                status,
                attempt_at,
                webhook: Health::Failing {
                    disable: now - since >= disable_after.as_millis() as i64,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn the_default_schedule_is_the_one_svix_uses_with_eight_attempts() {
        let schedule = RetrySchedule::default();
        assert_eq!(
            schedule.delays(),
            [
                secs(5),
                secs(300),
                secs(1800),
                secs(7200),
                secs(18000),
                secs(36000),
                secs(36000)
            ]
        );
        assert_eq!(schedule.max_attempts(), 8);
        let total: Duration = schedule.delays().iter().sum();
        assert_eq!(total, secs(27 * 3600 + 35 * 60 + 5));
    }

    #[test]
    fn delay_after_follows_the_schedule_and_ends_after_the_last_attempt() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.delay_after(1), Some(secs(5)));
        assert_eq!(schedule.delay_after(2), Some(secs(300)));
        assert_eq!(schedule.delay_after(3), Some(secs(1800)));
        assert_eq!(schedule.delay_after(4), Some(secs(7200)));
        assert_eq!(schedule.delay_after(5), Some(secs(18000)));
        assert_eq!(schedule.delay_after(6), Some(secs(36000)));
        assert_eq!(schedule.delay_after(7), Some(secs(36000)));
        assert_eq!(schedule.delay_after(8), None);
        assert_eq!(schedule.delay_after(u32::MAX), None);
        assert_eq!(schedule.delay_after(0), None);
    }

    #[test]
    fn the_default_schedule_parses_from_its_written_form() {
        assert_eq!(
            RetrySchedule::parse("5s, 5m, 30m, 2h, 5h, 10h, 10h"),
            Ok(RetrySchedule::default())
        );
        assert_eq!(
            RetrySchedule::default().to_string(),
            "5s, 5m, 30m, 2h, 5h, 10h, 10h"
        );
    }

    #[test]
    fn parse_accepts_every_unit_and_ignores_whitespace() {
        let schedule: RetrySchedule = " 250 ms,1 s ,\t2m,3h , 7d ".parse().unwrap();
        assert_eq!(
            schedule.delays(),
            [
                Duration::from_millis(250),
                secs(1),
                secs(120),
                secs(3 * 3600),
                secs(7 * 86400)
            ]
        );
        assert_eq!(schedule.max_attempts(), 6);
        assert_eq!(schedule.to_string(), "250ms, 1s, 2m, 3h, 7d");
        assert_eq!(RetrySchedule::parse(&schedule.to_string()), Ok(schedule));
        assert_eq!(RetrySchedule::parse("90s").unwrap().to_string(), "90s");
    }

    #[test]
    fn parse_refuses_bad_schedules_and_names_the_bad_entry() {
        assert!(RetrySchedule::parse("")
            .unwrap_err()
            .contains("at least one"));
        assert!(RetrySchedule::parse("  ")
            .unwrap_err()
            .contains("at least one"));
        for (input, culprit) in [
            ("5s, 5x", "\"5x\""),
            ("5s,,5m", "retry delay 2"),
            ("5s, 0s", "\"0s\""),
            ("5s, 0ms", "zero"),
            ("8d", "7 days"),
            ("5s, 169h", "\"169h\""),
            ("5", "missing unit"),
            ("s", "\"s\""),
            ("-5s", "\"-5s\""),
            ("1.5h", "\"1.5h\""),
            ("5S", "\"5S\""),
            ("99999999999999999999s", "too large"),
            ("18446744073709551615d", "7 days"),
            ("5s,", "retry delay 2"),
        ] {
            let err = RetrySchedule::parse(input).unwrap_err();
            assert!(err.contains(culprit), "{input:?} gave {err:?}");
        }
    }

    #[test]
    fn exactly_seven_days_is_allowed() {
        assert_eq!(RetrySchedule::parse("168h").unwrap().delays(), [MAX_DELAY]);
    }

    #[test]
    fn jitter_at_zero_is_eighty_percent() {
        assert_eq!(jittered(secs(10), 0.0), secs(8));
    }

    #[test]
    fn jitter_at_one_half_is_exactly_the_delay() {
        assert_eq!(jittered(secs(10), 0.5), secs(10));
        assert_eq!(jittered(secs(36000), 0.5), secs(36000));
    }

    #[test]
    fn jitter_just_below_one_stays_under_a_hundred_and_twenty_percent() {
        let d = jittered(secs(100), 0.999_999);
        assert!(d < secs(120) && d > Duration::from_millis(119_999), "{d:?}");
    }

    #[test]
    fn jitter_clamps_nonsense_units() {
        assert_eq!(jittered(secs(10), -3.0), secs(8));
        assert_eq!(jittered(secs(10), f64::NAN), secs(10));
        assert_eq!(jittered(Duration::MAX, 0.9), Duration::MAX);
    }

    #[test]
    fn random_jitter_stays_within_twenty_percent() {
        for _ in 0..1000 {
            let d = jitter(secs(300));
            assert!(d >= secs(240) && d < secs(360), "{d:?}");
        }
    }

    #[test]
    fn retry_after_in_seconds_is_read() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("120", now), Some(secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_as_a_future_http_date_is_the_time_until_then() {
        // 2015-10-21 07:28:00 UTC is 1445412480 in Unix seconds.
        let now = SystemTime::UNIX_EPOCH + secs(1445412480 - 90);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(secs(90))
        );
    }

    #[test]
    fn retry_after_as_a_past_http_date_is_zero() {
        let now = SystemTime::UNIX_EPOCH + secs(1445412480 + 3600);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_retry_after_is_ignored() {
        let now = SystemTime::now();
        for value in [
            "",
            "soon",
            "-5",
            "1.5",
            "12s",
            "+30",
            "Wed, 21 Oct 2015",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }

    #[test]
    fn retry_after_never_shortens_the_schedule() {
        assert_eq!(next_delay(secs(300), Some(secs(10))), secs(300));
        assert_eq!(next_delay(secs(300), Some(Duration::ZERO)), secs(300));
    }

    #[test]
    fn retry_after_within_the_window_is_honoured() {
        assert_eq!(next_delay(secs(300), Some(secs(450))), secs(450));
        assert_eq!(next_delay(secs(300), Some(secs(600))), secs(600));
    }

    #[test]
    fn retry_after_never_stretches_past_twice_the_schedule() {
        assert_eq!(next_delay(secs(300), Some(secs(86400))), secs(600));
        assert_eq!(
            next_delay(Duration::MAX, Some(Duration::MAX)),
            Duration::MAX
        );
    }

    #[test]
    fn without_retry_after_the_schedule_stands() {
        assert_eq!(next_delay(secs(300), None), secs(300));
    }

    #[test]
    fn only_throttling_and_gateway_statuses_honour_retry_after() {
        for status in [429, 502, 503, 504] {
            assert!(honours_retry_after(status), "{status}");
        }
        for status in [200, 301, 400, 410, 500, 501, 505] {
            assert!(!honours_retry_after(status), "{status}");
        }
    }

    #[test]
    fn responses_are_classified_as_the_spec_says() {
        for status in [200, 204, 299] {
            assert_eq!(classify(Some(status)), Outcome::Delivered, "{status}");
        }
        assert_eq!(classify(Some(410)), Outcome::Gone);
        for status in [301, 302, 400, 404, 429, 500, 503] {
            assert_eq!(classify(Some(status)), Outcome::Failed, "{status}");
        }
        assert_eq!(classify(None), Outcome::Failed);
    }

    // What an attempt leads to: one named row per case.

    const NOW: i64 = 1_700_000_000_000;
    const HOUR_MS: i64 = 3_600_000;
    /// The webhook flag's threshold in the tables below.
    const DISABLE_AFTER: Duration = Duration::from_secs(5 * DAY);
    const DISABLE_AFTER_MS: i64 = 5 * 24 * HOUR_MS;

    /// Four attempts: delays after the first (1 s), the middle ones (1 min, 1 h), none after the
    /// last (the fourth); a fifth is beyond the schedule (after a replay or a manual attempt).
    fn schedule() -> RetrySchedule {
        RetrySchedule::parse("1s, 1m, 1h").unwrap()
    }

    /// How long the webhook has had nothing but failures before the attempt.
    #[derive(Clone, Copy, Debug)]
    enum Webhook {
        Healthy,
        FailingBriefly,
        FailingJustShortOfDisabling,
        FailingLongEnoughToDisable,
    }

    impl Webhook {
        fn failing_since(self) -> Option<i64> {
            match self {
                Webhook::Healthy => None,
                Webhook::FailingBriefly => Some(NOW - HOUR_MS),
                Webhook::FailingJustShortOfDisabling => Some(NOW - DISABLE_AFTER_MS + 1),
                Webhook::FailingLongEnoughToDisable => Some(NOW - DISABLE_AFTER_MS),
            }
        }
    }

    fn attempted(
        outcome: Outcome,
        trigger: Trigger,
        attempt: u32,
        before: DeliveryStatus,
        webhook: Webhook,
    ) -> Attempted {
        Attempted {
            outcome,
            trigger,
            attempt,
            response_status: match outcome {
                Outcome::Delivered => Some(200),
                Outcome::Failed => Some(500),
                Outcome::Gone => Some(410),
            },
            retry_after: None,
            status_before: before,
            failing_since: webhook.failing_since(),
        }
    }

    fn next(status: DeliveryStatus, attempt_at: Option<i64>, webhook: Health) -> Next {
        Next {
            status,
            attempt_at,
            webhook,
        }
    }

    #[test]
    fn every_outcome_attempt_trigger_and_webhook_leads_where_it_should() {
        use DeliveryStatus::{Delivered, Delivering, Failed, Pending};
        use Health::{Gone, Recovered, Unchanged};
        use Trigger::{Manual, Scheduled, Test};
        use Webhook::*;
        let failing = |disable| Health::Failing { disable };
        let at = |ms: i64| Some(NOW + ms);
        #[rustfmt::skip]
        let rows: &[(&str, Outcome, Trigger, u32, DeliveryStatus, Webhook, Next)] = &[
            // Delivered: done, whatever came before, and the webhook's failure run ends.
            ("delivered at the first attempt", Outcome::Delivered, Scheduled, 1, Pending, Healthy,
                next(Delivered, None, Recovered)),
            ("delivered at a middle attempt", Outcome::Delivered, Scheduled, 2, Pending, FailingBriefly,
                next(Delivered, None, Recovered)),
            ("delivered at the last attempt to a webhook failing long enough to disable", Outcome::Delivered, Scheduled, 4, Pending, FailingLongEnoughToDisable,
                next(Delivered, None, Recovered)),
            ("delivered beyond the schedule", Outcome::Delivered, Scheduled, 5, Pending, Healthy,
                next(Delivered, None, Recovered)),
            ("a test event delivered", Outcome::Delivered, Test, 1, Pending, FailingBriefly,
                next(Delivered, None, Recovered)),
            ("a manual attempt delivers a failed message", Outcome::Delivered, Manual, 5, Failed, FailingLongEnoughToDisable,
                next(Delivered, None, Recovered)),
            ("a manual attempt delivers a pending message", Outcome::Delivered, Manual, 2, Pending, Healthy,
                next(Delivered, None, Recovered)),
            ("a manual attempt delivers a delivered message again", Outcome::Delivered, Manual, 2, Delivered, Healthy,
                next(Delivered, None, Recovered)),
            // Failed: retried per the schedule until it runs out; the webhook's run goes on.
            ("the first failure retries after the first delay", Outcome::Failed, Scheduled, 1, Pending, Healthy,
                next(Pending, at(1_000), failing(false))),
            ("a middle failure retries after its delay", Outcome::Failed, Scheduled, 2, Pending, FailingBriefly,
                next(Pending, at(60_000), failing(false))),
            ("the last retry waits the last delay", Outcome::Failed, Scheduled, 3, Pending, FailingBriefly,
                next(Pending, at(HOUR_MS), failing(false))),
            ("a failed last attempt fails the message for good", Outcome::Failed, Scheduled, 4, Pending, FailingBriefly,
                next(Failed, None, failing(false))),
            ("a failure beyond the schedule fails it again at once", Outcome::Failed, Scheduled, 5, Pending, Healthy,
                next(Failed, None, failing(false))),
            ("a webhook failing just short of disable_after stays enabled", Outcome::Failed, Scheduled, 2, Pending, FailingJustShortOfDisabling,
                next(Pending, at(60_000), failing(false))),
            ("a first failure to a webhook failing for disable_after disables it", Outcome::Failed, Scheduled, 1, Pending, FailingLongEnoughToDisable,
                next(Pending, at(1_000), failing(true))),
            ("a failed last attempt to a webhook failing long enough fails and disables", Outcome::Failed, Scheduled, 4, Pending, FailingLongEnoughToDisable,
                next(Failed, None, failing(true))),
            ("a failure beyond the schedule to a webhook failing long enough", Outcome::Failed, Scheduled, 5, Pending, FailingLongEnoughToDisable,
                next(Failed, None, failing(true))),
            ("a failed test event retries as a scheduled one", Outcome::Failed, Test, 1, Pending, Healthy,
                next(Pending, at(1_000), failing(false))),
            ("a failed test event to a webhook failing long enough disables it", Outcome::Failed, Test, 2, Pending, FailingLongEnoughToDisable,
                next(Pending, at(60_000), failing(true))),
            ("a failed last attempt of a test event fails it", Outcome::Failed, Test, 4, Pending, FailingBriefly,
                next(Failed, None, failing(false))),
            // Gone: held pending, due as soon as the webhook is enabled again, which it is not.
            ("gone at the first attempt holds the message and disables the webhook", Outcome::Gone, Scheduled, 1, Pending, Healthy,
                next(Pending, Some(NOW), Gone)),
            ("gone at the last attempt holds the message, not fails it", Outcome::Gone, Scheduled, 4, Pending, FailingBriefly,
                next(Pending, Some(NOW), Gone)),
            ("gone beyond the schedule to a webhook failing long enough", Outcome::Gone, Scheduled, 5, Pending, FailingLongEnoughToDisable,
                next(Pending, Some(NOW), Gone)),
            ("a test event gone", Outcome::Gone, Test, 1, Pending, Healthy,
                next(Pending, Some(NOW), Gone)),
            // Manual, not delivered: the status and the schedule stay, the webhook is untouched.
            ("a failed manual attempt leaves a failed message failed", Outcome::Failed, Manual, 5, Failed, FailingLongEnoughToDisable,
                next(Failed, None, Unchanged)),
            ("a failed manual attempt leaves a delivered message delivered", Outcome::Failed, Manual, 3, Delivered, Healthy,
                next(Delivered, None, Unchanged)),
            ("a failed manual attempt leaves a pending message on its schedule", Outcome::Failed, Manual, 2, Pending, FailingBriefly,
                next(Pending, None, Unchanged)),
            ("a failed manual attempt at the last attempt number does not fail a pending message", Outcome::Failed, Manual, 4, Pending, Healthy,
                next(Pending, None, Unchanged)),
            ("a failed manual attempt puts a message whose claim expired back to pending", Outcome::Failed, Manual, 1, Delivering, Healthy,
                next(Pending, None, Unchanged)),
            ("a manual attempt answered gone disables nothing and keeps a failed message failed", Outcome::Gone, Manual, 5, Failed, FailingLongEnoughToDisable,
                next(Failed, None, Unchanged)),
            ("a manual attempt answered gone keeps a pending message pending", Outcome::Gone, Manual, 1, Pending, Healthy,
                next(Pending, None, Unchanged)),
        ];
        let schedule = schedule();
        for (name, outcome, trigger, attempt, before, webhook, want) in rows {
            let a = attempted(*outcome, *trigger, *attempt, *before, *webhook);
            assert_eq!(
                next_state(&a, &schedule, DISABLE_AFTER, NOW, 0.5),
                *want,
                "{name}"
            );
        }
    }

    /// Name; attempt; response status; `Retry-After` in seconds; jitter; then the status and
    /// the delay in ms that follow.
    type RetryAfterRow = (
        &'static str,
        u32,
        Option<u16>,
        Option<u64>,
        f64,
        DeliveryStatus,
        Option<i64>,
    );

    #[test]
    fn retry_after_is_honoured_only_for_some_statuses_and_within_bounds() {
        let failing = Health::Failing { disable: false };
        // The second attempt's delay is 1 min: 48 s to 72 s jittered.
        #[rustfmt::skip]
        let rows: &[RetryAfterRow] = &[
            ("429 asking for longer, within twice the delay, is honoured", 2, Some(429), Some(90), 0.5, DeliveryStatus::Pending, Some(90_000)),
            ("502 asking for exactly twice the delay is honoured", 2, Some(502), Some(120), 0.5, DeliveryStatus::Pending, Some(120_000)),
            ("503 asking for more than twice the delay gets twice", 2, Some(503), Some(3_600), 0.5, DeliveryStatus::Pending, Some(120_000)),
            ("504 asking for less than the delay gets the delay", 2, Some(504), Some(10), 0.5, DeliveryStatus::Pending, Some(60_000)),
            ("500 is not one that honours it", 2, Some(500), Some(90), 0.5, DeliveryStatus::Pending, Some(60_000)),
            ("400 is not one that honours it", 2, Some(400), Some(90), 0.5, DeliveryStatus::Pending, Some(60_000)),
            ("no response has no Retry-After", 2, None, None, 0.5, DeliveryStatus::Pending, Some(60_000)),
            ("429 without Retry-After waits the delay", 2, Some(429), None, 0.5, DeliveryStatus::Pending, Some(60_000)),
            ("the bounds are those of the jittered delay, low", 2, Some(429), Some(100), 0.0, DeliveryStatus::Pending, Some(96_000)),
            ("the jitter at its low end with no Retry-After", 2, Some(503), None, 0.0, DeliveryStatus::Pending, Some(48_000)),
            ("the bounds are those of the jittered delay, high", 2, Some(429), Some(30), 0.75, DeliveryStatus::Pending, Some(66_000)),
            ("Retry-After does not extend an exhausted schedule", 4, Some(429), Some(60), 0.5, DeliveryStatus::Failed, None),
        ];
        let schedule = schedule();
        for (name, attempt, status, retry_after, jitter, status_after, at) in rows {
            let a = Attempted {
                outcome: Outcome::Failed,
                trigger: Trigger::Scheduled,
                attempt: *attempt,
                response_status: *status,
                retry_after: retry_after.map(secs),
                status_before: DeliveryStatus::Pending,
                failing_since: None,
            };
            assert_eq!(
                next_state(&a, &schedule, DISABLE_AFTER, NOW, *jitter),
                next(*status_after, at.map(|ms| NOW + ms), failing),
                "{name}"
            );
        }
    }

    #[test]
    fn a_test_event_is_treated_as_a_scheduled_attempt_in_every_case() {
        let schedule = schedule();
        let webhooks = [
            Webhook::Healthy,
            Webhook::FailingBriefly,
            Webhook::FailingJustShortOfDisabling,
            Webhook::FailingLongEnoughToDisable,
        ];
        for outcome in Outcome::ALL {
            for attempt in 1..=6 {
                for webhook in webhooks {
                    let scheduled = attempted(
                        *outcome,
                        Trigger::Scheduled,
                        attempt,
                        DeliveryStatus::Pending,
                        webhook,
                    );
                    let test = Attempted {
                        trigger: Trigger::Test,
                        ..scheduled
                    };
                    assert_eq!(
                        next_state(&test, &schedule, DISABLE_AFTER, NOW, 0.3),
                        next_state(&scheduled, &schedule, DISABLE_AFTER, NOW, 0.3),
                        "{outcome:?} at attempt {attempt} to a {webhook:?} webhook"
                    );
                }
            }
        }
    }

    #[test]
    fn with_disable_after_zero_any_failure_disables_even_a_healthy_webhook() {
        let a = attempted(
            Outcome::Failed,
            Trigger::Scheduled,
            1,
            DeliveryStatus::Pending,
            Webhook::Healthy,
        );
        assert_eq!(
            next_state(&a, &schedule(), Duration::ZERO, NOW, 0.5).webhook,
            Health::Failing { disable: true }
        );
    }
}
