//! Writing: the one entrance every write goes through, which decides where it runs (SQLite's
//! writer and its thread, or any PostgreSQL connection) and how it is batched.
//!
//! - [`begin_write`]: a transaction (on SQLite it holds the writer from its first statement).
//! - [`write_slot`]: one statement that is atomic alone, without BEGIN and COMMIT.
//! - [`Batch`]: statements gathered first and run together, on SQLite as one query;
//!   [`Batch::commit_alone`] runs one as a transaction of its own in a single hand-off.
//! - [`on_writer`] / [`spawn_writer`]: hot write paths (group commits, recorded rounds, claims)
//!   run where writes run best: on SQLite the writer's own thread.
//!
//! Writes that do not come through here, and why:
//! - the panel's sessions: `tower-sessions`' own store writes them through a pool of its own
//!   (see `crate::sessions`);
//! - `sqlx::migrate!` at start-up, before anything else runs (`db::Db::migrate`);
//! - a key's "last used" stamp (`accounts::app_by_api_key`): written at most once a minute per
//!   key, from a task of its own on a pool connection, so that API calls never queue behind it
//!   at the writer;
//! - `pg_notify` to the other instances (`notify::notify_all`): not a write to any table, on the
//!   listener's own PostgreSQL pool.

use super::db::{Backend, Conn, Db, DbRow, Writer};
use sqlx::Executor;
use std::collections::HashMap;

struct WriterGuard(tokio::sync::OwnedMutexGuard<Option<Writer>>);

impl WriterGuard {
    fn writer(&mut self) -> &mut Writer {
        self.0.as_mut().expect("opened when locked")
    }
}

/// Waits for the writer connection of this SQLite database, reopening it if a holder lost it,
/// with no transaction open.
async fn lock_writer(db: &Db) -> sqlx::Result<WriterGuard> {
    let cell = db
        .sqlite_writer()
        .expect("a SQLite database has a writer")
        .cell
        .clone();
    let mut guard = WriterGuard(cell.lock_owned().await);
    if guard.0.is_none() {
        *guard.0 = Some(Writer {
            conn: db
                .outage()
                .check(super::db::open_sqlite_writer(db.pool()).await)?,
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

fn writer_runtime(db: &Db) -> &tokio::runtime::Handle {
    &db.sqlite_writer()
        .expect("a SQLite database has a writer")
        .runtime
}

/// Runs `work`, a write of this database, where writes are made best: on SQLite on the
/// writer's own runtime, on PostgreSQL where it is.
pub async fn on_writer<T: Send + 'static>(
    db: &Db,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    match Backend::of(db) {
        Backend::Sqlite => match writer_runtime(db).spawn(work).await {
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
        Backend::Sqlite => drop(writer_runtime(db).spawn(work)),
        Backend::Postgres => drop(tokio::spawn(work)),
    }
}

/// A write transaction. On SQLite it holds the write lock from its first statement (so a
/// read-then-write inside it never fails on a lock upgrade) and the writer connection.
pub struct WriteTx(TxInner, Db);

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
            let rows = match batch.run_rows(&mut self).await {
                Ok(rows) => rows,
                Err(e) => return self.1.clone().outage().commit(Err(e)),
            };
            self.commit().await?;
            return Ok(rows);
        }
        let mut batch = batch;
        batch.stmts.push(("COMMIT".into(), vec![]));
        let db = self.1.clone();
        db.outage().commit(match batch.run_rows(&mut self).await {
            Ok(rows) => {
                self.done();
                Ok(rows)
            }
            Err(e) => {
                // The statements stopped at the failing one, before COMMIT.
                let _ = self.finish(false).await;
                Err(e)
            }
        })
    }

    async fn finish(&mut self, commit: bool) -> sqlx::Result<()> {
        let r = self.end(commit).await;
        if commit {
            self.1.outage().commit(r)
        } else {
            r
        }
    }

    async fn end(&mut self, commit: bool) -> sqlx::Result<()> {
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
                return db.outage().check(Err(e));
            }
            Ok(WriteTx(TxInner::Sqlite(Some(guard)), db.clone()))
        }
        Backend::Postgres => Ok(WriteTx(
            TxInner::Postgres(Some(db.outage().check(db.pool().begin().await)?)),
            db.clone(),
        )),
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
            if let Err(e) = self.run(&mut tx).await {
                return db.outage().commit(Err(e));
            }
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
        let noted = db.clone();
        let db = db.clone();
        let r = on_writer(&db.clone(), async move {
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
        .await;
        noted.outage().commit(r)
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

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

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
        let db = Db::connect(
            &url,
            2,
            std::time::Duration::from_secs(2),
            crate::store::secrets::Secrets::ephemeral(),
        )
        .await
        .unwrap();
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
