//! When to try a delivery again: the schedule, jitter, `Retry-After`, and what a response means.

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

/// What one attempt amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx response: the message is done.
    Delivered,
    /// 410 Gone: the receiver asks for the endpoint to be disabled at once.
    Gone,
    /// Anything else (redirects are not followed), or no response at all: retry per the schedule.
    Failed,
}

/// Classifies an attempt by its response status; `None` is a connection or TLS error or a timeout.
pub fn classify(status: Option<u16>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(410) => Outcome::Gone,
        _ => Outcome::Failed,
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
}
