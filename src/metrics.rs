//! Delivery metrics in the Prometheus text format: attempts by outcome, attempt durations, the
//! storage's episodes of unavailability, and (read from the database at scrape time) messages
//! by status, due now, and the oldest's age.

use std::sync::atomic::{AtomicI64, AtomicU64};

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds (seconds) of the attempt-duration histogram.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0,
];

/// The statuses `bookhook_deliveries` always exports, even at 0, so a series never vanishes.
const STATUSES: [&str; 4] = ["pending", "delivering", "delivered", "failed"];

/// One label, fixed at compile time: every label value here comes from a closed set.
type Label = [(&'static str, &'static str); 1];

/// The database's gauges of the deliveries, read for one scrape.
pub struct DeliveryGauges {
    pub by_status: Vec<(String, i64)>,
    pub due: i64,
    pub oldest_pending_age_secs: f64,
}

/// The store's episodes of unavailability, as its `Outage` counts them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Storage {
    pub unavailable: bool,
    pub episodes: u64,
    pub errors: u64,
}

/// Each value owns its registry, so servers sharing a process (as the tests start them) never
/// share a series. Counter names are registered without `_total`: the encoder adds it.
/// Help texts carry no final period: the registry adds it.
pub struct Metrics {
    registry: Registry,
    delivered: Counter,
    failed: Counter,
    gone: Counter,
    duration: Histogram,
    booking_commits: Counter,
    bookings_created: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let attempts = Family::<Label, Counter>::default();
        // Created up front so all three outcomes are exported from the first scrape, at 0; the
        // handles kept share their values with the family, so `observe` takes no lock.
        let outcome = |o| attempts.get_or_create_owned(&[("outcome", o)]);
        let (delivered, failed, gone) = (outcome("delivered"), outcome("failed"), outcome("gone"));
        registry.register(
            "bookhook_attempts",
            "Delivery attempts by outcome",
            attempts,
        );
        let duration = Histogram::new(BUCKETS);
        registry.register(
            "bookhook_attempt_duration_seconds",
            "Time from sending a delivery to its answer",
            duration.clone(),
        );
        let bookings_created = Counter::default();
        registry.register(
            "bookhook_bookings_created",
            "Bookings created through the API",
            bookings_created.clone(),
        );
        let booking_commits = Counter::default();
        registry.register(
            "bookhook_booking_commits",
            "Transactions that created them (calls that arrive together share one)",
            booking_commits.clone(),
        );
        Metrics {
            registry,
            delivered,
            failed,
            gone,
            duration,
            booking_commits,
            bookings_created,
        }
    }
}

impl Metrics {
    pub fn observe(&self, outcome: &str, duration: std::time::Duration) {
        match outcome {
            "delivered" => &self.delivered,
            "gone" => &self.gone,
            _ => &self.failed,
        }
        .inc();
        self.duration.observe(duration.as_secs_f64());
    }

    /// One committed transaction that created `bookings` bookings through the API.
    pub fn bookings_committed(&self, bookings: usize) {
        if bookings > 0 {
            self.booking_commits.inc();
            self.bookings_created.inc_by(bookings as u64);
        }
    }

    /// (transactions, bookings) so far, as `bookings_committed` counted them.
    pub fn booking_commits(&self) -> (u64, u64) {
        (self.booking_commits.get(), self.bookings_created.get())
    }

