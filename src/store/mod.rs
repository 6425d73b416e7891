//! Every SQL statement of the server: the pool, migrations, accounts, apps and API keys.

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Executor, Row};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

pub mod bookings;
pub mod deliveries;
pub mod log;
pub mod secrets;
pub mod webhooks;

/// The database, SQLite or PostgreSQL, chosen by the URL at start. Both take the same SQL
/// with `$N` placeholders; the few statements that must differ ask [`Backend::of`].
pub type Db = sqlx::AnyPool;
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
        Self::from_url(db.connect_options().database_url.as_str()).unwrap_or(Self::Sqlite)
    }

    pub fn of_conn(conn: &Conn) -> Self {
        if conn.backend_name() == "PostgreSQL" {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

/// On SQLite every write goes through one connection of its own, opened beside the pool by
/// [`connect`] and found here by the database's URL, behind a lock that writers queue at, in
/// the process, instead of inside SQLite's busy handler (which sleeps 1-100 ms between tries).
/// As the only writer, the connection keeps its page cache across transactions (a pool
/// connection's cache is dropped whenever another connection has written), and it passes from
/// one writer to the next the moment the lock does: a pool connection goes back through a
/// task of its own first. PostgreSQL takes concurrent writers; there, rows a transaction must
/// not see change are locked with `FOR UPDATE` instead.
static SQLITE_WRITERS: std::sync::LazyLock<std::sync::Mutex<HashMap<String, WriterCell>>> =
    std::sync::LazyLock::new(Default::default);

type WriterCell = Arc<tokio::sync::Mutex<Option<Writer>>>;

/// The writer connection, and whether its last holder left a transaction open.
struct Writer {
    conn: Conn,
    open: bool,
}

/// The writer connection of a SQLite database, held: no one else writes meanwhile.
struct WriterGuard(tokio::sync::OwnedMutexGuard<Option<Writer>>);

impl WriterGuard {
    fn writer(&mut self) -> &mut Writer {
        self.0.as_mut().expect("opened when locked")
    }
}

async fn open_writer(db: &Db) -> sqlx::Result<Conn> {
    use sqlx::ConnectOptions;
    let mut conn = db.connect_options().connect().await?;
    prepare_connection(&mut conn, Backend::Sqlite).await?;
    Ok(conn)
}

/// Waits for the writer connection of this SQLite database, opening it if need be, with no
/// transaction open.
async fn lock_writer(db: &Db) -> sqlx::Result<WriterGuard> {
    let url = db.connect_options().database_url.to_string();
    let cell = SQLITE_WRITERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(url)
        .or_default()
        .clone();
    let mut guard = WriterGuard(cell.lock_owned().await);
    if guard.0.is_none() {
        *guard.0 = Some(Writer {
            conn: open_writer(db).await?,
            open: false,
        });
    }
    let w = guard.writer();
    if w.open {
        // A holder that failed between statements left its transaction for us to undo.
        let _ = w.conn.execute("ROLLBACK").await;
        w.open = false;
    }
    Ok(guard)
}

/// The runtime that SQLite's writes are made from: one thread of its own. A task holding the
/// writer there resumes as soon as the database answers; on the server's runtime it waited
/// its turn behind the HTTP requests' tasks at every statement while every other writer
/// waited for it.
static WRITE_RUNTIME: std::sync::LazyLock<tokio::runtime::Handle> =
    std::sync::LazyLock::new(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the database writer");
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("bookhook-writer".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .expect("a thread for the database writer");
        handle
    });

/// Runs `work`, a write of this database, where writes are made best: on SQLite on the
/// writer's own runtime, on PostgreSQL where it is.
pub async fn on_writer<T: Send + 'static>(
    db: &Db,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    match Backend::of(db) {
        Backend::Sqlite => match WRITE_RUNTIME.spawn(work).await {
            Ok(out) => out,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("the database writer's runtime stopped: {e}"),
        },
        Backend::Postgres => work.await,
    }
}

/// Starts `work`, a task that writes this database, where [`on_writer`] runs writes.
pub fn spawn_writer(db: &Db, work: impl std::future::Future<Output = ()> + Send + 'static) {
    match Backend::of(db) {
        Backend::Sqlite => drop(WRITE_RUNTIME.spawn(work)),
        Backend::Postgres => drop(tokio::spawn(work)),
    }
}

/// A write transaction. On SQLite it holds the write lock from its first statement (so a
/// read-then-write inside it never fails on a lock upgrade) and the writer connection.
pub struct WriteTx(TxInner);

enum TxInner {
    Sqlite(Option<WriterGuard>),
    Postgres(Option<sqlx::Transaction<'static, sqlx::Any>>),
}

impl std::ops::Deref for WriteTx {
    type Target = Conn;
    fn deref(&self) -> &Self::Target {
        match &self.0 {
            TxInner::Sqlite(g) => {
                &g.as_ref()
                    .expect("held until the end")
                    .0
                    .as_ref()
                    .expect("open")
                    .conn
            }
            TxInner::Postgres(tx) => tx.as_ref().expect("held until the end"),
        }
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match &mut self.0 {
            TxInner::Sqlite(g) => &mut g.as_mut().expect("held until the end").writer().conn,
            TxInner::Postgres(tx) => tx.as_mut().expect("held until the end"),
        }
    }
}

impl WriteTx {
    pub async fn commit(mut self) -> sqlx::Result<()> {
        self.finish(true).await
    }

    pub async fn rollback(mut self) -> sqlx::Result<()> {
        self.finish(false).await
    }

    /// Runs `batch` and commits, in one hand-off to SQLite's writer (where the statements
    /// are one query ending in `COMMIT`); returns the rows the statements return. On an
    /// error nothing of the transaction is kept.
    pub async fn commit_with(mut self, batch: Batch) -> sqlx::Result<Vec<DbRow>> {
        if !matches!(self.0, TxInner::Sqlite(_)) || batch.values() > MAX_VALUES_PER_QUERY {
            let rows = batch.run_rows(&mut self).await?;
            self.commit().await?;
            return Ok(rows);
        }
        let mut batch = batch;
        batch.stmts.push(("COMMIT".into(), vec![]));
        match batch.run_rows(&mut self).await {
            Ok(rows) => {
                self.done();
                Ok(rows)
            }
            Err(e) => {
                // The statements stopped at the failing one, before COMMIT.
                let _ = self.finish(false).await;
                Err(e)
            }
        }
    }

    async fn finish(&mut self, commit: bool) -> sqlx::Result<()> {
        match &mut self.0 {
            TxInner::Sqlite(g) => {
                let mut guard = g.take().expect("held until the end");
                let w = guard.writer();
                let sql = if commit { "COMMIT" } else { "ROLLBACK" };
                let r = w.conn.execute(sql).await.map(drop);
                // A failed COMMIT leaves the transaction open; the next holder undoes it.
                w.open = r.is_err();
                r
            }
            TxInner::Postgres(tx) => {
                let tx = tx.take().expect("held until the end");
                if commit {
                    tx.commit().await
                } else {
                    tx.rollback().await
                }
            }
        }
    }

    /// The transaction has ended in its last statement.
    fn done(&mut self) {
        if let TxInner::Sqlite(g) = &mut self.0 {
            if let Some(mut guard) = g.take() {
                guard.writer().open = false;
            }
        }
    }
}

impl Drop for WriteTx {
    /// Neither committed nor rolled back (an error or a cancelled call): undone, on SQLite
    /// before the writer passes on (as sqlx does on PostgreSQL).
    fn drop(&mut self) {
        if let TxInner::Sqlite(g) = &mut self.0 {
            if let Some(guard) = g.take() {
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    rt.spawn(async move {
                        let mut guard = guard;
                        let w = guard.writer();
                        if w.conn.execute("ROLLBACK").await.is_ok() {
                            w.open = false;
                        }
                    });
                }
                // Without a runtime the guard is dropped with `open` set: the next holder
                // rolls back.
            }
        }
    }
}

pub async fn begin_write(db: &Db) -> sqlx::Result<WriteTx> {
    match Backend::of(db) {
        Backend::Sqlite => {
            let mut guard = lock_writer(db).await?;
            let w = guard.writer();
            w.open = true;
            if let Err(e) = w.conn.execute("BEGIN IMMEDIATE").await {
                w.open = false;
                return Err(e);
            }
            Ok(WriteTx(TxInner::Sqlite(Some(guard))))
        }
        Backend::Postgres => Ok(WriteTx(TxInner::Postgres(Some(db.begin().await?)))),
    }
}

/// A connection for a write that is one statement (atomic without a transaction): on SQLite
/// the writer, held, which saves the BEGIN and COMMIT hand-offs; on PostgreSQL any of the
/// pool.
pub struct WriteSlot(SlotInner);

enum SlotInner {
    Sqlite(WriterGuard),
    Postgres(sqlx::pool::PoolConnection<sqlx::Any>),
}

impl std::ops::Deref for WriteSlot {
    type Target = Conn;
    fn deref(&self) -> &Self::Target {
        match &self.0 {
            SlotInner::Sqlite(g) => &g.0.as_ref().expect("open").conn,
            SlotInner::Postgres(c) => c,
        }
    }
}

impl std::ops::DerefMut for WriteSlot {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match &mut self.0 {
            SlotInner::Sqlite(g) => &mut g.writer().conn,
            SlotInner::Postgres(c) => c,
        }
    }
}

