//! Panel sessions live in the same database as everything else, so a browser stays signed in
//! whichever instance answers it. tower-sessions' stores are per backend; this picks one.

use crate::store::Backend;
use anyhow::Context;
use async_trait::async_trait;
use std::str::FromStr;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Clone, Debug)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    /// Opens the session store of this database (a small pool of its own) and creates its
    /// table when missing.
    pub async fn open(database_url: &str) -> anyhow::Result<Self> {
        let store = match Backend::from_url(database_url) {
            Some(Backend::Postgres) => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .connect(database_url)
                    .await
                    .context("opening the session store")?;
                Self::Postgres(PostgresStore::new(pool))
            }
            _ => {
                let opts = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
                    .context("database_url: not a valid sqlite:// URL")?
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(std::time::Duration::from_secs(10));
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(opts)
                    .await
                    .context("opening the session store")?;
                Self::Sqlite(SqliteStore::new(pool))
            }
        };
        // Instances started together may race to create the table; the loser tries again.
        let mut tries = 0;
        loop {
            let res = match &store {
                Self::Sqlite(s) => s.migrate().await,
                Self::Postgres(s) => s.migrate().await,
            };
            match res {
                Ok(()) => break,
                Err(_) if tries < 3 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e).context("creating the session table"),
            }
        }
        Ok(store)
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete_expired().await,
            Self::Postgres(s) => s.delete_expired().await,
        }
    }
}