    /// The exposition in the Prometheus text format 0.0.4, the type `/metrics` declares; the
    /// deliveries' gauges are left out when the database could not be read.
    pub fn render(&self, gauges: Option<&DeliveryGauges>, storage: Storage) -> String {
        // The gauges are the database's, read by the caller for this scrape alone: a registry of
        // their own per scrape keeps concurrent scrapes from seeing each other's readings.
        let mut scrape = Registry::default();
        let unavailable = Gauge::<i64, AtomicI64>::default();
        unavailable.set(storage.unavailable as i64);
        scrape.register(
            "bookhook_storage_unavailable",
            "1 while the database cannot be written (full, read-only, down or refusing connections)",
            unavailable,
        );
        scrape.register(
            "bookhook_storage_unavailable_episodes",
            "Episodes of the database being unavailable since the process started",
            ConstCounter::new(storage.episodes),
        );
        scrape.register(
            "bookhook_storage_unavailable_errors",
            "Operations refused because the database was unavailable",
            ConstCounter::new(storage.errors),
        );
        if let Some(g) = gauges {
            Self::register_gauges(&mut scrape, g);
        }

        let mut s = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug in the crate, and a
        // scrape with what was written beats a panic in the handler.
        if let Err(e) = prometheus_text::encode(&mut s, &self.registry)
            .and_then(|()| prometheus_text::encode(&mut s, &scrape))
        {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        s
    }

    fn register_gauges(scrape: &mut Registry, g: &DeliveryGauges) {
        let (by_status, due, oldest_pending_age_secs) =
            (&g.by_status, g.due, g.oldest_pending_age_secs);
        let deliveries = Family::<Label, Gauge>::default();
        for status in STATUSES {
            let n = by_status
                .iter()
                .find(|(k, _)| k == status)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            deliveries.get_or_create(&[("status", status)]).set(n);
        }
        scrape.register("bookhook_deliveries", "Messages by status", deliveries);
        let due_now = Gauge::<i64, AtomicI64>::default();
        due_now.set(due);
        scrape.register(
            "bookhook_deliveries_due",
            "Pending messages whose time has come",
            due_now,
        );
        let oldest = Gauge::<f64, AtomicU64>::default();
        oldest.set(oldest_pending_age_secs);
        scrape.register(
            "bookhook_oldest_pending_age_seconds",
            "Age of the oldest message not yet delivered or failed",
            oldest,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    /// A parsed exposition: `TYPE` by family name, and sample value by `name{labels}` as written.
    struct Scrape {
        types: HashMap<String, String>,
        samples: HashMap<String, f64>,
    }

    /// Parses the text format line by line, failing on any line a 0.0.4 parser would reject or
    /// that only OpenMetrics has (`# EOF`, `# UNIT`).
    fn parse(text: &str) -> Scrape {
        let mut types = HashMap::new();
        let mut samples = HashMap::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect(line);
                assert!(
                    types.insert(name.to_owned(), kind.to_owned()).is_none(),
                    "second TYPE for {name}"
                );
                current = Some(name.to_owned());
            } else if line.starts_with("# HELP ") {
                continue;
            } else {
                assert!(!line.starts_with('#'), "not 0.0.4: {line}");
                let (series, value) = line.rsplit_once(' ').expect(line);
                let name = series.split('{').next().unwrap();
                let family = current.as_deref().expect("a sample before any TYPE");
                let kind = &types[family];
                let belongs = match kind.as_str() {
                    "histogram" => ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|s| name.strip_suffix(s) == Some(family)),
                    _ => name == family,
                };
                assert!(belongs, "{name} under TYPE {family} {kind}");
                let v: f64 = value.parse().expect(line);
                assert!(samples.insert(series.to_owned(), v).is_none(), "{series}");
            }
        }
        Scrape { types, samples }
    }

