//! Whether the database can be written now: the one rule saying which errors mean "storage
//! unavailable", and the episodes they make (one log line when one starts and one when it ends,
//! counted for `/metrics`).
//!
//! Every error of the store passes [`is_unavailable`] wherever it is judged (the API's and the
//! panel's errors, the engine's, the worker's logs), so a full disk, a read-only file system or
//! a database that is down or refusing connections reads the same everywhere: "try again
//! later" (503), never "bug" (500). The [`Outage`] of a `Db` hears of every failure at the
//! store's entrances (reads through `&Db`, `store::write`) and of every committed write: a
//! failure that means "unavailable" starts an episode; a commit ends it once no such failure
//! has come for [`QUIET`]. A disk that is full still takes the odd small write (a page freed,
//! room left in the WAL) while the larger ones fail: one commit alone does not mean it heals.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long writes must have stopped failing before a commit ends an episode.
pub const QUIET: Duration = Duration::from_secs(1);

/// SQLite's primary result codes that say the file cannot be written or read now: BUSY (another
/// process holds the lock past the busy timeout), LOCKED, READONLY, IOERR (every extended code),
/// FULL (the disk, or `max_page_count`), CANTOPEN.
const SQLITE_UNAVAILABLE: [i64; 6] = [5, 6, 8, 10, 13, 14];

/// PostgreSQL's SQLSTATE classes and codes that say the server cannot take the work now:
/// connection exceptions (08), insufficient resources (53: disk full, out of memory, too many
/// connections), the server shutting down or starting (57P01-57P03), a read-only transaction
/// (25006, a standby or `default_transaction_read_only`), and an I/O error (58030).
const POSTGRES_UNAVAILABLE: [&str; 7] = ["08", "53", "57P01", "57P02", "57P03", "25006", "58030"];

/// The one rule: does this error mean the database cannot be written (or reached) now, as
/// opposed to a bug or bad data?
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        // No connection within the bounded wait, the pool shut, the socket cut.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let Some(code) = d.code() else {
                return false;
            };
            if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The extended code's low byte is the primary code.
                code.parse::<i64>()
                    .is_ok_and(|c| SQLITE_UNAVAILABLE.contains(&(c & 0xff)))
            } else {
                POSTGRES_UNAVAILABLE.iter().any(|p| code.starts_with(p))
            }
        }
        _ => false,
    }
}

/// One database's storage episodes.
pub struct Outage {
    /// Set while an episode lasts; read first, so a commit outside one takes no lock.
    down: AtomicBool,
    episode: Mutex<Episode>,
    episodes: AtomicU64,
    /// Operations refused because the store was unavailable.
    errors: AtomicU64,
    /// See [`QUIET`].
    quiet: Duration,
}

#[derive(Default)]
struct Episode {
    /// When the current episode started.
    since: Option<Instant>,
    /// The last failure that meant "unavailable".
    last_failure: Option<Instant>,
}

impl Default for Outage {
    fn default() -> Self {
        Self::new(QUIET)
    }
}

/// What `/metrics` and `/readyz` show of the episodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutageStatus {
    /// An episode is under way: the last write that was tried failed.
    pub unavailable: bool,
    /// Episodes since the process started.
    pub episodes: u64,
    /// Operations refused because the database was unavailable.
    pub errors: u64,
}

impl Outage {
    /// Episodes that end at a commit once `quiet` has passed without an unavailable failure.
    pub fn new(quiet: Duration) -> Self {
        Self {
            down: AtomicBool::new(false),
            episode: Mutex::default(),
            episodes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            quiet,
        }
    }

