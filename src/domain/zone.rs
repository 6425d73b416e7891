//! Times as people read and enter them: an instant shown in a named IANA zone (with its UTC), and
//! a wall-clock time typed in a zone turned into an instant, refusing the times daylight saving
//! skips or repeats.

use serde::{Deserialize, Serialize};

/// An instant as the panel shows it in a zone: `2030-01-10 10:00` in `Europe/Copenhagen`, and
/// the same instant in UTC for a hover text and a `<time datetime>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZonedTime {
    /// `2030-01-10 10:00`, the zone's wall clock.
    pub local: String,
    /// The IANA name, e.g. `Europe/Copenhagen`.
    pub zone: String,
    /// `2030-01-10 09:00 UTC`.
    pub utc: String,
    /// `2030-01-10T09:00:00Z`, machine-readable.
    pub iso: String,
    /// `2030-01-10T10:00`, the value of a `datetime-local` input showing this time.
    pub input: String,
}

/// `2030-01-10 09:00 UTC` from Unix milliseconds.
pub fn utc_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Why a wall-clock time typed in a zone names no single instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalTimeError {
    /// Not `YYYY-MM-DDTHH:MM` (seconds allowed).
    Malformed,
    /// The clocks skip this time (spring forward): `skipped_minutes` of the night do not exist.
    Skipped { skipped_minutes: i64 },
    /// The clocks pass this time twice (fall back): first at `first`, then at `second` (UTC texts).
    Repeated { first: String, second: String },
}

impl LocalTimeError {
    /// The form message, naming the time and the zone.
    pub fn message(&self, local: &str, zone: &str) -> String {
        let shown = local.trim().replacen('T', " ", 1);
        match self {
            Self::Malformed => {
                format!("Enter a date and time such as 2030-01-10T10:00 ({zone}).")
            }
            Self::Skipped { skipped_minutes } => format!(
                "{shown} does not exist in {zone}: the clocks skip {} that night for daylight \
                 saving time. Choose a time before or after the gap.",
                minutes_text(*skipped_minutes)
            ),
            Self::Repeated { first, second } => format!(
                "{shown} happens twice in {zone}, when the clocks go back for the end of daylight \
                 saving time: first at {first}, then at {second}. Choose another time, or create \
                 the booking through the API with an explicit offset."
            ),
        }
    }
}

fn minutes_text(m: i64) -> String {
    match m {
        60 => "an hour".into(),
        m if m % 60 == 0 => format!("{} hours", m / 60),
        m => format!("{m} minutes"),
    }
}

#[cfg(feature = "ssr")]
use chrono::{LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
#[cfg(feature = "ssr")]
use chrono_tz::{OffsetComponents, Tz};

/// Every IANA zone name chrono-tz knows, with its UTC offset now (`UTC+01:00`), for the
/// panel's searchable list.
#[cfg(feature = "ssr")]
pub fn all_zones() -> Vec<(String, String)> {
    let now = Utc::now();
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| {
            let secs = now.with_timezone(tz).offset().fix().local_minus_utc();
            (tz.name().to_string(), offset_text(secs))
        })
        .collect()
}