pub async fn write_slot(db: &Db) -> sqlx::Result<WriteSlot> {
    match Backend::of(db) {
        Backend::Sqlite => Ok(WriteSlot(SlotInner::Sqlite(lock_writer(db).await?))),
        Backend::Postgres => Ok(WriteSlot(SlotInner::Postgres(db.acquire().await?))),
    }
}

/// ` FOR UPDATE` on PostgreSQL (locks the rows read until the transaction ends, so a
/// concurrent instance waits); nothing on SQLite, whose write transaction already excludes
/// every other writer.
pub fn for_update(conn: &Conn) -> &'static str {
    match Backend::of_conn(conn) {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// `$first, $first+1, …`: `n` numbered placeholders for an `IN (…)` list. Both backends take
/// `$N` placeholders (SQLite through sqlx, PostgreSQL natively).
pub fn marks(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A value bound to a statement of a [`Batch`].
#[derive(Clone, Debug)]
pub enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Int(Some(v as i64))
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_string()))
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(Some(v.clone()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(Some(v))
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        Val::Text(v.map(str::to_string))
    }
}
impl From<&Option<String>> for Val {
    fn from(v: &Option<String>) -> Self {
        Val::Text(v.clone())
    }
}

/// The most values bound to one SQLite query: SQLite takes at most 32,766 parameters.
const MAX_VALUES_PER_QUERY: usize = 30_000;