    /// An operation failed with `e`; an unavailable store starts an episode if none is under
    /// way (logged once, with its cause; later failures are only counted).
    pub fn failed(&self, e: &sqlx::Error) {
        if !is_unavailable(e) {
            return;
        }
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut ep = self.episode.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        ep.last_failure = Some(now);
        if ep.since.is_none() {
            ep.since = Some(now);
            self.down.store(true, Ordering::SeqCst);
            self.episodes.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                error = %e,
                "storage unavailable: the database cannot be written; calls that need it answer 503 and /readyz 503 until it can"
            );
        }
    }

    /// A write committed: the episode under way, if any, is over unless writes failed within
    /// the last [`QUIET`].
    pub fn wrote(&self) {
        if !self.down.load(Ordering::SeqCst) {
            return;
        }
        let mut ep = self.episode.lock().unwrap_or_else(|p| p.into_inner());
        if ep.last_failure.is_some_and(|t| t.elapsed() < self.quiet) {
            return;
        }
        if let Some(t) = ep.since.take() {
            self.down.store(false, Ordering::SeqCst);
            tracing::warn!(
                unavailable_ms = t.elapsed().as_millis() as u64,
                "storage available again: the database accepts writes"
            );
        }
    }

    /// Notes the outcome of a commit: success ends an episode, an unavailable store starts one.
    pub fn commit<T>(&self, r: sqlx::Result<T>) -> sqlx::Result<T> {
        match &r {
            Ok(_) => self.wrote(),
            Err(e) => self.failed(e),
        }
        r
    }

    /// Notes the failure of an operation that is not a commit (a read, taking a connection).
    pub fn check<T>(&self, r: sqlx::Result<T>) -> sqlx::Result<T> {
        if let Err(e) = &r {
            self.failed(e);
        }
        r
    }

    pub fn status(&self) -> OutageStatus {
        OutageStatus {
            unavailable: self.down.load(Ordering::SeqCst),
            episodes: self.episodes.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{secrets::Secrets, Db};
    use std::time::Duration;

    async fn scratch() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = Db::connect(&url, 2, Duration::from_secs(2), Secrets::ephemeral())
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER UNIQUE)")
            .execute(&db)
            .await
            .unwrap();
        (dir, db)
    }

    /// Real SQLite errors: a write to a file opened read-only is "unavailable"; a constraint
    /// violation and a syntax error are not (they are bugs or bad data, and stay 500/4xx).
    #[tokio::test]
    async fn a_read_only_database_is_unavailable_and_a_constraint_is_not() {
        let (dir, db) = scratch().await;
        sqlx::query("INSERT INTO t (x) VALUES (1)")
            .execute(&db)
            .await
            .unwrap();
        let dup = sqlx::query("INSERT INTO t (x) VALUES (1)")
            .execute(&db)
            .await
            .unwrap_err();
        assert!(!is_unavailable(&dup), "{dup}");
        let syntax = sqlx::query("INSERT INTO nowhere VALUES (1)")
            .execute(&db)
            .await
            .unwrap_err();
        assert!(!is_unavailable(&syntax), "{syntax}");
        let ro = format!("sqlite://{}/t.db?mode=ro", dir.path().display());
        let ro = Db::connect(&ro, 1, Duration::from_secs(2), Secrets::ephemeral())
            .await
            .unwrap();
        let e = sqlx::query("INSERT INTO t (x) VALUES (2)")
            .execute(&ro)
            .await
            .unwrap_err();
        assert!(is_unavailable(&e), "{e}");
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
    }

    /// An episode starts at the first unavailable failure, counts the rest, and ends at the
    /// next commit once failures have stopped; other errors and commits outside an episode
    /// change nothing.
    #[test]
    fn an_episode_starts_once_and_ends_at_a_commit_once_failures_stop() {
        let flapping = Outage::new(Duration::from_secs(3600));
        flapping.failed(&sqlx::Error::PoolTimedOut);
        let _ = flapping.commit::<()>(Ok(()));
        assert!(
            flapping.status().unavailable,
            "a commit right after a failure does not end it"
        );
        let o = Outage::new(Duration::ZERO);
        o.wrote();
        o.failed(&sqlx::Error::RowNotFound);
        assert_eq!(o.status(), OutageStatus::default());
        o.failed(&sqlx::Error::PoolTimedOut);
        o.failed(&sqlx::Error::PoolTimedOut);
        assert_eq!(
            o.status(),
            OutageStatus {
                unavailable: true,
                episodes: 1,
                errors: 2
            }
        );
        assert!(o.check::<()>(Ok(())).is_ok());
        assert!(o.status().unavailable, "a read does not end an episode");
        assert!(o.commit::<()>(Ok(())).is_ok());
        assert!(!o.status().unavailable);
        let _ = o.commit::<()>(Err(sqlx::Error::PoolClosed));
        assert_eq!(o.status().episodes, 2);
    }
}
