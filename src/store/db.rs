//! The database value: opening it (pool, backend, SQLite's writer and its thread), migrating it,
//! and reading through it.
//!
//! A [`Db`] is built once at start-up and passed down; nothing of it lives in a process-wide
//! static, so two servers in one process share nothing but what they are given. Reads go
//! through `&Db` as any sqlx executor does; writes go through `store::write` (see there).

use super::outage::Outage;
use super::secrets::Secrets;
use anyhow::Context;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, TryStreamExt};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub type Conn = sqlx::AnyConnection;
pub type DbRow = sqlx::any::AnyRow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Which backend a database URL names; `None` for anything else.
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn of(db: &Db) -> Self {
        db.backend()
    }

    pub fn of_conn(conn: &Conn) -> Self {
        if conn.backend_name() == "PostgreSQL" {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// The database, SQLite or PostgreSQL, chosen by the URL at start. Both take the same SQL with
/// `$N` placeholders; the few statements that must differ ask [`Db::backend`]. Cloning it
/// shares the same pool and writer.
#[derive(Clone)]
pub struct Db(Arc<Inner>);

struct Inner {
    pool: AnyPool,
    backend: Backend,
    /// Seals and opens the webhook secrets stored in this database.
    secrets: Secrets,
    /// SQLite only: the one connection every write goes through.
    writer: Option<SqliteWriter>,
    /// Whether it can be written now, as its failures and commits tell.
    outage: Arc<Outage>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.0.backend)
            .finish_non_exhaustive()
    }
}

/// On SQLite every write goes through one connection of its own, opened beside the pool, behind
/// a lock that writers queue at, in the process, instead of inside SQLite's busy handler (which
/// sleeps 1-100 ms between tries). As the only writer, the connection keeps its page cache
/// across transactions (a pool connection's cache is dropped whenever another connection has
/// written), and it passes from one writer to the next the moment the lock does.
///
/// Writes run on a runtime with one thread of its own: a task holding the writer there resumes
/// as soon as the database answers; on the server's runtime it waited its turn behind the HTTP
/// requests' tasks at every statement while every other writer waited for it.
pub(super) struct SqliteWriter {
    pub(super) cell: WriterCell,
    pub(super) runtime: tokio::runtime::Handle,
    /// Ends the writer's thread when the last clone of the `Db` is dropped.
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub(super) type WriterCell = Arc<tokio::sync::Mutex<Option<Writer>>>;

/// The writer connection, and whether its last holder left a transaction open.
pub(super) struct Writer {
    pub(super) conn: Conn,
    pub(super) open: bool,
}

impl SqliteWriter {
    fn start(conn: Conn) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("a runtime for the database writer")?;
        let runtime = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("bookhook-writer".into())
            .spawn(move || {
                // Runs until the `Db` is gone (the sender is dropped), then drops the runtime
                // with whatever it still holds.
                let _ = rt.block_on(stopped);
            })
            .context("a thread for the database writer")?;
        Ok(Self {
            cell: Arc::new(tokio::sync::Mutex::new(Some(Writer { conn, open: false }))),
            runtime,
            _stop: stop,
        })
    }
}

impl Db {
    /// Opens the database: a SQLite file (created with its folder, in WAL mode) or a PostgreSQL
    /// database, its webhook secrets sealed with `secrets`. `max_connections` bounds the pool (on PostgreSQL, count it against the
    /// server's `max_connections` times the number of instances). A call waits at most `wait`
    /// for a connection (PostgreSQL restarting, refusing or unreachable), then fails as
    /// unavailable (see [`super::outage`]).
    pub async fn connect(
        database_url: &str,
        max_connections: u32,
        wait: Duration,
        secrets: Secrets,
    ) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(database_url)
            .context("database_url: not a sqlite:// or postgres:// URL")?;
        let mut url = database_url.to_string();
        if backend == Backend::Sqlite {
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
                .with_context(|| "database_url: not a valid sqlite:// URL")?;
            if let Some(path) = opts.get_filename().parent() {
                if !path.as_os_str().is_empty() {
                    std::fs::create_dir_all(path)
                        .with_context(|| format!("creating the data folder {}", path.display()))?;
                }
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        let opts = AnyConnectOptions::from_str(&url).context("database_url: not a valid URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(wait)
            // A SQLite connection is a file handle in this process and cannot go stale; pinging
            // it before every use was one more thread hand-off per query. A PostgreSQL
            // connection can be cut by the server or the network, so it is still checked.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _| {
                Box::pin(async move { prepare_connection(conn, backend).await })
            })
            .connect_with(opts.clone())
            .await
            .context("opening the database")?;
        let writer = match backend {
            Backend::Sqlite => {
                let conn = open_sqlite_writer(&pool)
                    .await
                    .context("opening the database for writing")?;
                Some(SqliteWriter::start(conn)?)
            }
            Backend::Postgres => None,
        };
        Ok(Db(Arc::new(Inner {
            pool,
            backend,
            secrets,
            writer,
            outage: Arc::default(),
        })))
    }