/// Writes that go together, each statement with `?` placeholders. On SQLite they run as one
/// multi-statement query: one hand-off to the connection's thread instead of one per statement
/// (sqlx runs each SQLite connection on its own thread, and under load every hand-off waits for
/// both threads to be scheduled while the single writer lock is held). On PostgreSQL, which
/// takes no parameters in a multi-statement query, they run one after another.
#[derive(Default, Debug)]
pub struct Batch {
    stmts: Vec<(String, Vec<Val>)>,
}

impl Batch {
    pub fn push(&mut self, sql: impl Into<String>, vals: Vec<Val>) {
        let sql = sql.into();
        debug_assert_eq!(sql.matches('?').count(), vals.len(), "{sql}");
        self.stmts.push((sql, vals));
    }

    /// How many values the statements bind.
    pub fn values(&self) -> usize {
        self.stmts.iter().map(|(_, v)| v.len()).sum()
    }

    /// Adds another batch's statements after these.
    pub fn append(&mut self, other: Batch) {
        self.stmts.extend(other.stmts);
    }

    /// Identical single-row `INSERT … VALUES (…)` statements (with or without a `RETURNING`
    /// clause) become one multi-row INSERT in the place of the first, rows in their order:
    /// fewer statements to prepare and run. Only for batches where no row needs a statement
    /// that comes after the first of its kind, such as new bookings, each pushed parent first
    /// (booking, customer, event, log, outbox).
    pub fn merge_inserts(self) -> Batch {
        // (the SQL up to its rows, the rows, what follows them, values)
        type Merged = (String, Vec<String>, String, Vec<Val>);
        let mut stmts: Vec<Result<Merged, (String, Vec<Val>)>> =
            Vec::with_capacity(self.stmts.len());
        let mut first: HashMap<String, usize> = HashMap::new();
        for (sql, vals) in self.stmts {
            let Some((head, row, tail)) = single_row_insert(&sql) else {
                stmts.push(Err((sql, vals)));
                continue;
            };
            if let Some(Ok((_, rows, _, bound))) = first.get(&sql).map(|&i| &mut stmts[i]) {
                if bound.len() + vals.len() <= MAX_VALUES_PER_QUERY {
                    rows.push(row.to_string());
                    bound.extend(vals);
                    continue;
                }
            }
            let merged = (
                head.to_string(),
                vec![row.to_string()],
                tail.to_string(),
                vals,
            );
            first.insert(sql, stmts.len());
            stmts.push(Ok(merged));
        }
        let stmts = stmts
            .into_iter()
            .map(|s| match s {
                Ok((head, rows, tail, vals)) => (format!("{head}{}{tail}", rows.join(", ")), vals),
                Err(plain) => plain,
            })
            .collect();
        Batch { stmts }
    }