    #[test]
    fn renders_every_series_with_its_old_name_type_and_labels() {
        let m = Metrics::default();
        m.observe("delivered", Duration::from_millis(3));
        m.observe("delivered", Duration::from_millis(40));
        m.observe("timeout", Duration::from_secs(20));
        m.observe("gone", Duration::from_micros(500));
        m.bookings_committed(3);
        m.bookings_committed(0);
        m.bookings_committed(2);
        assert_eq!(m.booking_commits(), (2, 5));
        let by_status = [("pending".to_owned(), 4), ("failed".to_owned(), 1)];
        let g = DeliveryGauges {
            by_status: by_status.to_vec(),
            due: 2,
            oldest_pending_age_secs: 12.5,
        };
        let storage = Storage {
            unavailable: true,
            episodes: 2,
            errors: 7,
        };
        let s = parse(&m.render(Some(&g), storage));

        let types: Vec<_> = {
            let mut v: Vec<_> = s
                .types
                .iter()
                .map(|(n, t)| (n.as_str(), t.as_str()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            types,
            [
                ("bookhook_attempt_duration_seconds", "histogram"),
                ("bookhook_attempts_total", "counter"),
                ("bookhook_booking_commits_total", "counter"),
                ("bookhook_bookings_created_total", "counter"),
                ("bookhook_deliveries", "gauge"),
                ("bookhook_deliveries_due", "gauge"),
                ("bookhook_oldest_pending_age_seconds", "gauge"),
                ("bookhook_storage_unavailable", "gauge"),
                ("bookhook_storage_unavailable_episodes_total", "counter"),
                ("bookhook_storage_unavailable_errors_total", "counter"),
            ]
        );
        let v = |series: &str| *s.samples.get(series).unwrap_or_else(|| panic!("{series}"));
        assert_eq!(v("bookhook_attempts_total{outcome=\"delivered\"}"), 2.0);
        assert_eq!(v("bookhook_attempts_total{outcome=\"failed\"}"), 1.0);
        assert_eq!(v("bookhook_attempts_total{outcome=\"gone\"}"), 1.0);
        assert_eq!(v("bookhook_bookings_created_total"), 5.0);
        assert_eq!(v("bookhook_booking_commits_total"), 2.0);
        assert_eq!(v("bookhook_deliveries{status=\"pending\"}"), 4.0);
        assert_eq!(v("bookhook_deliveries{status=\"delivering\"}"), 0.0);
        assert_eq!(v("bookhook_deliveries{status=\"delivered\"}"), 0.0);
        assert_eq!(v("bookhook_deliveries{status=\"failed\"}"), 1.0);
        assert_eq!(v("bookhook_deliveries_due"), 2.0);
        assert_eq!(v("bookhook_oldest_pending_age_seconds"), 12.5);
        assert_eq!(v("bookhook_storage_unavailable"), 1.0);
        assert_eq!(v("bookhook_storage_unavailable_episodes_total"), 2.0);
        assert_eq!(v("bookhook_storage_unavailable_errors_total"), 7.0);

        // Cumulative buckets, with the bounds written exactly as before (`1`, not `1.0`).
        let bucket = |le: &str| {
            v(&format!(
                "bookhook_attempt_duration_seconds_bucket{{le=\"{le}\"}}"
            ))
        };
        let les = [
            "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "5",
            "15", "+Inf",
        ];
        let counts = [
            1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 4.0,
        ];
        for (le, n) in les.iter().zip(counts) {
            assert_eq!(bucket(le), n, "le={le}");
        }
        assert_eq!(v("bookhook_attempt_duration_seconds_count"), 4.0);
        let sum = v("bookhook_attempt_duration_seconds_sum");
        assert!((sum - 20.0435).abs() < 1e-9, "{sum}");
        // Nothing else: 3 outcomes, 13 buckets + sum + count, 2 booking counters, 4 + 2 gauges,
        // 3 of the storage.
        assert_eq!(s.samples.len(), 3 + 15 + 2 + 6 + 3);
    }

    #[test]
    fn two_values_share_no_series() {
        let (a, b) = (Metrics::default(), Metrics::default());
        a.observe("delivered", Duration::from_millis(1));
        a.bookings_committed(1);
        assert_eq!(b.booking_commits(), (0, 0));
        let s = parse(&b.render(None, Storage::default()));
        assert!(
            !s.types.contains_key("bookhook_deliveries"),
            "the database's gauges are left out when it was not read"
        );
        assert_eq!(s.samples["bookhook_storage_unavailable"], 0.0);
        assert_eq!(
            s.samples["bookhook_attempts_total{outcome=\"delivered\"}"],
            0.0
        );
        assert_eq!(s.samples["bookhook_attempt_duration_seconds_count"], 0.0);
        assert_eq!(s.samples["bookhook_bookings_created_total"], 0.0);
    }
}
