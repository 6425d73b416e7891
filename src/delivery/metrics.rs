//! Delivery metrics in the Prometheus text format: attempts by outcome, attempt durations, and
//! (read from the database at scrape time) messages by status, due now, and the oldest's age.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the attempt-duration histogram.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0,
];

#[derive(Default)]
pub struct Metrics {
    delivered: AtomicU64,
    failed: AtomicU64,
    gone: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    booking_commits: AtomicU64,
    bookings_created: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, outcome: &str, duration: std::time::Duration) {
        match outcome {
            "delivered" => &self.delivered,
            "gone" => &self.gone,
            _ => &self.failed,
        }
        .fetch_add(1, Ordering::Relaxed);
        let secs = duration.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(duration.as_micros() as u64, Ordering::Relaxed);
    }

    /// One committed transaction that created `bookings` bookings through the API.
    pub fn bookings_committed(&self, bookings: usize) {
        if bookings > 0 {
            self.booking_commits.fetch_add(1, Ordering::Relaxed);
            self.bookings_created
                .fetch_add(bookings as u64, Ordering::Relaxed);
        }
    }

    /// (transactions, bookings) so far, as `bookings_committed` counted them.
    pub fn booking_commits(&self) -> (u64, u64) {
        (
            self.booking_commits.load(Ordering::Relaxed),
            self.bookings_created.load(Ordering::Relaxed),
        )
    }

    pub fn render(
        &self,
        by_status: &[(String, i64)],
        due: i64,
        oldest_pending_age_secs: f64,
    ) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP bookhook_attempts_total Delivery attempts by outcome."
        );
        let _ = writeln!(s, "# TYPE bookhook_attempts_total counter");
        for (name, c) in [
            ("delivered", &self.delivered),
            ("failed", &self.failed),
            ("gone", &self.gone),
        ] {
            let _ = writeln!(
                s,
                "bookhook_attempts_total{{outcome=\"{name}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            s,
            "# HELP bookhook_attempt_duration_seconds Time from sending a delivery to its answer."
        );
        let _ = writeln!(s, "# TYPE bookhook_attempt_duration_seconds histogram");
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                s,
                "bookhook_attempt_duration_seconds_bucket{{le=\"{le}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            s,
            "bookhook_attempt_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            s,
            "bookhook_attempt_duration_seconds_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(s, "bookhook_attempt_duration_seconds_count {count}");
        let _ = writeln!(s, "# HELP bookhook_deliveries Messages by status.");
        let _ = writeln!(s, "# TYPE bookhook_deliveries gauge");
        for status in ["pending", "delivering", "delivered", "failed"] {
            let n = by_status
                .iter()
                .find(|(k, _)| k == status)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let _ = writeln!(s, "bookhook_deliveries{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(
            s,
            "# HELP bookhook_deliveries_due Pending messages whose time has come."
        );
        let _ = writeln!(s, "# TYPE bookhook_deliveries_due gauge");
        let _ = writeln!(s, "bookhook_deliveries_due {due}");
        let _ = writeln!(s, "# HELP bookhook_oldest_pending_age_seconds Age of the oldest message not yet delivered or failed.");
        let _ = writeln!(s, "# TYPE bookhook_oldest_pending_age_seconds gauge");
        let _ = writeln!(
            s,
            "bookhook_oldest_pending_age_seconds {oldest_pending_age_secs}"
        );
        let _ = writeln!(
            s,
            "# HELP bookhook_bookings_created_total Bookings created through the API."
        );
        let _ = writeln!(s, "# TYPE bookhook_bookings_created_total counter");
        let _ = writeln!(
            s,
            "bookhook_bookings_created_total {}",
            self.bookings_created.load(Ordering::Relaxed)
        );
        let _ = writeln!(s, "# HELP bookhook_booking_commits_total Transactions that created them (calls that arrive together share one).");
        let _ = writeln!(s, "# TYPE bookhook_booking_commits_total counter");
        let _ = writeln!(
            s,
            "bookhook_booking_commits_total {}",
            self.booking_commits.load(Ordering::Relaxed)
        );
        s
    }
}