    /// Runs the batch as a transaction of its own. On SQLite that is one hand-off to the
    /// writer connection, `BEGIN IMMEDIATE` and `COMMIT` included (rolled back on an error),
    /// instead of three; on PostgreSQL a transaction as usual.
    pub async fn commit_alone(self, db: &Db) -> sqlx::Result<()> {
        let values = self.values();
        if Backend::of(db) != Backend::Sqlite || values > MAX_VALUES_PER_QUERY {
            let mut tx = begin_write(db).await?;
            self.run(&mut tx).await?;
            return tx.commit().await;
        }
        let mut sql = String::from("BEGIN IMMEDIATE;\n");
        let mut vals = Vec::with_capacity(values);
        for (s, v) in self.stmts {
            sql.push_str(&s);
            sql.push_str(";\n");
            vals.extend(v);
        }
        sql.push_str("COMMIT");
        let db = db.clone();
        on_writer(&db.clone(), async move {
            let mut conn = write_slot(&db).await?;
            let mut q = sqlx::query(&sql);
            for v in vals {
                q = Self::bind(q, v);
            }
            match q.execute(&mut *conn).await {
                Ok(_) => Ok(()),
                Err(e) => {
                    // Whatever ran before the failing statement is undone; there may be
                    // nothing to roll back (BEGIN itself failed), which is fine.
                    let _ = conn.execute("ROLLBACK").await;
                    Err(e)
                }
            }
        })
        .await
    }

    fn bind<'q>(
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        v: Val,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match v {
            Val::Int(i) => q.bind(i),
            Val::Text(t) => q.bind(t),
        }
    }

    pub async fn run(self, conn: &mut Conn) -> sqlx::Result<()> {
        self.run_rows(conn).await.map(drop)
    }

    /// Runs the batch and returns the rows its statements return (`RETURNING`), in order.
    pub async fn run_rows(self, conn: &mut Conn) -> sqlx::Result<Vec<DbRow>> {
        let bind = Self::bind;
        let mut out = Vec::new();
        // SQLite takes the `?` marks as they are, numbered in order across the statements of
        // one query; `$N` would make it look each name up in a list, for every parameter.
        let sqlite = Backend::of_conn(conn) == Backend::Sqlite;
        match sqlite {
            true if self.stmts.len() > 1 => {
                let mut chunks: Vec<(Vec<String>, Vec<Val>)> = vec![(vec![], vec![])];
                for (s, v) in self.stmts {
                    let last = chunks.last_mut().expect("one chunk");
                    if !last.0.is_empty() && last.1.len() + v.len() > MAX_VALUES_PER_QUERY {
                        chunks.push((vec![s], v));
                    } else {
                        last.0.push(s);
                        last.1.extend(v);
                    }
                }
                for (sql, vals) in chunks {
                    let sql = sql.join(";\n");
                    let mut q = sqlx::query(&sql);
                    for v in vals {
                        q = bind(q, v);
                    }
                    out.extend(q.fetch_all(&mut *conn).await?);
                }
            }
            _ => {
                for (sql, vals) in self.stmts {
                    let sql = if sqlite { sql } else { number_marks(&sql) };
                    let mut q = sqlx::query(&sql);
                    for v in vals {
                        q = bind(q, v);
                    }
                    out.extend(q.fetch_all(&mut *conn).await?);
                }
            }
        }
        Ok(out)
    }
}

/// A single-row `INSERT … VALUES (…) [RETURNING …]` as (the SQL up to its row, the row, what
/// follows it); `None` for any other statement.
fn single_row_insert(sql: &str) -> Option<(&str, &str, &str)> {
    if !sql.starts_with("INSERT INTO ") {
        return None;
    }
    let at = sql.find(" VALUES (")? + " VALUES ".len();
    let end = match sql.find(") RETURNING ") {
        Some(r) if r > at => r + 1,
        Some(_) => return None,
        None if sql.ends_with(')') => sql.len(),
        None => return None,
    };
    let row = &sql[at..end];
    // One row: its parentheses close only at its end.
    let mut depth = 0;
    for (i, c) in row.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && i + 1 != row.len() {
                    return None;
                }
            }
            _ => {}
        }
    }
    Some((&sql[..at], row, &sql[end..]))
}