    /// Opens the database and applies pending migrations.
    pub async fn open(
        database_url: &str,
        max_connections: u32,
        wait: Duration,
        secrets: Secrets,
    ) -> anyhow::Result<Db> {
        let db = Self::connect(database_url, max_connections, wait, secrets).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self.backend() {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(self.pool()).await,
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(self.pool())
                    .await
            }
        }
        .context("applying migrations")
    }

    pub fn backend(&self) -> Backend {
        self.0.backend
    }

    /// The pool, for reads (and the writes `store::write` lists).
    pub fn pool(&self) -> &AnyPool {
        &self.0.pool
    }

    /// The cipher of the webhook secrets stored here.
    pub fn secrets(&self) -> &Secrets {
        &self.0.secrets
    }

    /// A connection of the pool, for several reads in a row.
    pub async fn acquire(&self) -> sqlx::Result<sqlx::pool::PoolConnection<Any>> {
        self.outage().check(self.0.pool.acquire().await)
    }

    /// Whether it can be written now (see [`super::outage`]).
    pub fn outage(&self) -> &Outage {
        &self.0.outage
    }

    pub(super) fn sqlite_writer(&self) -> Option<&SqliteWriter> {
        self.0.writer.as_ref()
    }

    /// Closes the pool; the writer closes when the last clone is dropped.
    pub async fn close(&self) {
        self.0.pool.close().await;
    }
}

/// Opens the writer connection of a SQLite database, prepared as the pool's are.
pub(super) async fn open_sqlite_writer(pool: &AnyPool) -> sqlx::Result<Conn> {
    use sqlx::ConnectOptions;
    let mut conn = pool.connect_options().connect().await?;
    prepare_connection(&mut conn, Backend::Sqlite).await?;
    Ok(conn)
}

async fn prepare_connection(conn: &mut Conn, backend: Backend) -> sqlx::Result<()> {
    if backend == Backend::Sqlite {
        // In WAL mode NORMAL keeps every committed transaction through a crash of the
        // process (kill -9): the commit is in the WAL file before the call returns. Only a
        // power cut can lose the last commits; FULL would fsync each commit to cover that
        // too, at ~10x the cost per transition. A 32 MiB page cache (SQLite's default is
        // 2 MiB) keeps the indexes every booking and delivery writes in memory.
        conn.execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
             PRAGMA cache_size = -32768;",
        )
        .await?;
    }
    Ok(())
}

/// `&Db` reads like the pool it holds (each call takes a pool connection, as the pool's own
/// executor does).
impl<'p> Executor<'p> for &'_ Db {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<sqlx::Either<sqlx::any::AnyQueryResult, DbRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + sqlx::Execute<'q, Any>,
    {
        let outage = self.0.outage.clone();
        Box::pin(
            self.pool()
                .fetch_many(query)
                .inspect_err(move |e| outage.failed(e)),
        )
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<DbRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + sqlx::Execute<'q, Any>,
    {
        let outage = self.0.outage.clone();
        self.pool()
            .fetch_optional(query)
            .map(move |r| outage.check(r))
            .boxed()
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::any::AnyTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::any::AnyStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        self.pool().prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<sqlx::Describe<Any>, sqlx::Error>>
    where
        'p: 'e,
    {
        self.pool().describe(sql)
    }
}

/// The store's clock: milliseconds since the Unix epoch, as every table keeps its times.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub async fn ping(db: &Db) -> sqlx::Result<()> {
    sqlx::query("SELECT 1").execute(db).await.map(|_| ())
}

/// A real write, committed: the one row of `storage_probe` stamped with `now`. It fails when
/// the database cannot be written (a full disk, a read-only file system, a server that is down
/// or refusing connections), and its success ends an episode of unavailability.
pub async fn probe_write(db: &Db, now: i64) -> sqlx::Result<()> {
    let mut b = super::Batch::default();
    b.push(
        "INSERT INTO storage_probe (id, checked_at) VALUES (1, ?) \
         ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
        vec![now.into()],
    );
    b.commit_alone(db).await
}