#[cfg(feature = "ssr")]
fn offset_text(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let m = secs.unsigned_abs() / 60;
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

/// The zone by name; an unknown or empty name reads as UTC (zones are checked when stored).
#[cfg(feature = "ssr")]
fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// `ms` on the wall clock of `zone`.
#[cfg(feature = "ssr")]
pub fn zoned(ms: i64, zone_name: &str) -> ZonedTime {
    let tz = zone(zone_name);
    let t = Utc
        .timestamp_millis_opt(ms)
        .single()
        .unwrap_or_default()
        .with_timezone(&tz);
    ZonedTime {
        local: t.format("%Y-%m-%d %H:%M").to_string(),
        zone: tz.name().to_string(),
        utc: utc_text(ms),
        iso: crate::domain::booking::rfc3339(ms),
        input: t.format("%Y-%m-%dT%H:%M").to_string(),
    }
}

/// The instant (Unix milliseconds) a `datetime-local` value means in `zone`.
#[cfg(feature = "ssr")]
pub fn from_local(local: &str, zone_name: &str) -> Result<i64, LocalTimeError> {
    let s = local.trim();
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| LocalTimeError::Malformed)?;
    let tz = zone(zone_name);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.timestamp_millis()),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.timestamp_millis(), b.timestamp_millis());
            Err(LocalTimeError::Repeated {
                first: utc_text(a.min(b)),
                second: utc_text(a.max(b)),
            })
        }
        LocalResult::None => {
            // The gap is the change of offset across the night.
            let offset = |n: NaiveDateTime| {
                let t = tz.from_utc_datetime(&n);
                let o = t.offset();
                (o.base_utc_offset() + o.dst_offset()).num_minutes()
            };
            let day = chrono::Duration::hours(12);
            Err(LocalTimeError::Skipped {
                skipped_minutes: (offset(naive + day) - offset(naive - day)).max(1),
            })
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn a_copenhagen_wall_clock_time_is_an_hour_ahead_of_utc_in_winter() {
        let ms = from_local("2030-01-10T10:00", "Europe/Copenhagen").unwrap();
        assert_eq!(crate::domain::booking::rfc3339(ms), "2030-01-10T09:00:00Z");
        let z = zoned(ms, "Europe/Copenhagen");
        assert_eq!(z.local, "2030-01-10 10:00");
        assert_eq!(z.utc, "2030-01-10 09:00 UTC");
        assert_eq!(z.input, "2030-01-10T10:00");
        assert_eq!(z.zone, "Europe/Copenhagen");
    }

    #[test]
    fn the_spring_forward_gap_is_refused_with_its_length() {
        // 2030-03-31: Copenhagen goes from 02:00 to 03:00.
        let e = from_local("2030-03-31T02:30", "Europe/Copenhagen").unwrap_err();
        assert_eq!(
            e,
            LocalTimeError::Skipped {
                skipped_minutes: 60
            }
        );
        let m = e.message("2030-03-31T02:30", "Europe/Copenhagen");
        assert!(
            m.contains("2030-03-31 02:30 does not exist in Europe/Copenhagen"),
            "{m}"
        );
        assert!(m.contains("an hour"), "{m}");
        // Lord Howe Island moves by half an hour.
        let e = from_local("2030-10-06T02:10", "Australia/Lord_Howe").unwrap_err();
        assert_eq!(
            e,
            LocalTimeError::Skipped {
                skipped_minutes: 30
            }
        );
    }

    #[test]
    fn the_fall_back_hour_is_refused_naming_both_instants() {
        // 2030-10-27: Copenhagen goes from 03:00 back to 02:00.
        let e = from_local("2030-10-27T02:30", "Europe/Copenhagen").unwrap_err();
        assert_eq!(
            e,
            LocalTimeError::Repeated {
                first: "2030-10-27 00:30 UTC".into(),
                second: "2030-10-27 01:30 UTC".into()
            }
        );
        assert!(e
            .message("2030-10-27T02:30", "Europe/Copenhagen")
            .contains("happens twice in Europe/Copenhagen"));
    }

    #[test]
    fn malformed_times_and_unknown_zones() {
        assert_eq!(
            from_local("10:00", "UTC").unwrap_err(),
            LocalTimeError::Malformed
        );
        assert_eq!(
            from_local("2030-01-10T10:00:30", "").unwrap(),
            crate::domain::booking::parse_time("2030-01-10T10:00:30Z").unwrap()
        );
    }

    #[test]
    fn the_zone_list_names_every_zone_with_its_offset() {
        let all = all_zones();
        assert!(all.len() > 400);
        assert!(all.iter().any(|(n, _)| n == "Europe/Copenhagen"));
        let utc = all.iter().find(|(n, _)| n == "UTC").unwrap();
        assert_eq!(utc.1, "UTC+00:00");
        let kolkata = all.iter().find(|(n, _)| n == "Asia/Kolkata").unwrap();
        assert_eq!(kolkata.1, "UTC+05:30");
    }
}