/// Numbers the `?` placeholders of a condition built piece by piece: `$1`, `$2`, … in order.
pub fn number_marks(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Opens the database: a SQLite file (created with its folder, in WAL mode) or a PostgreSQL
/// database. `max_connections` bounds the pool (on PostgreSQL, count it against the server's
/// `max_connections` times the number of instances).
pub async fn connect(database_url: &str, max_connections: u32) -> anyhow::Result<Db> {
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
        // A SQLite connection is a file handle in this process and cannot go stale; pinging it
        // before every use was one more thread hand-off per query. A PostgreSQL connection can
        // be cut by the server or the network, so it is still checked.
        .test_before_acquire(backend == Backend::Postgres)
        .after_connect(move |conn, _| {
            Box::pin(async move { prepare_connection(conn, backend).await })
        })
        .connect_with(opts.clone())
        .await
        .context("opening the database")?;
    if backend == Backend::Sqlite {
        let writer = open_writer(&pool)
            .await
            .context("opening the database for writing")?;
        SQLITE_WRITERS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                pool.connect_options().database_url.to_string(),
                Arc::new(tokio::sync::Mutex::new(Some(Writer {
                    conn: writer,
                    open: false,
                }))),
            );
    }
    Ok(pool)
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

pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    match Backend::of(db) {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(db).await,
        Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(db).await,
    }
    .context("applying migrations")
}

// ---------------------------------------------------------------------------------------------
// Users

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub developer_mode: bool,
}

pub async fn count_users(db: &Db) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await
}

pub async fn user_by_id(db: &Db, id: i64) -> sqlx::Result<Option<UserRow>> {
    let row = sqlx::query("SELECT id, email, developer_mode FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| UserRow {
        id: r.get("id"),
        email: r.get("email"),
        developer_mode: r.get::<i64, _>("developer_mode") != 0,
    }))
}

/// The id and password hash of the account with this email, for sign-in.
pub async fn credentials_by_email(db: &Db, email: &str) -> sqlx::Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| (r.get("id"), r.get("password_hash"))))
}

/// On PostgreSQL, makes account creation one at a time (SQLite's write transaction already
/// does), so "create only while none exists" holds across instances.
async fn lock_accounts(tx: &mut WriteTx) -> sqlx::Result<()> {
    if Backend::of_conn(tx) == Backend::Postgres {
        sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub enum FirstAdmin {
    Created { user_id: i64 },
    AlreadySetUp,
}

/// Creates the first admin account and the Demo app, only while no account exists.
/// The check and the insert share one write transaction, so two racing requests cannot both win.
pub async fn create_first_admin(
    db: &Db,
    email: &str,
    password_hash: &str,
) -> sqlx::Result<FirstAdmin> {
    let mut tx = begin_write(db).await?;
    lock_accounts(&mut tx).await?;
    // One statement checks and inserts, so two racing requests cannot both create an account.
    let now = now_ms();
    let user_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) \
         SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user_id) = user_id else {
        return Ok(FirstAdmin::AlreadySetUp);
    };
    sqlx::query(
        "INSERT INTO apps (name, slug, created_at) SELECT 'Demo', 'demo', $1 \
         WHERE NOT EXISTS (SELECT 1 FROM apps)",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(FirstAdmin::Created { user_id })
}

pub async fn set_developer_mode(db: &Db, user_id: i64, on: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET developer_mode = $1 WHERE id = $2")
        .bind(on as i64)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Apps

#[derive(Debug, Clone)]
pub struct AppRow {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub created_at: i64,
}

fn app_row(r: DbRow) -> AppRow {
    AppRow {
        id: r.get("id"),
        name: r.get("name"),
        slug: r.get("slug"),
        created_at: r.get("created_at"),
    }
}

pub async fn list_apps(db: &Db) -> sqlx::Result<Vec<AppRow>> {
    let rows = sqlx::query("SELECT id, name, slug, created_at FROM apps ORDER BY name, id")
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(app_row).collect())
}

pub async fn app_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<AppRow>> {
    let row = sqlx::query("SELECT id, name, slug, created_at FROM apps WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db)
        .await?;
    Ok(row.map(app_row))
}

/// `None` when the slug is taken.
pub async fn create_app(db: &Db, name: &str, slug: &str) -> sqlx::Result<Option<AppRow>> {
    let now = now_ms();
    let res = sqlx::query(
        "INSERT INTO apps (name, slug, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (slug) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(slug)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(res.map(|r| AppRow {
        id: r.get("id"),
        name: name.into(),
        slug: slug.into(),
        created_at: now,
    }))
}

pub async fn rename_app(db: &Db, app_id: i64, name: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE apps SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(app_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes an app and (by cascade) everything it owns.
pub async fn delete_app(db: &Db, app_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM apps WHERE id = $1")
        .bind(app_id)
        .execute(db)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// API keys

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: i64,
    pub mode: String,
    pub label: String,
    pub key_hint: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn list_api_keys(db: &Db, app_id: i64) -> sqlx::Result<Vec<ApiKeyRow>> {
    let rows = sqlx::query(
        "SELECT id, mode, label, key_hint, created_at, last_used_at, revoked_at \
         FROM api_keys WHERE app_id = $1 ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC",
    )
    .bind(app_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ApiKeyRow {
            id: r.get("id"),
            mode: r.get("mode"),
            label: r.get("label"),
            key_hint: r.get("key_hint"),
            created_at: r.get("created_at"),
            last_used_at: r.get("last_used_at"),
            revoked_at: r.get("revoked_at"),
        })
        .collect())
}

pub async fn insert_api_key(
    db: &Db,
    app_id: i64,
    mode: &str,
    label: &str,
    key_hash: &str,
    key_hint: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO api_keys (app_id, mode, label, key_hash, key_hint, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(app_id)
    .bind(mode)
    .bind(label)
    .bind(key_hash)
    .bind(key_hint)
    .bind(now_ms())
    .fetch_one(db)
    .await
}

/// Revokes a key of this app; false when the app has no such active key.
pub async fn revoke_api_key(db: &Db, app_id: i64, key_id: i64) -> sqlx::Result<bool> {
    let res = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND app_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(key_id)
    .bind(app_id)
    .execute(db)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// The app an active API key belongs to, with the key's id and label.
pub async fn app_by_api_key(
    db: &Db,
    key_hash: &str,
) -> sqlx::Result<Option<(AppRow, i64, String)>> {
    let row = sqlx::query(
        "SELECT a.id, a.name, a.slug, a.created_at, k.id AS key_id, k.label, k.last_used_at \
         FROM api_keys k \
         JOIN apps a ON a.id = k.app_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let key_id: i64 = r.get("key_id");
        let label: String = r.get("label");
        let last_used: Option<i64> = r.get("last_used_at");
        // "Last used" is shown to the minute: write it at most once a minute per key, off
        // the request's path, so API calls do not queue behind it.
        let now = now_ms();
        if last_used.is_none_or(|t| now - t > 60_000) {
            let db = db.clone();
            tokio::spawn(async move {
                let _ = sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(key_id)
                    .execute(&db)
                    .await;
            });
        }
        (app_row(r), key_id, label)
    }))
}

/// Encrypts the webhook secrets still stored in clear (written before encryption existed), and
/// refuses to start when the stored ones do not decrypt with this key (a wrong or lost key
/// would otherwise sign every delivery wrongly).
pub async fn seal_webhook_secrets(db: &Db) -> anyhow::Result<()> {
    // The first instance leaves a sealed value; every later one must open it with its key.
    sqlx::query("INSERT INTO key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
        .bind(secrets::seal("bookhook key check"))
        .execute(db)
        .await?;
    let check: String = sqlx::query_scalar("SELECT sealed FROM key_check WHERE id = 1")
        .fetch_one(db)
        .await?;
    if secrets::open(&check).as_deref() != Some("bookhook key check") {
        anyhow::bail!(
            "secret_key: this database's webhook secrets are encrypted with another key \
             (give every instance the same BOOKHOOK_SECRET_KEY, or restore <data_dir>/secret.key)"
        );
    }
    let rows = sqlx::query("SELECT id, secret, previous_secret FROM webhooks")
        .fetch_all(db)
        .await?;
    for r in rows {
        let id: String = r.get("id");
        let secret: String = r.get("secret");
        let previous: Option<String> = r.get("previous_secret");
        for s in std::iter::once(&secret).chain(previous.iter()) {
            if secrets::is_sealed(s) && secrets::open(s).is_none() {
                anyhow::bail!(
                    "secret_key: the webhook secrets were encrypted with another key \
                     (set BOOKHOOK_SECRET_KEY, or restore <data_dir>/secret.key)"
                );
            }
        }
        if !secrets::is_sealed(&secret)
            || previous.as_deref().is_some_and(|p| !secrets::is_sealed(p))
        {
            let seal = |s: &str| {
                if secrets::is_sealed(s) {
                    s.to_string()
                } else {
                    secrets::seal(s)
                }
            };
            sqlx::query("UPDATE webhooks SET secret = $1, previous_secret = $2 WHERE id = $3 AND secret = $4")
                .bind(seal(&secret))
                .bind(previous.as_deref().map(seal))
                .bind(&id)
                .bind(&secret)
                .execute(db)
                .await?;
        }
    }
    Ok(())
}

pub async fn ping(db: &Db) -> sqlx::Result<()> {
    sqlx::query("SELECT 1").execute(db).await.map(|_| ())
}

/// Adds an admin account (the CLI's `create-admin`); `None` when the email is taken.
/// The first account of an installation also gets the Demo app.
pub async fn create_admin(db: &Db, email: &str, password_hash: &str) -> sqlx::Result<Option<i64>> {
    let mut tx = begin_write(db).await?;
    lock_accounts(&mut tx).await?;
    let now = now_ms();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    if id.is_some() {
        sqlx::query(
            "INSERT INTO apps (name, slug, created_at) SELECT 'Demo', 'demo', $1 \
             WHERE NOT EXISTS (SELECT 1 FROM apps)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(b: &Batch) -> Vec<(&str, usize)> {
        b.stmts.iter().map(|(s, v)| (s.as_str(), v.len())).collect()
    }

    #[test]
    fn identical_inserts_merge_into_the_first_in_order_and_other_statements_stay() {
        let mut b = Batch::default();
        for i in 0..3i64 {
            b.push(
                "INSERT INTO a (x, y) VALUES (?, ?)",
                vec![i.into(), "p".into()],
            );
            b.push("INSERT INTO c (z) VALUES (?)", vec![(10 + i).into()]);
            b.push("UPDATE a SET y = ? WHERE x = ?", vec!["q".into(), i.into()]);
        }
        b.push(
            "INSERT INTO a (x, y) VALUES (?, 'fixed')",
            vec![7i64.into()],
        );
        let m = b.merge_inserts();
        assert_eq!(
            texts(&m),
            vec![
                ("INSERT INTO a (x, y) VALUES (?, ?), (?, ?), (?, ?)", 6),
                ("INSERT INTO c (z) VALUES (?), (?), (?)", 3),
                ("UPDATE a SET y = ? WHERE x = ?", 2),
                ("UPDATE a SET y = ? WHERE x = ?", 2),
                ("UPDATE a SET y = ? WHERE x = ?", 2),
                ("INSERT INTO a (x, y) VALUES (?, 'fixed')", 1),
            ]
        );
        let order: Vec<i64> = m.stmts[0]
            .1
            .iter()
            .filter_map(|v| match v {
                Val::Int(i) => *i,
                Val::Text(_) => None,
            })
            .collect();
        assert_eq!(order, vec![0, 1, 2]);
    }

    /// A fresh SQLite database with one table made by `create`.
    async fn scratch(create: &str) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = connect(&url, 2).await.unwrap();
        sqlx::query(create).execute(&db).await.unwrap();
        (dir, db)
    }

    async fn count_t(db: &Db) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(db)
            .await
            .unwrap()
    }

    /// A batch committed on its own is all or nothing, and leaves the writer ready for the next.
    #[tokio::test]
    async fn a_batch_committed_alone_is_undone_whole_when_a_statement_fails() {
        let (_dir, db) = scratch("CREATE TABLE t (x INTEGER UNIQUE)").await;
        let count = || count_t(&db);
        let mut b = Batch::default();
        b.push("INSERT INTO t (x) VALUES (?)", vec![1i64.into()]);
        b.push("INSERT INTO t (x) VALUES (?)", vec![2i64.into()]);
        b.push("INSERT INTO t (x) VALUES (?)", vec![1i64.into()]);
        assert!(b.commit_alone(&db).await.is_err());
        assert_eq!(count().await, 0);
        let mut b = Batch::default();
        b.push("INSERT INTO t (x) VALUES (?)", vec![3i64.into()]);
        b.push("INSERT INTO t (x) VALUES (?)", vec![4i64.into()]);
        b.commit_alone(&db).await.unwrap();
        assert_eq!(count().await, 2);
        // The writer is not left inside a transaction: another writer gets through.
        let mut tx = begin_write(&db).await.unwrap();
        sqlx::query("INSERT INTO t (x) VALUES (5)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count().await, 3);
    }

    #[test]
    fn inserts_returning_rows_merge_and_other_statements_stay_apart() {
        let mut b = Batch::default();
        for i in 0..2i64 {
            b.push(
                "INSERT INTO a (x) VALUES (?) RETURNING id, x",
                vec![i.into()],
            );
            b.push("INSERT INTO a (x) VALUES (?)", vec![i.into()]);
            b.push(
                "INSERT INTO a (x) VALUES (?) ON CONFLICT (x) DO UPDATE SET x = (?)",
                vec![i.into(), i.into()],
            );
        }
        b.push(
            "INSERT INTO a (x) VALUES (?), (?)",
            vec![8i64.into(), 9i64.into()],
        );
        assert_eq!(
            texts(&b.merge_inserts()),
            vec![
                ("INSERT INTO a (x) VALUES (?), (?) RETURNING id, x", 2),
                ("INSERT INTO a (x) VALUES (?), (?)", 2),
                (
                    "INSERT INTO a (x) VALUES (?) ON CONFLICT (x) DO UPDATE SET x = (?)",
                    2
                ),
                (
                    "INSERT INTO a (x) VALUES (?) ON CONFLICT (x) DO UPDATE SET x = (?)",
                    2
                ),
                ("INSERT INTO a (x) VALUES (?), (?)", 2),
            ]
        );
    }

    /// The rows of a batch's RETURNING statements come back, whatever runs around them.
    #[tokio::test]
    async fn a_batch_returns_the_rows_its_inserts_return() {
        let (_dir, db) = scratch("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT UNIQUE)").await;
        let mut b = Batch::default();
        b.push("INSERT INTO t (x) VALUES (?)", vec!["a".into()]);
        b.push(
            "INSERT INTO t (x) VALUES (?) RETURNING id, x",
            vec!["b".into()],
        );
        b.push(
            "INSERT INTO t (x) VALUES (?) RETURNING id, x",
            vec!["c".into()],
        );
        b.push("UPDATE t SET x = x WHERE id = ?", vec![1i64.into()]);
        let mut tx = begin_write(&db).await.unwrap();
        let rows = b.merge_inserts().run_rows(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        let mut got: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        got.sort();
        assert_eq!(got, vec![(2, "b".to_string()), (3, "c".to_string())]);
    }

    /// A transaction dropped unfinished (an error, a cancelled call) is undone, and one whose
    /// final batch fails keeps nothing; the writer passes on ready either way.
    #[tokio::test]
    async fn an_unfinished_or_failed_transaction_keeps_nothing() {
        let (_dir, db) = scratch("CREATE TABLE t (x INTEGER UNIQUE)").await;
        let count = || count_t(&db);
        let mut tx = begin_write(&db).await.unwrap();
        sqlx::query("INSERT INTO t (x) VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx);
        let mut tx = begin_write(&db).await.unwrap();
        sqlx::query("INSERT INTO t (x) VALUES (2)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let mut b = Batch::default();
        b.push("INSERT INTO t (x) VALUES (?)", vec![3i64.into()]);
        b.push("INSERT INTO t (x) VALUES (?)", vec![2i64.into()]);
        assert!(tx.commit_with(b).await.is_err());
        assert_eq!(count().await, 0);
        let tx = begin_write(&db).await.unwrap();
        let mut b = Batch::default();
        b.push(
            "INSERT INTO t (x) VALUES (?) RETURNING x",
            vec![4i64.into()],
        );
        let rows = tx.commit_with(b).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(count().await, 1);
    }

    #[test]
    fn a_merged_insert_stays_under_the_parameter_limit() {
        let mut b = Batch::default();
        for i in 0..20_000i64 {
            b.push(
                "INSERT INTO a (x, y) VALUES (?, ?)",
                vec![i.into(), i.into()],
            );
        }
        let m = b.merge_inserts();
        assert_eq!(m.stmts.len(), 2);
        assert!(m.stmts.iter().all(|(_, v)| v.len() <= 30_000));
        assert_eq!(m.stmts.iter().map(|(_, v)| v.len()).sum::<usize>(), 40_000);
    }
}
